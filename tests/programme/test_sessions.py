"""Sessions occupy their resources through the booking engine: a session never overlaps a
booking, nor a booking a session; a recurrence keeps its wall-clock hours across DST.

Now is Monday 1 March 2027, 09:00 in Paris; the fablab is open 08:00-20:00 every day.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from kernel.db import Database
from tests.programme.support import publish, register, session_body
from tests.support.accounts import make_user, stored_hash
from tests.support.booking import Fablab, MutableClock, book, paris, utc_text

Client = httpx.AsyncClient


async def test_a_session_refuses_a_booking_of_its_machine_and_frees_it_when_cancelled(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    citizen = await make_user(database, "camille@example.fr")
    start, end = paris(2027, 3, 6, 10), paris(2027, 3, 6, 13)
    [made] = await publish(
        api, manager, lab.place_id, session_body(start, end, resources=(lab.laser, lab.room))
    )
    assert made["seats_left"] == 12
    assert made["resources"] == [
        {"resource_id": lab.laser, "quantity": 1},
        {"resource_id": lab.room, "quantity": 1},
    ]

    refused = await book(api, citizen, lab.laser, paris(2027, 3, 6, 11), paris(2027, 3, 6, 12))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "slot_unavailable"

    cancelled = await api.post(
        f"/api/sessions/{made['id']}/cancel",
        json={"reason": "formateur malade"},
        headers=manager.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    booked = await book(api, citizen, lab.laser, paris(2027, 3, 6, 11), paris(2027, 3, 6, 12))
    assert booked.status_code == 201, booked.text


async def test_a_booked_machine_refuses_the_session_and_nothing_is_published(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    citizen = await make_user(database, "camille@example.fr")
    booked = await book(api, citizen, lab.printer, paris(2027, 3, 13, 11), paris(2027, 3, 13, 12))
    assert booked.status_code == 201, booked.text
    body = session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12), resources=(lab.printer,))
    body["dates"].append(
        {
            "starts_at": paris(2027, 3, 13, 10).isoformat(),
            "ends_at": paris(2027, 3, 13, 12).isoformat(),
        }
    )
    refused = await api.post(
        f"/api/places/{lab.place_id}/sessions", json=body, headers=manager.headers
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "slot_unavailable"
    assert refused.json()["starts_at"] == paris(2027, 3, 13, 10).astimezone(UTC).isoformat()
    listed = await api.get(f"/api/sessions?place_id={lab.place_id}")
    assert listed.json()["total"] == 0  # the first date was not kept either
    # Its printer stays free on the first date: the refused publication booked nothing.
    free = await book(api, citizen, lab.printer, paris(2027, 3, 6, 10), paris(2027, 3, 6, 11))
    assert free.status_code == 201, free.text


async def test_every_first_saturday_keeps_its_hours_across_the_change_to_summer_time(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    body = session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12), resources=(lab.room,))
    del body["dates"]
    body["recurrence"] = {
        "first_month": "2027-03-01",
        "weekday": 5,
        "nth": 1,
        "count": 3,
        "starts": "10:00",
        "ends": "12:00",
    }
    made = await publish(api, manager, lab.place_id, body)
    # 6 March in winter time (UTC+1), 3 April and 1 May in summer time (UTC+2): 10:00 each.
    assert [m["starts_at"] for m in made] == [
        utc_text(datetime(2027, 3, 6, 9, tzinfo=UTC)),
        utc_text(datetime(2027, 4, 3, 8, tzinfo=UTC)),
        utc_text(datetime(2027, 5, 1, 8, tzinfo=UTC)),
    ]
    assert len({m["series_key"] for m in made}) == 1


async def test_publishing_is_for_the_place_managers_and_bad_input_names_its_field(
    api: Client, lab: Fablab, database: Database
) -> None:
    citizen = await make_user(database, "camille@example.fr")
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    body = session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12))
    denied = await api.post(
        f"/api/places/{lab.place_id}/sessions", json=body, headers=citizen.headers
    )
    assert denied.status_code == 403, denied.text
    training = {**body, "kind": "training"}
    missing = await api.post(
        f"/api/places/{lab.place_id}/sessions", json=training, headers=manager.headers
    )
    assert missing.status_code == 422, missing.text
    assert missing.json()["errors"][0]["field"] == "training_id"
    both = {
        **body,
        "recurrence": {
            "first_month": "2027-03-01",
            "weekday": 5,
            "nth": 1,
            "count": 2,
            "starts": "10:00",
            "ends": "12:00",
        },
    }
    twice = await api.post(
        f"/api/places/{lab.place_id}/sessions", json=both, headers=manager.headers
    )
    assert twice.status_code == 422, twice.text
    assert twice.json()["errors"][0]["field"] == "dates"
    minimum = {**body, "seats": 4, "min_attendance": 6}
    over = await api.post(
        f"/api/places/{lab.place_id}/sessions", json=minimum, headers=manager.headers
    )
    assert over.status_code == 422, over.text
    assert over.json()["errors"][0]["field"] == "min_attendance"


async def test_a_session_keeps_its_machine_when_its_publisher_erases_their_account(
    api: Client, lab: Fablab, database: Database
) -> None:
    password = "violet-harbour-compass-42"
    manager = await make_user(
        database, "gerante@fablab.fr", manages=(lab.place_id,), password_hash=stored_hash(password)
    )
    citizen = await make_user(database, "camille@example.fr")
    start, end = paris(2027, 3, 6, 10), paris(2027, 3, 6, 13)
    [made] = await publish(
        api, manager, lab.place_id, session_body(start, end, resources=(lab.laser,))
    )
    erased = await api.post("/api/me/erase", json={"password": password}, headers=manager.headers)
    assert erased.status_code == 204, erased.text
    # The place's booking of its machine is the place's, not the person's: it stays.
    refused = await book(api, citizen, lab.laser, paris(2027, 3, 6, 11), paris(2027, 3, 6, 12))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "slot_unavailable"
    shown = await api.get(f"/api/sessions/{made['id']}")
    assert shown.status_code == 200 and shown.json()["status"] != "cancelled"


async def test_a_manager_changes_a_session_seats_added_go_to_those_waiting(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    other = await make_user(database, "autre@lab.fr", manages=())
    a, b, c = [await make_user(database, f"{n}@example.fr") for n in "abc"]
    start, end = paris(2027, 3, 6, 10), paris(2027, 3, 6, 12)
    [made] = await publish(api, manager, lab.place_id, session_body(start, end, seats=2))
    url = f"/api/sessions/{made['id']}"
    for person in (a, b):
        assert (await register(api, person, made["id"])).status_code == 201
    waiting = await register(api, c, made["id"], waitlist=True)
    assert waiting.json()["status"] == "waitlisted"

    change = {"title": "Atelier découpe laser (complet)", "seats": 1, "min_attendance": 0}
    fewer = await api.put(url, json=change, headers=manager.headers)
    assert fewer.status_code == 409, fewer.text
    assert (fewer.json()["code"], fewer.json()["seats_taken"]) == ("seats_below_registered", 2)
    over = await api.put(
        url, json={**change, "seats": 3, "min_attendance": 4}, headers=manager.headers
    )
    assert over.status_code == 422, over.text
    assert over.json()["errors"][0]["field"] == "min_attendance"
    denied = await api.put(url, json={**change, "seats": 3}, headers=other.headers)
    assert denied.status_code == 403, denied.text

    more = await api.put(
        url, json={**change, "seats": 3, "description": "Trois places"}, headers=manager.headers
    )
    assert more.status_code == 200, more.text
    assert (more.json()["title"], more.json()["seats"], more.json()["seats_left"]) == (
        "Atelier découpe laser (complet)",
        3,
        0,  # the third seat went to the person waiting
    )
    [mine] = (await api.get("/api/me/registrations", headers=c.headers)).json()
    assert mine["status"] == "registered"

    clock.now = paris(2027, 3, 4, 11)  # past the check, 48 hours before
    raised = await api.put(
        url, json={**change, "seats": 3, "min_attendance": 3}, headers=manager.headers
    )
    assert raised.status_code == 409, raised.text
    assert raised.json()["code"] == "minimum_checked"
    clock.now = paris(2027, 3, 6, 10, 30)
    started = await api.put(url, json={**change, "seats": 4}, headers=manager.headers)
    assert started.status_code == 409, started.text
    assert started.json()["code"] == "session_started"
