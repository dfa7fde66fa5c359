"""Check-in and no-shows: staff mark arrivals, people check in at the kiosk with their
reference and e-mail, and the job releases bookings nobody checked in (idempotent, counted).

The fablab is open 08:00-20:00 every day; now is Monday 1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.support.accounts import Person, make_user
from tests.support.apps import runtime_on
from tests.support.booking import Fablab, MutableClock, book, make_fablab, paris

Client = httpx.AsyncClient


async def _booked(
    api: Client, person: Person, resource: int, start: datetime, end: datetime
) -> dict[str, Any]:
    response = await book(api, person, resource, start, end)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _release(database: Database, clock: MutableClock) -> int:
    """One run of the job bookings.release_no_shows, as a worker runs it."""
    async with (
        runtime_on(database, clock) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        return await runtime.booking.attendance(session).release_no_shows()


async def _status(api: Client, manager: Person, booking_id: int) -> str:
    response = await api.get(f"/api/bookings/{booking_id}", headers=manager.headers)
    status: str = response.json()["status"]
    return status


async def _kiosk(api: Client, place_id: int, reference: str, email: str) -> httpx.Response:
    token = (await api.get("/api/auth/csrf")).json()["csrf_token"]
    return await api.post(
        f"/api/places/{place_id}/kiosk/check-in",
        json={"reference": reference, "email": email},
        headers={"x-csrf-token": token},
    )


async def test_staff_mark_an_arrival_once_and_only_at_their_place(
    api: Client,
    lab: Fablab,
    database: Database,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    ana = await make_user(database, "ana@example.fr")
    manager = await make_user(database, "manager@fablab.test", manages=(lab.place_id,))
    other = await make_fablab(api, admin_headers, slug="fablab-perros", town="Perros-Guirec")
    stranger = await make_user(database, "other@fablab.test", manages=(other.place_id,))
    booking = await _booked(api, ana, lab.printer, paris(2027, 3, 1, 10), paris(2027, 3, 1, 11))
    url = f"/api/bookings/{booking['id']}/check-in"
    assert (await api.post(url, headers=ana.headers)).status_code == 403
    assert (await api.post(url, headers=stranger.headers)).status_code in (403, 404)
    first = await api.post(url, headers=manager.headers)
    assert first.status_code == 200, first.text
    assert first.json()["checked_in_at"] == "2027-03-01T08:00:00Z"
    clock.advance(minutes=5)
    again = await api.post(url, headers=manager.headers)
    assert again.json()["checked_in_at"] == "2027-03-01T08:00:00Z"  # unchanged

    later = await _booked(api, ana, lab.printer, paris(2027, 3, 1, 15), paris(2027, 3, 1, 16))
    early = await api.post(f"/api/bookings/{later['id']}/check-in", headers=manager.headers)
    assert early.status_code == 409 and early.json()["code"] == "check_in_not_open"
    gone = await api.post(f"/api/bookings/{later['id']}/cancel", json={}, headers=manager.headers)
    assert gone.status_code == 200, gone.text
    clock.advance(hours=6)
    cancelled = await api.post(f"/api/bookings/{later['id']}/check-in", headers=manager.headers)
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "booking_not_confirmed"


async def test_the_kiosk_checks_in_with_the_reference_and_the_bookers_email(
    api: Client, lab: Fablab, database: Database, clock: MutableClock, admin_headers: dict[str, str]
) -> None:
    ana = await make_user(database, "ana@example.fr")
    manager = await make_user(database, "manager@fablab.test", manages=(lab.place_id,))
    other = await make_fablab(api, admin_headers, slug="fablab-perros", town="Perros-Guirec")
    booking = await _booked(api, ana, lab.printer, paris(2027, 3, 1, 10), paris(2027, 3, 1, 11))
    reference = booking["reference"]
    assert (await _kiosk(api, lab.place_id, reference, "ana@example.fr")).json()["code"] == (
        "check_in_not_open"  # 09:00: the kiosk opens 30 minutes before the start
    )
    clock.advance(minutes=40)
    for wrong in (
        (lab.place_id, reference, "bob@example.fr"),
        (lab.place_id, "MLB-NOPE00", "ana@example.fr"),
        (other.place_id, reference, "ana@example.fr"),
    ):
        refused = await _kiosk(api, *wrong)
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "booking_not_found"
    bad = await _kiosk(api, lab.place_id, reference, "not an address")
    assert bad.status_code == 422 and "email" in bad.text
    done = await _kiosk(api, lab.place_id, reference.lower(), "Ana@Example.fr")
    assert done.status_code == 200, done.text
    assert done.json()["checked_in_at"] == "2027-03-01T08:40:00Z"
    assert set(done.json()) == {
        "reference",
        "local_starts_at",
        "local_ends_at",
        "resources",
        "checked_in_at",
    }
    read = await api.get(f"/api/bookings/{booking['id']}", headers=manager.headers)
    assert read.json()["checked_in_at"] == "2027-03-01T08:40:00Z"


async def test_the_job_releases_bookings_nobody_checked_in_once_and_counts_them(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    manager = await make_user(database, "manager@fablab.test", manages=(lab.place_id,))
    absent = await _booked(api, ana, lab.printer, paris(2027, 3, 1, 10), paris(2027, 3, 1, 12))
    present = await _booked(api, bob, lab.laser, paris(2027, 3, 1, 10), paris(2027, 3, 1, 12))
    half_past = await _booked(api, ana, lab.room, paris(2027, 3, 1, 10, 30), paris(2027, 3, 1, 12))
    clock.advance(hours=1, minutes=20)  # 10:20
    assert await _release(database, clock) == 0  # the place does not release yet
    setting = await api.patch(
        f"/api/places/{lab.place_id}", json={"no_show_release_minutes": 15}, headers=manager.headers
    )
    assert setting.status_code == 200, setting.text
    assert setting.json()["no_show_release_minutes"] == 15
    checked = await api.post(f"/api/bookings/{present['id']}/check-in", headers=manager.headers)
    assert checked.status_code == 200

    assert await _release(database, clock) == 1
    assert await _release(database, clock) == 0  # idempotent
    assert [await _status(api, manager, b["id"]) for b in (absent, present, half_past)] == [
        "no_show",
        "confirmed",
        "confirmed",
    ]
    # Its units are free again (the allocations no longer block the printer).
    async with database.reader() as session:
        held = await session.exec(
            text("SELECT bool_or(active) FROM booking_allocation WHERE booking_id = :id"),
            params={"id": absent["id"]},
        )
        assert held.one()[0] is False
    clock.advance(minutes=25)  # 10:45: 15 minutes after the room's start
    assert await _release(database, clock) == 1
    counts = await api.get(f"/api/places/{lab.place_id}/no-shows", headers=manager.headers)
    assert counts.status_code == 200, counts.text
    assert [(c["email"], c["no_shows"]) for c in counts.json()] == [("ana@example.fr", 2)]
    forbidden = await api.get(f"/api/places/{lab.place_id}/no-shows", headers=ana.headers)
    assert forbidden.status_code == 403


async def test_release_times_follow_the_place_zone_across_the_change_of_clocks(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    # Sunday 28 March 2027: Paris goes from UTC+1 to UTC+2 at 02:00; 10:00 is 08:00 UTC.
    ana = await make_user(database, "ana@example.fr")
    manager = await make_user(database, "manager@fablab.test", manages=(lab.place_id,))
    await api.patch(
        f"/api/places/{lab.place_id}", json={"no_show_release_minutes": 30}, headers=manager.headers
    )
    booking = await _booked(api, ana, lab.printer, paris(2027, 3, 28, 10), paris(2027, 3, 28, 11))
    clock.now = datetime.fromisoformat("2027-03-28T08:29:00+00:00")
    assert await _release(database, clock) == 0
    clock.now = datetime.fromisoformat("2027-03-28T08:30:00+00:00")
    assert await _release(database, clock) == 1
    assert await _status(api, manager, booking["id"]) == "no_show"


async def test_a_release_setting_out_of_range_is_refused_naming_the_field(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "manager@fablab.test", manages=(lab.place_id,))
    response = await api.patch(
        f"/api/places/{lab.place_id}", json={"no_show_release_minutes": 2}, headers=manager.headers
    )
    assert response.status_code == 422
    assert "no_show_release_minutes" in response.text
    cleared = await api.patch(
        f"/api/places/{lab.place_id}",
        json={"no_show_release_minutes": None},
        headers=manager.headers,
    )
    assert cleared.status_code == 200 and cleared.json()["no_show_release_minutes"] is None
