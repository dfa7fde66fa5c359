"""Registrations: seats never oversold under concurrency, the waitlist takes freed seats, the
minimum-attendance job cancels once, and attending a training lets the person book its machine.

Now is Monday 1 March 2027, 09:00 in Paris; the fablab is open 08:00-20:00 every day.
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.programme.support import publish, register, run_minimum_job, session_body
from tests.support.accounts import add_user, make_user
from tests.support.booking import (
    Fablab,
    MutableClock,
    book,
    make_training,
    paris,
    set_resource,
)

Client = httpx.AsyncClient


async def test_thirty_people_at_once_for_twelve_seats_get_exactly_twelve(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    [made] = await publish(
        api, manager, lab.place_id, session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12))
    )
    async with database.writer() as session, session.begin():
        people = [await add_user(session, f"p{i}@example.fr") for i in range(30)]
    answers = await asyncio.gather(*(register(api, p, made["id"]) for p in people))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 12 + [409] * 18, [a.text for a in answers if a.status_code >= 500]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"session_full"}
    async with database.engine.connect() as connection:
        taken = (
            await connection.execute(
                text(
                    "SELECT s.seats_taken, (SELECT count(*) FROM programme_registration r "
                    "WHERE r.session_id = s.id AND r.status = 'registered') "
                    "FROM programme_session s WHERE s.id = :id"
                ),
                {"id": made["id"]},
            )
        ).one()
    assert tuple(taken) == (12, 12)
    page = await api.get(f"/api/sessions/{made['id']}")
    assert page.json()["seats_left"] == 0


async def test_a_full_session_offers_its_waitlist_and_freed_seats_go_first_come_first(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    teacher = await make_user(database, "prof@college.fr")
    first = await make_user(database, "first@example.fr")
    group = await make_user(database, "group@example.fr")
    second = await make_user(database, "second@example.fr")
    body = session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12), seats=4)
    [made] = await publish(api, manager, lab.place_id, body)

    pupils = await register(api, teacher, made["id"], seats=4)
    assert pupils.status_code == 201, pupils.text
    assert pupils.json()["session"]["seats_left"] == 0
    full = await register(api, first, made["id"])
    assert full.status_code == 409
    assert full.json()["code"] == "session_full"
    waiting = await register(api, first, made["id"], waitlist=True)
    assert waiting.json()["status"] == "waitlisted"
    big = await register(api, group, made["id"], seats=4, waitlist=True)
    small = await register(api, second, made["id"], waitlist=True)
    again = await register(api, first, made["id"], waitlist=True)
    assert again.status_code == 409
    assert again.json()["code"] == "already_registered"

    gave_up = await api.post(
        f"/api/registrations/{pupils.json()['id']}/cancel", headers=teacher.headers
    )
    assert gave_up.json()["status"] == "cancelled"
    statuses = {
        who: (await api.get(f"/api/registrations/{r.json()['id']}", headers=p.headers)).json()[
            "status"
        ]
        for who, r, p in (
            ("first", waiting, first),
            ("group", big, group),
            ("second", small, second),
        )
    }
    # Four seats freed: the first in line takes one; the group of four no longer fits, keeps
    # its place; the next one that fits is registered.
    assert statuses == {"first": "registered", "group": "waitlisted", "second": "registered"}
    other = await api.get(f"/api/registrations/{waiting.json()['id']}", headers=second.headers)
    assert other.status_code == 404


async def test_below_its_minimum_a_session_is_cancelled_once_and_its_room_released(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    alice = await make_user(database, "alice@example.fr")
    bob = await make_user(database, "bob@example.fr")
    start, end = paris(2027, 3, 10, 14), paris(2027, 3, 10, 17)
    body = session_body(start, end, resources=(lab.room,), min_attendance=3, minimum_check_hours=48)
    [made] = await publish(api, manager, lab.place_id, body)
    for person in (alice, bob):
        assert (await register(api, person, made["id"])).status_code == 201

    clock.now = paris(2027, 3, 8, 13)  # 49 hours before: not yet checked
    assert await run_minimum_job(database, clock) == 0
    clock.now = paris(2027, 3, 8, 14, 1)
    assert await run_minimum_job(database, clock) == 1
    assert await run_minimum_job(database, clock) == 0  # run again: nothing more

    read = (await api.get(f"/api/sessions/{made['id']}")).json()
    assert (read["status"], read["status_reason"]) == ("cancelled", "below_minimum")
    for person in (alice, bob):
        [mine] = (await api.get("/api/me/registrations", headers=person.headers)).json()
        assert mine["status"] == "cancelled"
    async with database.engine.connect() as connection:
        told = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM jobs.pgqueuer WHERE entrypoint = 'events.dispatch' "
                    "AND convert_from(payload, 'UTF8')::jsonb ->> 'event' = 'session.cancelled'"
                )
            )
        ).scalar_one()
    assert told == 1  # one event naming both registrants: each told once
    room = await book(api, alice, lab.room, start, end)
    assert room.status_code == 201, room.text


async def test_attending_a_laser_training_lets_the_person_book_the_laser_that_day(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    lea = await make_user(database, "lea@example.fr")
    training = await make_training(database, lab.place_id)
    await set_resource(database, lab.laser, required_training_id=training)
    start, end = paris(2027, 3, 6, 9), paris(2027, 3, 6, 11)
    body = session_body(start, end, resources=(lab.laser,), kind="training", training_id=training)
    [made] = await publish(api, manager, lab.place_id, body)
    registered = await register(api, lea, made["id"])
    assert registered.status_code == 201, registered.text

    later = (paris(2027, 3, 6, 14), paris(2027, 3, 6, 15))
    refused = await book(api, lea, lab.laser, *later)
    assert refused.status_code == 403
    assert refused.json()["code"] == "training_required"

    clock.now = paris(2027, 3, 6, 10)
    marked = await api.post(
        f"/api/registrations/{registered.json()['id']}/attendance",
        json={"attended": True},
        headers=manager.headers,
    )
    assert marked.status_code == 200, marked.text
    assert marked.json()["attended_at"] is not None
    booked = await book(api, lea, lab.laser, *later)
    assert booked.status_code == 201, booked.text
    async with database.engine.connect() as connection:
        source = (
            await connection.execute(
                text(
                    "SELECT granted_on, source_session_id FROM certification "
                    "WHERE user_id = :u AND training_id = :t"
                ),
                {"u": lea.user_id, "t": training},
            )
        ).one()
    assert (source[0].isoformat(), source[1]) == ("2027-03-06", made["id"])


async def test_the_sign_in_sheet_is_the_place_managers_and_opens_before_the_start(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    lea = await make_user(database, "lea@example.fr")
    [made] = await publish(
        api, manager, lab.place_id, session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12))
    )
    registered = (await register(api, lea, made["id"])).json()
    early = await api.post(
        f"/api/registrations/{registered['id']}/attendance", json={}, headers=manager.headers
    )
    assert early.status_code == 409
    assert early.json()["code"] == "attendance_not_open"
    self_marked = await api.post(
        f"/api/registrations/{registered['id']}/attendance", json={}, headers=lea.headers
    )
    assert self_marked.status_code == 403
    sheet = await api.get(f"/api/sessions/{made['id']}/registrations", headers=manager.headers)
    assert [(r["email"], r["status"]) for r in sheet.json()] == [("lea@example.fr", "registered")]


async def test_the_front_desk_registers_a_person_of_the_place_and_a_walk_in_counting_seats(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    other = await make_user(database, "autre@lab.fr")
    camille = await make_user(database, "camille@example.fr")
    stranger = await make_user(database, "inconnu@example.fr")
    # Camille is the place's: she booked here once.
    booked = await book(api, camille, lab.printer, paris(2027, 3, 2, 10), paris(2027, 3, 2, 11))
    assert booked.status_code == 201, booked.text
    body = session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12), seats=3)
    [made] = await publish(api, manager, lab.place_id, body)
    desk = f"/api/sessions/{made['id']}/desk-registrations"

    denied = await api.post(desk, json={"name": "Yann"}, headers=other.headers)
    assert denied.status_code == 403, denied.text
    unknown = await api.post(desk, json={"user_id": stranger.user_id}, headers=manager.headers)
    assert unknown.status_code == 404, unknown.text  # never a stranger's account
    neither = await api.post(desk, json={"seats": 1}, headers=manager.headers)
    assert neither.status_code == 422, neither.text

    hers = await api.post(desk, json={"user_id": camille.user_id}, headers=manager.headers)
    assert hers.status_code == 201, hers.text
    assert (hers.json()["user_id"], hers.json()["status"]) == (camille.user_id, "registered")
    again = await api.post(desk, json={"user_id": camille.user_id}, headers=manager.headers)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "already_registered"
    walk = await api.post(
        desk,
        json={"name": "Yann Le Goff", "phone": "06 12 34 56 78", "seats": 2},
        headers=manager.headers,
    )
    assert walk.status_code == 201, walk.text
    assert walk.json()["session"]["seats_left"] == 0

    full = await api.post(desk, json={"name": "Anne"}, headers=manager.headers)
    assert full.status_code == 409, full.text
    assert full.json()["code"] == "session_full"
    waits = await api.post(desk, json={"name": "Anne", "waitlist": True}, headers=manager.headers)
    assert waits.status_code == 201, waits.text
    assert waits.json()["status"] == "waitlisted"
    sheet = (
        await api.get(f"/api/sessions/{made['id']}/registrations", headers=manager.headers)
    ).json()
    assert [(r["user_id"], r["seats"], r["status"]) for r in sheet] == [
        (camille.user_id, 1, "registered"),
        (walk.json()["user_id"], 2, "registered"),
        (waits.json()["user_id"], 1, "waitlisted"),
    ]
    assert walk.json()["user_id"] != waits.json()["user_id"]  # each walk-in is a new guest
