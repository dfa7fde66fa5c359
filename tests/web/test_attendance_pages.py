"""Arrivals from the pages: staff mark a booking arrived, a person checks in at the kiosk, the
place sets when bookings nobody checked in are released, and the people page counts no-shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time

import httpx
import pytest

from booking.schemas import BookingCreate, ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from tests.support.apps import leased_app, runtime_on
from tests.support.booking import MutableClock
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, log_in, submit, text, unlabelled_controls
from tests.web.seed import PARIS, Town

API = {"accept": "application/json"}


@pytest.fixture
def clock() -> MutableClock:
    """Monday 1 March 2027, 09:00 in Paris, moved by the tests."""
    return MutableClock(FIXED_NOW)


@pytest.fixture
async def desk(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client on an app whose clock the test moves."""
    async with (
        leased_app(settings, database, clock) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://127.0.0.1",
            headers={"accept": "text/html,application/xhtml+xml", "accept-language": "fr-FR,fr"},
        ) as http,
    ):
        yield http


async def _booking_at_eleven(database: Database, town: Town) -> tuple[int, str]:
    """The citizen books the 3D printer today, 11:00-12:00."""
    async with (
        runtime_on(database, lambda: FIXED_NOW) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        booking = await runtime.booking.bookings(session).create(
            Actor(user_id=town.citizen_id, via="session"),
            BookingCreate(
                items=[ItemRequest(resource_id=town.printer_id)],
                starts_at=datetime.combine(FIXED_NOW.date(), time(11), PARIS),
                ends_at=datetime.combine(FIXED_NOW.date(), time(12), PARIS),
            ),
        )
    return booking.id, booking.reference


async def test_the_kiosk_and_the_desk_check_people_in(
    desk: httpx.AsyncClient, town: Town, database: Database, clock: MutableClock
) -> None:
    booking_id, reference = await _booking_at_eleven(database, town)
    kiosk = f"/kiosk/places/{town.place_id}"
    form = await desk.get(kiosk)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    assert "Pointer son arrivée" in text(form.text) and "Fablab du Trégor" in text(form.text)
    early = await submit(desk, kiosk, kiosk, {"reference": reference, "email": town.citizen_email})
    assert early.status_code == 409
    assert "Le pointage ouvre 30 minutes avant le début" in text(early.text)
    clock.advance(hours=1, minutes=45)  # 10:45
    wrong = await submit(desk, kiosk, kiosk, {"reference": reference, "email": "x@example.fr"})
    assert wrong.status_code == 404
    assert "Aucune réservation de ce lieu n'a cette référence" in text(wrong.text)
    assert by_id(wrong.text, "reference")["value"] == reference
    empty = await submit(desk, kiosk, kiosk, {"reference": "", "email": ""})
    assert empty.status_code == 422
    done = await submit(
        desk, kiosk, kiosk, {"reference": reference.lower(), "email": town.citizen_email.upper()}
    )
    assert done.status_code == 200, text(done.text)[:300]
    assert "Bienvenue ! Votre arrivée est enregistrée." in text(done.text)
    assert by_id(done.text, "reference")["value"] == ""  # ready for the next person

    await log_in(desk, town.manager_email)
    page = await desk.get(f"/manage/bookings/{booking_id}")
    assert "Arrivée pointée à 10:45" in text(page.text)
    assert "Pointer l'arrivée" not in text(page.text)


async def test_staff_mark_an_arrival_and_the_people_page_counts_no_shows(
    desk: httpx.AsyncClient, town: Town, database: Database, clock: MutableClock
) -> None:
    booking_id, _ = await _booking_at_eleven(database, town)
    await log_in(desk, town.manager_email)
    url = f"/manage/bookings/{booking_id}"
    page = await desk.get(url)
    assert "Pointer l'arrivée" in text(page.text)
    marked = await desk.post(f"{url}/check-in", data={"_csrf_token": csrf(page.text)})
    assert marked.status_code == 303
    after = await desk.get(marked.headers["location"])
    assert "L'arrivée est pointée." in text(after.text)
    assert "Arrivée pointée à 09:00" in text(after.text)

    # The town's other booking (Wednesday) is too far off to be checked in.
    early = await desk.post(
        f"/manage/bookings/{town.booking_id}/check-in", data={"_csrf_token": csrf(page.text)}
    )
    shown = await desk.get(early.headers["location"])
    assert "Cette réservation ne peut pas être pointée maintenant" in text(shown.text)

    details = f"/manage/places/{town.place_id}/details"
    form = await desk.get(details)
    fields = {
        e: by_id(form.text, e).get("value", "")
        for e in ("name", "address", "postcode", "town", "phone", "email", "website")
    }
    bad = await submit(desk, details, details, {**fields, "no_show_release_minutes": "2"})
    assert bad.status_code == 422
    assert "Saisissez un nombre de minutes de 5 à 1440, ou laissez vide." in text(bad.text)
    saved = await submit(desk, details, details, {**fields, "no_show_release_minutes": "20"})
    assert saved.status_code == 303, text(saved.text)[:400]
    assert by_id((await desk.get(details)).text, "no_show_release_minutes")["value"] == "20"

    # Wednesday 10:20: the town's booking was not checked in; the job releases it.
    clock.now = datetime(2027, 3, 3, 10, 20, tzinfo=PARIS)
    async with (
        runtime_on(database, clock) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        released = await runtime.booking.attendance(session).release_no_shows()
    assert released == 1
    await log_in(desk, town.manager_email)  # two days later: a new session
    people = await desk.get(f"/manage/places/{town.place_id}/people")
    assert people.status_code == 200 and unlabelled_controls(people.text) == []
    assert "Absences par personne" in people.text
    row = text(people.text).split("Absences par personne")[1]
    assert town.citizen_email in row and row.split(town.citizen_email)[1].strip().startswith("1")
    booking = await desk.get(f"/manage/bookings/{town.booking_id}")
    assert "Absent (non pointé)" in text(booking.text)
