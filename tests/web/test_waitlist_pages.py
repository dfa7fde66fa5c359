"""The waitlist through the pages: the booking page offers to wait for a full time, my bookings
list my waitlists (leave one there), the back office shows what needs its managers."""

from __future__ import annotations

import re
from datetime import datetime, time

import httpx

from booking.schemas import BookingCreate, ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from tests.support.accounts import make_user
from tests.support.apps import runtime_on
from tests.support.booking import set_resource
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import another_browser, csrf, log_in, text
from tests.web.seed import PARIS, Town


async def _fill_printer(database: Database, town: Town) -> None:
    """Someone else books the printer from 14:00 to 15:00 on the booking day."""
    bob = await make_user(database, "bob@example.fr")
    async with (
        runtime_on(database, lambda: FIXED_NOW) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        await runtime.booking.bookings(session).create(
            Actor(user_id=bob.user_id, via="session"),
            BookingCreate(
                items=[ItemRequest(resource_id=town.printer_id)],
                starts_at=datetime.combine(town.booking_day, time(14), PARIS),
                ends_at=datetime.combine(town.booking_day, time(15), PARIS),
            ),
        )


def _review(town: Town, start: str, end: str) -> str:
    day = town.booking_day.isoformat()
    return f"/resources/{town.printer_id}/book?day={day}&start={start}&end={end}&quantity=1"


async def test_a_full_time_offers_its_waitlist_which_my_bookings_list(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await _fill_printer(database, town)
    await log_in(web, town.citizen_email)
    free = await web.get(_review(town, "16:00", "17:00"))
    assert free.status_code == 200
    assert "/waitlist" not in free.text
    full = await web.get(_review(town, "14:00", "15:00"))
    assert full.status_code == 200
    assert "Cet horaire est complet" in text(full.text)
    action = f"/resources/{town.printer_id}/waitlist"
    assert f'action="{action}"' in full.text
    joined = await web.post(
        action,
        data={
            "day": town.booking_day.isoformat(),
            "start": "14:00",
            "end": "15:00",
            "quantity": "1",
            "_csrf_token": csrf(full.text),
        },
    )
    assert joined.status_code == 303, text(joined.text)[:300]
    assert joined.headers["location"] == "/account/bookings?notice=waitlist_joined"

    listing = await web.get(joined.headers["location"])
    page = text(listing.text)
    assert "Mes listes d'attente" in page
    assert "14:00-15:00" in page and "En attente, numéro 1 dans la file" in page

    async with another_browser(web) as manager:
        await log_in(manager, town.manager_email)
        home_page = await manager.get("/manage")
        home = text(home_page.text)
        assert "Ce qui vous attend" in home
        assert "en attente, numéro 1" in home
        assert "Aucune réservation n'attend votre accord." in home
        day = town.booking_day.isoformat()
        agenda = await manager.get(f"/manage/places/{town.place_id}/agenda?from={day}")
        assert "en attente, numéro 1" in text(agenda.text)

    [leave] = [
        part.split('"')[0]
        for part in listing.text.split('action="')[1:]
        if part.startswith("/account/waitlist/")
    ]
    left = await web.post(leave, data={"_csrf_token": csrf(listing.text)})
    assert left.status_code == 303
    assert left.headers["location"] == "/account/bookings?notice=waitlist_left"
    assert "Mes listes d'attente" not in text((await web.get("/account/bookings")).text)


async def test_the_back_office_home_approves_a_request_at_a_glance(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await set_resource(database, town.printer_id, requires_approval=True)
    async with (
        runtime_on(database, lambda: FIXED_NOW) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        request = await runtime.booking.bookings(session).create(
            Actor(user_id=town.citizen_id, via="session"),
            BookingCreate(
                items=[ItemRequest(resource_id=town.printer_id)],
                starts_at=datetime.combine(town.booking_day, time(16), PARIS),
                ends_at=datetime.combine(town.booking_day, time(17), PARIS),
            ),
        )
    assert request.status == "pending_approval"
    await log_in(web, town.manager_email)
    home = await web.get("/manage")
    action = f"/manage/bookings/{request.id}/approve"
    assert f'action="{action}"' in home.text
    assert "Réservations en attente de votre accord" in text(home.text)
    once = re.search(r'name="_once" value="([0-9a-f]+)"', home.text)
    assert once is not None
    approved = await web.post(
        action, data={"_csrf_token": csrf(home.text), "_once": once.group(1), "reason": ""}
    )
    assert approved.status_code == 303, text(approved.text)[:300]
    after = text((await web.get("/manage")).text)
    assert "Aucune réservation n'attend votre accord." in after
