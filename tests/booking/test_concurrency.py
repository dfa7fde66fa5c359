"""No double booking under concurrency, and the database backstop.

Requests go through the HTTP API in one event loop (httpx ASGITransport + asyncio.gather),
each from a distinct user with their own token. The writers really run in parallel (20+20
pooled connections) and meet on unit row locks and the exclusion constraint: one winner per
unit and range.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from booking.repository import is_exclusion_violation
from kernel.db import Database
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, book, paris

Client = httpx.AsyncClient

OVERLAPS = text(
    """
    SELECT count(*) FROM booking_allocation a
    JOIN booking_allocation b
      ON a.unit_id = b.unit_id AND a.id < b.id
     AND a.active AND b.active
     AND a.starts_at < b.blocked_until AND b.starts_at < a.blocked_until
    """
)


async def people(database: Database, count: int) -> list[Person]:
    """Distinct users, each with their own token."""
    return [await make_user(database, f"user{n}@example.org") for n in range(count)]


async def overlapping_active_ranges(database: Database) -> int:
    """Pairs of active allocations of one unit whose blocked ranges overlap."""
    async with database.engine.connect() as conn:
        found: int = (await conn.execute(OVERLAPS)).scalar_one()
    return found


async def test_fifty_clients_one_printer(api: Client, lab: Fablab, database: Database) -> None:
    crowd = await people(database, 50)
    base = paris(2027, 3, 2, 14)

    async def attempt(n: int, person: Person) -> httpx.Response:
        # Four staggered two-hour ranges, all covering 15:30-16:00.
        start = base + timedelta(minutes=30 * (n % 4))
        return await book(api, person, lab.printer, start, start + timedelta(hours=2))

    responses = await asyncio.gather(*(attempt(n, p) for n, p in enumerate(crowd)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_unavailable"}
    assert await overlapping_active_ranges(database) == 0


async def test_thirty_clients_twelve_seats(api: Client, lab: Fablab, database: Database) -> None:
    crowd = await people(database, 30)
    start, end = paris(2027, 3, 2, 14), paris(2027, 3, 2, 16)
    responses = await asyncio.gather(*(book(api, p, [(lab.seats, 1)], start, end) for p in crowd))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 12, 409: 18}, statuses
    units = [r.json()["items"][0]["units"][0] for r in responses if r.status_code == 201]
    assert sorted(units) == sorted(f"Poste CAO #{n}" for n in range(1, 13))
    assert await overlapping_active_ranges(database) == 0


async def test_mixed_multi_resource_bookings_never_deadlock(
    api: Client, lab: Fablab, database: Database
) -> None:
    crowd = await people(database, 24)
    rng = random.Random(4)  # a fixed mix, so a failure can be replayed
    resources = [lab.printer, lab.laser, lab.room, lab.seats]

    async def attempt(person: Person) -> httpx.Response:
        chosen = rng.sample(resources, rng.randint(1, 3))
        items = [(r, rng.randint(1, 5) if r == lab.seats else 1) for r in chosen]
        start = paris(2027, 3, 2, 14) + timedelta(hours=rng.randint(0, 2))
        return await book(api, person, items, start, start + timedelta(hours=2))

    responses = await asyncio.gather(*(attempt(p) for p in crowd))
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    assert any(r.status_code == 201 for r in responses)
    assert await overlapping_active_ranges(database) == 0


async def test_concurrent_reschedules_and_cancellations(
    api: Client, lab: Fablab, database: Database
) -> None:
    crowd = await people(database, 10)
    bookings = []
    for n, person in enumerate(crowd):
        start = paris(2027, 3, 3, 8) + timedelta(hours=n)
        response = await book(api, person, lab.printer, start, start + timedelta(hours=1))
        assert response.status_code == 201
        bookings.append(response.json())
    target = paris(2027, 3, 4, 10)

    async def move(person: Person, booking_id: int) -> httpx.Response:
        return await api.post(
            f"/api/bookings/{booking_id}/reschedule",
            json={
                "starts_at": target.isoformat(),
                "ends_at": (target + timedelta(hours=1)).isoformat(),
            },
            headers=person.headers,
        )

    responses = await asyncio.gather(
        *(move(p, b["id"]) for p, b in zip(crowd, bookings, strict=True))
    )
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 9}
    assert await overlapping_active_ranges(database) == 0


async def test_the_database_refuses_overlaps_by_itself(
    api: Client, lab: Fablab, database: Database
) -> None:
    """The exclusion constraint, tested without the application's checks."""
    alice = (await people(database, 1))[0]
    booking = (
        await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    ).json()
    insert = text(
        """
        INSERT INTO booking_allocation
            (booking_id, item_id, resource_id, unit_id, starts_at, blocked_until, active)
        SELECT booking_id, item_id, resource_id, unit_id,
               :start, :end, :active
        FROM booking_allocation WHERE booking_id = :booking
        """
    )

    def utc(text_value: str) -> datetime:
        return datetime.fromisoformat(text_value)

    async def try_insert(start: str, end: str, active: bool = True) -> None:
        async with database.engine.begin() as conn:
            await conn.execute(
                insert,
                {"start": utc(start), "end": utc(end), "active": active, "booking": booking["id"]},
            )

    with pytest.raises(IntegrityError) as caught:
        await try_insert("2027-03-02T13:30:00Z", "2027-03-02T14:30:00Z")
    assert is_exclusion_violation(caught.value)
    await try_insert("2027-03-02T14:00:00Z", "2027-03-02T15:00:00Z")  # touching: allowed
    await try_insert("2027-03-02T13:30:00Z", "2027-03-02T14:30:00Z", active=False)  # inactive


async def test_a_lost_race_is_a_409_not_a_500(api: Client, lab: Fablab, database: Database) -> None:
    """A writer the booking's check cannot see wins: its allocation of the printer is not
    committed yet, and it took no lock on the unit (foreign-key checks off, as a careless bulk
    load would run). The exclusion constraint makes the booking wait for it, then refuses:
    409 ``slot_unavailable``, not a 500."""
    alice, bob = await people(database, 2)
    decoy = (await book(api, alice, lab.room, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))).json()
    async with database.engine.connect() as other:
        await other.execute(text("SET LOCAL session_replication_role = replica"))
        await other.execute(
            text(
                """
                INSERT INTO booking_allocation
                    (booking_id, item_id, resource_id, unit_id, starts_at, blocked_until, active)
                SELECT booking_id, item_id, :printer,
                       (SELECT id FROM resource_unit WHERE resource_id = :printer),
                       starts_at, blocked_until, true
                FROM booking_allocation WHERE booking_id = :booking
                """
            ),
            {"printer": lab.printer, "booking": decoy["id"]},
        )
        racing = asyncio.create_task(
            book(api, bob, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
        )
        await asyncio.sleep(0.5)
        assert not racing.done()  # held by the constraint until the other writer decides
        await other.commit()
        response = await racing
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "slot_unavailable"
    assert await overlapping_active_ranges(database) == 0
