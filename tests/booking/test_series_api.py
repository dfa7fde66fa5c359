"""Series through the API: a school's term of Tuesday classes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kernel.db import Database
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import (
    Fablab,
    MutableClock,
    book,
    make_fablab,
    paris,
)
from tests.support.sql import sent_statements

Client = httpx.AsyncClient


@pytest.fixture
def clock() -> MutableClock:
    """Now is Monday 30 August 2027, 09:00 in Paris: the term starts next week."""
    return MutableClock(paris(2027, 8, 30, 9))


@pytest.fixture
async def lab(api: Client, admin_headers: dict[str, str], database: Database) -> Fablab:
    """A fablab whose policy lets schools book a term (120 days) ahead."""
    lab = await make_fablab(api, admin_headers)
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    response = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"user_type_code": "school", "max_advance_days": 120}]},
        headers=manager.headers,
    )
    assert response.status_code == 200
    return lab


@pytest.fixture
async def school(database: Database) -> int:
    """A school."""
    return await make_organisation(database)


@pytest.fixture
async def teacher(database: Database, school: int) -> Person:
    """A teacher who books for the school."""
    return await make_user(
        database, "teacher@example.org", organisation_roles=((school, "booker"),)
    )


def term(lab: Fablab, school: int, **changes: Any) -> dict[str, Any]:
    """Every Tuesday 14:00-16:00 from 8 September to 15 December: the room and 12 seats."""
    body: dict[str, Any] = {
        "items": [
            {"resource_id": lab.room, "quantity": 1},
            {"resource_id": lab.seats, "quantity": 12},
        ],
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20271215",
        "first_date": "2027-09-08",
        "start_time": "14:00",
        "duration_minutes": 120,
        "organisation_id": school,
        "notes": "Classe de 4e B",
    }
    body.update(changes)
    return body


async def test_a_term_of_tuesdays_in_one_request(
    api: Client, lab: Fablab, school: int, teacher: Person
) -> None:
    response = await api.post("/api/series", json=term(lab, school), headers=teacher.headers)
    assert response.status_code == 201, response.text
    series = response.json()
    occurrences = series["occurrences"]
    assert len(occurrences) == 14
    assert {o["status"] for o in occurrences} == {"booked"}
    assert occurrences[0]["date"] == "2027-09-14"
    assert occurrences[-1]["date"] == "2027-12-14"
    # 14:00 stays 14:00 across the end of summer time (31 October).
    assert {o["local_starts_at"][11:19] for o in occurrences} == {"14:00:00"}
    by_date = {o["date"]: o for o in occurrences}
    assert by_date["2027-10-26"]["starts_at"] == "2027-10-26T12:00:00Z"
    assert by_date["2027-11-02"]["starts_at"] == "2027-11-02T13:00:00Z"
    assert len(series["bookings"]) == 14
    first = series["bookings"][0]
    assert first["series_id"] == series["id"]
    assert first["organisation_id"] == school
    assert first["user_type_code"] == "school"
    assert first["local_ends_at"] == "2027-09-14T16:00:00+02:00"
    assert series["timezone"] == "Europe/Paris"
    again = await api.get(f"/api/series/{series['id']}", headers=teacher.headers)
    assert again.status_code == 200
    assert [b["id"] for b in again.json()["bookings"]] == [b["id"] for b in series["bookings"]]
    mine = (await api.get("/api/me/bookings?limit=200", headers=teacher.headers)).json()
    assert mine["total"] == 14


async def test_all_or_nothing_writes_nothing_on_a_conflict(
    api: Client, lab: Fablab, school: int, teacher: Person, database: Database
) -> None:
    other = await make_user(database, "other@example.org")
    taken = await book(api, other, lab.room, paris(2027, 9, 21, 15), paris(2027, 9, 21, 16))
    assert taken.status_code == 201
    response = await api.post("/api/series", json=term(lab, school), headers=teacher.headers)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "series_conflict"
    statuses = {o["date"]: (o["status"], o["reason"]) for o in body["occurrences"]}
    assert statuses["2027-09-21"] == ("conflict", "slot_unavailable")
    assert statuses["2027-09-14"] == ("free", None)
    assert len(statuses) == 14
    mine = (await api.get("/api/me/bookings", headers=teacher.headers)).json()
    assert mine["total"] == 0


async def test_skip_conflicts_books_the_free_occurrences(
    api: Client, lab: Fablab, school: int, teacher: Person, database: Database
) -> None:
    other = await make_user(database, "other@example.org")
    await book(api, other, [(lab.seats, 1)], paris(2027, 9, 21, 15), paris(2027, 9, 21, 16))
    response = await api.post(
        "/api/series",
        json=term(lab, school, mode="skip_conflicts", exdates=["2027-10-26"]),
        headers=teacher.headers,
    )
    assert response.status_code == 201, response.text
    occurrences = response.json()["occurrences"]
    assert len(occurrences) == 13  # 26 October is an EXDATE (autumn holidays)
    conflicts = [o for o in occurrences if o["status"] == "conflict"]
    assert [(o["date"], o["reason"]) for o in conflicts] == [("2027-09-21", "slot_unavailable")]
    assert len(response.json()["bookings"]) == 12


async def test_occurrences_beyond_the_horizon_wait_for_it(
    api: Client, lab: Fablab, school: int, teacher: Person
) -> None:
    """Booked as a citizen (no school policy): the resources' own 90 days ahead apply; the
    later Tuesdays are not conflicts but wait for the horizon, even all or nothing."""
    body = term(lab, school, organisation_id=None)
    response = await api.post("/api/series", json=body, headers=teacher.headers)
    assert response.status_code == 201, response.text
    occurrences = response.json()["occurrences"]
    assert not [o for o in occurrences if o["status"] == "conflict"]
    pending = [(o["date"], o["bookable_from"]) for o in occurrences if o["status"] == "pending"]
    # 90 days before each Tuesday's 14:00.
    assert pending == [
        ("2027-11-30", "2027-09-01"),
        ("2027-12-07", "2027-09-08"),
        ("2027-12-14", "2027-09-15"),
    ]
    assert response.json()["pending_dates"] == ["2027-11-30", "2027-12-07", "2027-12-14"]
    assert len(response.json()["bookings"]) == 11


async def test_cancel_a_series_from_a_date(
    api: Client, lab: Fablab, school: int, teacher: Person, database: Database
) -> None:
    series = (await api.post("/api/series", json=term(lab, school), headers=teacher.headers)).json()
    stranger = await make_user(database, "stranger@example.org")
    path = f"/api/series/{series['id']}"
    assert (await api.get(path, headers=stranger.headers)).status_code == 404
    denied = await api.post(
        f"{path}/cancel", json={"from_date": "2027-11-01"}, headers=stranger.headers
    )
    assert denied.status_code == 404
    response = await api.post(
        f"{path}/cancel", json={"from_date": "2027-11-01"}, headers=teacher.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cancelled_from"] == "2027-11-01"
    statuses = {b["local_starts_at"][:10]: b["status"] for b in body["bookings"]}
    assert statuses["2027-10-26"] == "confirmed"
    assert statuses["2027-11-02"] == "cancelled"
    assert list(statuses.values()).count("cancelled") == 7
    # The freed Tuesdays can be booked by someone else.
    assert (
        await book(api, stranger, lab.room, paris(2027, 11, 9, 14), paris(2027, 11, 9, 15))
    ).status_code == 201


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"rule": "FREQ=MONTHLY;COUNT=3"}, "invalid_rule", "rule"),
        ({"rule": "FREQ=WEEKLY;BYDAY=TU"}, "series_unbounded", "rule"),
        ({"rule": "FREQ=DAILY;UNTIL=20281231"}, "series_too_long", "rule"),
        ({"rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270901"}, "series_empty", "rule"),
        ({"start_time": "14:10"}, "not_aligned", "start_time"),
        ({"duration_minutes": 30}, "too_short", "duration_minutes"),
        ({"items": [{"resource_id": 999999, "quantity": 1}]}, "resource_not_found", None),
    ],
)
async def test_bad_series_requests(
    api: Client,
    lab: Fablab,
    school: int,
    teacher: Person,
    changes: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    response = await api.post(
        "/api/series", json=term(lab, school, **changes), headers=teacher.headers
    )
    assert response.json()["code"] == code, response.text
    assert response.status_code in (404, 422)
    if field is not None:
        assert response.json()["errors"][0]["field"] == field


async def test_series_on_behalf_of_a_foreign_organisation(
    api: Client, lab: Fablab, school: int, database: Database
) -> None:
    stranger = await make_user(database, "stranger@example.org")
    response = await api.post("/api/series", json=term(lab, school), headers=stranger.headers)
    assert (response.status_code, response.json()["code"]) == (403, "not_a_member")


async def test_a_term_is_stored_in_one_call(
    api: Client, lab: Fablab, school: int, teacher: Person
) -> None:
    """Every date in one round trip (book_units_together), not a savepoint and a call each."""
    with sent_statements() as sent:
        response = await api.post("/api/series", json=term(lab, school), headers=teacher.headers)
    assert response.status_code == 201, response.text
    assert len(response.json()["bookings"]) == 14
    calls = [s for s in sent if "book_units" in s]
    assert len(calls) == 1 and "book_units_together" in calls[0]
    assert sum(s.startswith("SAVEPOINT") for s in sent) == 1


async def test_a_lapsed_hold_in_the_way_of_one_date_is_expired_and_that_date_booked(
    api: Client,
    lab: Fablab,
    school: int,
    teacher: Person,
    database: Database,
    clock: MutableClock,
) -> None:
    other = await make_user(database, "other@example.org")
    held = await book(
        api, other, lab.room, paris(2027, 9, 21, 14), paris(2027, 9, 21, 15), hold_minutes=15
    )
    assert held.status_code == 201, held.text
    clock.advance(minutes=16)  # the hold lapsed; nothing has swept it yet
    response = await api.post("/api/series", json=term(lab, school), headers=teacher.headers)
    assert response.status_code == 201, response.text
    occurrences = response.json()["occurrences"]
    assert {o["status"] for o in occurrences} == {"booked"}
    assert len(occurrences) == 14
    stale = await api.get(f"/api/bookings/{held.json()['id']}", headers=other.headers)
    assert stale.json()["status"] == "expired"


async def test_a_weekly_quota_counts_the_series_own_earlier_dates(
    api: Client, lab: Fablab, school: int, teacher: Person, database: Database
) -> None:
    """Tuesday to Thursday of one week, two hours each, under a four-hour quota: the third
    date is over it once the first two are booked."""
    manager = await make_user(database, "quota-manager@example.org", manages=(lab.place_id,))
    policy = {"user_type_code": "school", "max_advance_days": 120, "weekly_quota_minutes": 240}
    response = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [policy]},
        headers=manager.headers,
    )
    assert response.status_code == 200, response.text
    body = term(
        lab,
        school,
        rule="FREQ=DAILY;COUNT=3",
        first_date="2027-09-14",
        mode="skip_conflicts",
        items=[{"resource_id": lab.room, "quantity": 1}],
    )
    response = await api.post("/api/series", json=body, headers=teacher.headers)
    assert response.status_code == 201, response.text
    statuses = [(o["date"], o["status"], o["reason"]) for o in response.json()["occurrences"]]
    assert statuses == [
        ("2027-09-14", "booked", None),
        ("2027-09-15", "booked", None),
        ("2027-09-16", "conflict", "quota_exceeded"),
    ]
