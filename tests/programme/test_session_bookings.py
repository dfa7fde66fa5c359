"""A session's own booking (``booking.place_use``) changes only with its session: the booking
API refuses to cancel or move it, and a closure or a maintenance window that cancels it
cancels the session too, with what a session's cancellation does.

Now is Monday 1 March 2027, 09:00 in Paris; the fablab is open 08:00-20:00 every day.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.programme.support import publish, register, session_body
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, book, iso, paris

Client = httpx.AsyncClient


async def session_booking_id(database: Database, session_id: int) -> int:
    """The id of the place's booking that holds a session's resources."""
    async with database.engine.connect() as connection:
        found = await connection.execute(
            text("SELECT booking_id FROM programme_session WHERE id = :id"), {"id": session_id}
        )
        booking_id: int = found.scalar_one()
    return booking_id


async def cancelled_events(database: Database) -> list[dict[str, Any]]:
    """The ``session.cancelled`` events published (the jobs that tell the registrants)."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT convert_from(payload, 'UTF8')::jsonb -> 'data' FROM jobs.pgqueuer "
                "WHERE entrypoint = 'events.dispatch' "
                "AND convert_from(payload, 'UTF8')::jsonb ->> 'event' = 'session.cancelled'"
            )
        )
        return [row[0] for row in rows]


async def laser_session(api: Client, lab: Fablab, manager: Person) -> dict[str, Any]:
    """A laser workshop on Saturday 6 March, 10:00-13:00, with the laser and the room."""
    body = session_body(
        paris(2027, 3, 6, 10), paris(2027, 3, 6, 13), resources=(lab.laser, lab.room)
    )
    [made] = await publish(api, manager, lab.place_id, body)
    return made


async def test_the_booking_api_refuses_to_cancel_or_move_a_sessions_booking(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    citizen = await make_user(database, "camille@example.fr")
    made = await laser_session(api, lab, manager)
    booking_id = await session_booking_id(database, made["id"])

    cancel = await api.post(
        f"/api/bookings/{booking_id}/cancel", json={"reason": "x"}, headers=manager.headers
    )
    assert cancel.status_code == 409, cancel.text
    assert cancel.json()["code"] == "session_booking"
    moved = await api.post(
        f"/api/bookings/{booking_id}/reschedule",
        json={"starts_at": iso(paris(2027, 3, 6, 14)), "ends_at": iso(paris(2027, 3, 6, 17))},
        headers=manager.headers,
    )
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "session_booking"

    # Nothing changed: the session is on and still holds its laser.
    assert (await api.get(f"/api/sessions/{made['id']}")).json()["status"] == "scheduled"
    taken = await book(api, citizen, lab.laser, paris(2027, 3, 6, 11), paris(2027, 3, 6, 12))
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "slot_unavailable"


async def test_a_closure_over_a_session_cancels_it_and_tells_its_registrants_once(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    alice = await make_user(database, "alice@example.fr")
    made = await laser_session(api, lab, manager)
    assert (await register(api, alice, made["id"])).status_code == 201
    booking_id = await session_booking_id(database, made["id"])

    closure = {"first_day": "2027-03-06", "reason": "dégât des eaux"}
    preview = await api.post(
        f"/api/places/{lab.place_id}/closures/preview", json=closure, headers=manager.headers
    )
    assert [e["booking"]["id"] for e in preview.json()["affected"]] == [booking_id]
    undecided = await api.post(
        f"/api/places/{lab.place_id}/closures", json=closure, headers=manager.headers
    )
    assert undecided.status_code == 409, undecided.text  # the session is not cancelled silently
    assert (await api.get(f"/api/sessions/{made['id']}")).json()["status"] == "scheduled"

    applied = await api.post(
        f"/api/places/{lab.place_id}/closures",
        json={**closure, "cancel_booking_ids": [booking_id]},
        headers=manager.headers,
    )
    assert applied.status_code == 201, applied.text
    read = (await api.get(f"/api/sessions/{made['id']}")).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "dégât des eaux")
    [mine] = (await api.get("/api/me/registrations", headers=alice.headers)).json()
    assert mine["status"] == "cancelled"
    [told] = await cancelled_events(database)
    assert told["session_id"] == made["id"]
    assert told["user_ids"] == [alice.user_id]


async def test_a_maintenance_of_its_machine_cancels_the_session(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    alice = await make_user(database, "alice@example.fr")
    made = await laser_session(api, lab, manager)
    assert (await register(api, alice, made["id"])).status_code == 201
    booking_id = await session_booking_id(database, made["id"])

    blackout = await api.post(
        f"/api/resources/{lab.laser}/blackouts",
        json={
            "starts_at": iso(paris(2027, 3, 6, 8)),
            "ends_at": iso(paris(2027, 3, 6, 20)),
            "reason": "lentille cassée",
            "cancel_booking_ids": [booking_id],
        },
        headers=manager.headers,
    )
    assert blackout.status_code == 201, blackout.text
    read = (await api.get(f"/api/sessions/{made['id']}")).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "lentille cassée")
    assert [e["user_ids"] for e in await cancelled_events(database)] == [[alice.user_id]]
    # The room it also held is free again.
    room = await book(api, alice, lab.room, paris(2027, 3, 6, 10), paris(2027, 3, 6, 13))
    assert room.status_code == 201, room.text
