"""A term longer than the booking horizon: the later Tuesdays wait for it, the workers'
hourly task books and bills them on the purchase order when it reaches them, and a date that
can no longer be had is dropped and mailed to the teacher.

The school may book 14 days ahead; now is Monday 1 March 2027, 09:00 in Paris; the term is
every Tuesday 14:00-16:00 from 2 March to 6 April (6 dates, 108.30 EUR each).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from billing import series_horizon
from kernel.db import Database
from mutualab.composition import Runtime
from tests.billing.support import PricedLab
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.apps import runtime_on
from tests.support.booking import MutableClock, book, paris
from tests.support.jobs import empty_queue
from tests.support.mailbox import messages_to, text_of
from tests.support.waitlist import dispatched

Client = httpx.AsyncClient
PO = "BC-2027-077"
PER_DATE_CENTS = 5000 + 5830


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


@pytest.fixture
async def runtime(queue: Database, clock: MutableClock) -> AsyncIterator[Runtime]:
    """The workers' runtime, on the test's clock."""
    async with runtime_on(queue, clock) as built:
        yield built


@pytest.fixture
async def school(api: Client, lab: PricedLab, database: Database) -> int:
    """A school that may book the fablab 14 days ahead."""
    response = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"user_type_code": "school", "max_advance_days": 14}]},
        headers=lab.manager.headers,
    )
    assert response.status_code == 200, response.text
    return await make_organisation(database, "Collège Le Goffic")


@pytest.fixture
async def teacher(database: Database, school: int) -> Person:
    """A teacher who books for the school."""
    return await make_user(database, "prof@college.test", organisation_roles=((school, "booker"),))


def term(lab: PricedLab, school: int) -> dict[str, Any]:
    """Every Tuesday 14:00-16:00 from 2 March to 6 April: the room and 12 seats."""
    return {
        "items": [
            {"resource_id": lab.lab.room, "quantity": 1},
            {"resource_id": lab.lab.seats, "quantity": 12},
        ],
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270406",
        "first_date": "2027-03-02",
        "start_time": "14:00",
        "duration_minutes": 120,
        "organisation_id": school,
    }


async def _checkout(api: Client, lab: PricedLab, school: int, teacher: Person) -> dict[str, Any]:
    quote = await api.post("/api/series/quote", json=term(lab, school), headers=teacher.headers)
    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert (body["free_count"], body["pending_count"], body["conflict_count"]) == (2, 4, 0)
    waiting = [
        (o["date"], o["bookable_from"]) for o in body["occurrences"] if o["status"] == "pending"
    ]
    assert waiting[0] == ("2027-03-16", "2027-03-02")
    # The totals are what is booked now; each waiting date shows its price.
    assert body["total_incl_vat_cents"] == 2 * PER_DATE_CENTS
    assert {o["total_incl_vat_cents"] for o in body["occurrences"]} == {PER_DATE_CENTS}
    response = await api.post(
        "/api/series/checkout",
        json={
            **term(lab, school),
            "method": "invoice",
            "purchase_order": PO,
            "quote_fingerprint": body["fingerprint"],
        },
        headers=teacher.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _billing(api: Client, teacher: Person, series_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/series/{series_id}/billing", headers=teacher.headers)
    assert response.status_code == 200, response.text
    billing: dict[str, Any] = response.json()
    return billing


async def test_waiting_dates_are_booked_and_billed_when_the_horizon_reaches_them(
    api: Client,
    lab: PricedLab,
    school: int,
    teacher: Person,
    runtime: Runtime,
    clock: MutableClock,
) -> None:
    created = await _checkout(api, lab, school, teacher)
    series_id = created["series"]["id"]
    assert created["series"]["pending_dates"] == [
        "2027-03-16",
        "2027-03-23",
        "2027-03-30",
        "2027-04-06",
    ]
    assert created["series"]["purchase_order"] == PO
    assert len(created["billing"]["occurrences"]) == 2

    # Nothing new within the horizon yet: the task books nothing.
    report = await series_horizon.book_pending_dates(runtime.billing)
    assert (report.series, report.lost, report.failed) == (1, [], [])
    assert len((await _billing(api, teacher, series_id))["occurrences"]) == 2

    # On 9 March at 09:00 the horizon (23 March, 09:00) has passed 16 March, not 23 March.
    clock.advance(days=8)
    await series_horizon.book_pending_dates(runtime.billing)
    billing = await _billing(api, teacher, series_id)
    dates = [o["local_starts_at"][:10] for o in billing["occurrences"]]
    assert dates == ["2027-03-02", "2027-03-09", "2027-03-16"]
    third = billing["occurrences"][2]
    assert third["amount_cents"] == PER_DATE_CENTS
    assert [d["kind"] for d in third["documents"]] == ["invoice"]
    assert billing["purchase_order"] == PO
    series = (await api.get(f"/api/series/{series_id}", headers=teacher.headers)).json()
    assert series["pending_dates"] == ["2027-03-23", "2027-03-30", "2027-04-06"]

    # Week after week (the task runs hourly), every date is booked as the horizon reaches it.
    for _ in range(3):
        clock.advance(days=7)
        report = await series_horizon.book_pending_dates(runtime.billing)
        assert report.lost == []
    billing = await _billing(api, teacher, series_id)
    assert len(billing["occurrences"]) == 6
    assert all(len(o["documents"]) == 1 for o in billing["occurrences"])
    assert billing["total_incl_vat_cents"] == 6 * PER_DATE_CENTS
    series = (await api.get(f"/api/series/{series_id}", headers=teacher.headers)).json()
    assert series["pending_dates"] == []
    # Nothing left to do: the next run does not look at the series again.
    assert (await series_horizon.book_pending_dates(runtime.billing)).series == 0


async def test_a_date_taken_meanwhile_is_dropped_and_the_teacher_is_told(
    api: Client,
    lab: PricedLab,
    school: int,
    teacher: Person,
    runtime: Runtime,
    clock: MutableClock,
    queue: Database,
) -> None:
    created = await _checkout(api, lab, school, teacher)
    series_id = created["series"]["id"]
    # The place's team lends the room on 16 March at the desk, before the horizon reaches it.
    desk = await book(
        api, lab.manager, lab.lab.room, paris(2027, 3, 16, 15), paris(2027, 3, 16, 16)
    )
    assert desk.status_code == 201, desk.text

    clock.advance(days=8)
    report = await series_horizon.book_pending_dates(runtime.billing)
    assert [day.isoformat() for _, day in report.lost] == ["2027-03-16"]
    series = (await api.get(f"/api/series/{series_id}", headers=teacher.headers)).json()
    assert series["pending_dates"] == ["2027-03-23", "2027-03-30", "2027-04-06"]
    assert "2027-03-16" in series["exdates"]
    billing = await _billing(api, teacher, series_id)
    assert len(billing["occurrences"]) == 2  # no booking, no invoice for the lost date

    await dispatched(runtime)
    notices = await messages_to(queue, teacher.email, "series_date_lost")
    assert len(notices) == 1
    body = text_of(notices[0])
    assert "16 mars 2027" in body
    assert "le créneau a été réservé entre-temps" in body
    assert f"/series/{series_id}" in body

    # Run again: the event was handled once, the notice is not sent twice.
    await series_horizon.book_pending_dates(runtime.billing)
    await dispatched(runtime)
    assert len(await messages_to(queue, teacher.email, "series_date_lost")) == 1


async def test_cancelling_from_a_date_drops_the_waiting_dates_too(
    api: Client,
    lab: PricedLab,
    school: int,
    teacher: Person,
    runtime: Runtime,
    clock: MutableClock,
) -> None:
    created = await _checkout(api, lab, school, teacher)
    series_id = created["series"]["id"]
    response = await api.post(
        f"/api/series/{series_id}/cancel",
        json={"from_date": "2027-03-23"},
        headers=teacher.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["pending_dates"] == ["2027-03-16"]
    for _ in range(4):
        clock.advance(days=8)
        await series_horizon.book_pending_dates(runtime.billing)
    billing = await _billing(api, teacher, series_id)
    dates = [o["local_starts_at"][:10] for o in billing["occurrences"]]
    assert dates == ["2027-03-02", "2027-03-09", "2027-03-16"]
