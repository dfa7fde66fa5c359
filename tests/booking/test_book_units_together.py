"""Plain bookings that come at once, sent together (``kernel.together``, migration 0049).

Each call is made the way the service makes a booking that is its request's whole change
(``BookingRepository.book_units(alone=True)`` on a session that began nothing), each on its own
session, at once. To have a batch for certain, a transaction of the test holds a resource's
unit locks while the worker's lanes are taken by calls waiting on them; the calls made then
wait, and go together once the lock is let go. Each must get the answer it would have had on
its own, in the order the calls were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from booking.models import Booking, BookingAllocation
from booking.repository import _BOOK_UNITS_TOGETHER, BookingRepository, BookOutcome
from kernel.db import Database
from kernel.errors import OutcomeUnknownError
from kernel.idempotency import Claim
from kernel.together import Lane
from tests.booking.test_book_units import new_booking
from tests.booking.test_concurrency import overlapping_active_ranges
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, paris

TUESDAY_2PM = paris(2027, 3, 2, 14)
HOUR = timedelta(hours=1)
NOW = paris(2027, 3, 1, 9)
WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def draft(lab: Fablab, person: Person, start: datetime, reference: str) -> Booking:
    """test_book_units's draft booking, an hour from ``start``."""
    booking = new_booking(lab, person, reference)
    booking.starts_at, booking.ends_at = start, start + HOUR
    return booking


async def alone(
    database: Database,
    booking: Booking,
    items: list[tuple[int, int]],
    *,
    revision: int | None = None,
    once: Claim | None = None,
) -> BookOutcome:
    """One booking that is its request's whole change, on a session of its own."""
    async with database.writer() as session:
        return await BookingRepository(session).book_units(
            booking,
            items,
            {rid: booking.ends_at for rid, _ in items},
            NOW,
            revision,
            [booking.reference],
            alone=True,
            once=once,
        )


@asynccontextmanager
async def units_locked(database: Database, resource_id: int) -> AsyncIterator[AsyncConnection]:
    """A transaction holding the locks of ``resource_id``'s units until the block ends."""
    async with database.engine.connect() as held:
        await held.begin()
        await held.execute(
            text("SELECT 1 FROM resource_unit WHERE resource_id = :r ORDER BY id FOR UPDATE"),
            {"r": resource_id},
        )
        yield held
        await held.rollback()


async def until_waiting_on_locks(database: Database, count: int) -> None:
    """Until ``count`` statements wait on a lock."""
    for _ in range(500):
        async with database.engine.connect() as conn:
            if (await conn.execute(WAITING_ON_A_LOCK)).scalar_one() >= count:
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} statements never waited on a lock")


def the_lane(database: Database) -> Lane:
    found = database.direct_writes.lanes[(_BOOK_UNITS_TOGETHER, asyncio.get_running_loop())]
    assert isinstance(found, Lane)
    return found


async def lanes_taken(
    database: Database, lab: Fablab, person: Person
) -> list[asyncio.Task[BookOutcome]]:
    """Calls waiting on the printer's locks (held by the caller), one per lane."""
    taking = [
        asyncio.create_task(
            alone(
                database,
                draft(lab, person, TUESDAY_2PM + n * HOUR, f"MLB-LANE{n:02d}"),
                [(lab.printer, 1)],
            )
        )
        for n in range(_BOOK_UNITS_TOGETHER.lanes)
    ]
    await until_waiting_on_locks(database, _BOOK_UNITS_TOGETHER.lanes)
    return taking


async def queued(database: Database, calls: list[Awaitable[Any]]) -> list[asyncio.Future[Any]]:
    """``calls`` started, once each waits in the lane (all its lanes being taken)."""
    started = [asyncio.ensure_future(call) for call in calls]
    for _ in range(100):
        await asyncio.sleep(0)
        if len(the_lane(database).waiting) == len(calls):
            return started
    raise AssertionError("the calls did not wait in the lane")


async def count(database: Database, model: type[Booking] | type[BookingAllocation]) -> int:
    async with database.engine.connect() as conn:
        found: int = (await conn.execute(select(func.count()).select_from(model))).scalar_one()
    return found


async def booked_events(database: Database) -> int:
    async with database.engine.connect() as conn:
        found: int = (
            await conn.execute(
                text("SELECT count(*) FROM jobs.pgqueuer WHERE dedupe_key LIKE 'event:booking.%'")
            )
        ).scalar_one()
    return found


async def test_calls_that_come_at_once_go_together_and_answer_as_each_alone(
    lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    async with database.engine.connect() as conn:
        revision = (await conn.execute(text("SELECT value FROM catalogue_revision"))).scalar_one()
    later = TUESDAY_2PM + 6 * HOUR
    async with units_locked(database, lab.printer):
        taking = await lanes_taken(database, lab, alice)
        batch = await queued(
            database,
            [
                alone(database, draft(lab, alice, later, "MLB-AAAAA1"), [(lab.printer, 1)]),
                # The same hour of the printer: the call before, in the same batch, has it.
                alone(database, draft(lab, bob, later, "MLB-AAAAA2"), [(lab.printer, 1)]),
                alone(database, draft(lab, bob, later, "MLB-AAAAA3"), [(lab.seats, 12)]),
                alone(database, draft(lab, alice, later, "MLB-AAAAA4"), [(lab.seats, 1)]),
                alone(
                    database,
                    draft(lab, bob, later, "MLB-AAAAA5"),
                    [(lab.room, 1)],
                    revision=revision - 1,
                ),
                alone(database, draft(lab, bob, later, "MLB-AAAAA6"), [(lab.room, 1)]),
                alone(database, draft(lab, alice, later, "MLB-AAAAA1"), [(lab.laser, 1)]),
            ],
        )
    assert [outcome.outcome for outcome in await asyncio.gather(*taking)] == ["booked"] * len(
        taking
    )
    outcomes = await asyncio.gather(*batch)
    assert the_lane(database).batches == {len(batch): 1}
    assert [outcome.outcome for outcome in outcomes] == [
        "booked",
        "unavailable",
        "booked",
        "unavailable",  # the 12 seats went to the call before
        "stale",
        "booked",
        "reference_taken",  # the first call of the batch took it
    ]
    assert (outcomes[1].resource_id, outcomes[1].free_units) == (lab.printer, 0)
    assert (outcomes[3].resource_id, outcomes[3].free_units) == (lab.seats, 0)
    assert [outcomes[n].reference for n in (0, 2, 5)] == ["MLB-AAAAA1", "MLB-AAAAA3", "MLB-AAAAA6"]
    assert len(outcomes[2].units) == 12
    booked = len(taking) + 3
    assert await count(database, Booking) == booked
    assert await count(database, BookingAllocation) == len(taking) + 1 + 12 + 1
    assert await booked_events(database) == booked
    assert await overlapping_active_ranges(database) == 0


async def test_a_call_the_database_refuses_leaves_the_others_of_its_batch_booked(
    lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    ghost = Person(user_id=alice.user_id + 1000, email="ghost@example.org", token="")
    later = TUESDAY_2PM + 6 * HOUR
    async with units_locked(database, lab.printer):
        taking = await lanes_taken(database, lab, alice)
        batch = await queued(
            database,
            [
                alone(database, draft(lab, alice, later, "MLB-BBBBB1"), [(lab.seats, 1)]),
                alone(database, draft(lab, ghost, later, "MLB-BBBBB2"), [(lab.room, 1)]),
                alone(database, draft(lab, alice, later, "MLB-BBBBB3"), [(lab.laser, 1)]),
            ],
        )
    await asyncio.gather(*taking)
    first, refused, last = await asyncio.gather(*batch, return_exceptions=True)
    assert the_lane(database).batches == {3: 1}  # tried together, then each on its own
    assert isinstance(refused, IntegrityError)  # no such user: the booking's foreign key
    assert isinstance(first, BookOutcome) and isinstance(last, BookOutcome)
    assert (first.outcome, last.outcome) == ("booked", "booked")
    assert await count(database, Booking) == len(taking) + 2
    assert await booked_events(database) == len(taking) + 2


async def test_one_key_twice_in_a_batch_books_once(lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    caller = f"user:{alice.user_id}"
    later = TUESDAY_2PM + 6 * HOUR
    async with units_locked(database, lab.printer):
        taking = await lanes_taken(database, lab, alice)
        batch = await queued(
            database,
            [
                alone(
                    database,
                    draft(lab, alice, later, f"MLB-CCCCC{n}"),
                    [(lab.room, 1)],
                    once=Claim(caller, "the-key", fingerprint),
                )
                for n, fingerprint in enumerate(["same", "same", "other"])
            ],
        )
    await asyncio.gather(*taking)
    booked, replayed, reused = await asyncio.gather(*batch)
    assert the_lane(database).batches == {3: 1}
    assert booked.outcome == "booked"
    assert (replayed.outcome, replayed.booking_id) == ("replay", booked.booking_id)
    assert reused.outcome == "key_reused"
    assert await count(database, Booking) == len(taking) + 1


async def test_a_batch_whose_connection_is_lost_has_an_unknown_outcome(
    lab: Fablab, database: Database
) -> None:
    """Lost before its commit here, but a batch cannot tell: each caller hears "unknown"
    (with an error of its own, which the request's handler adds its key to)."""
    alice = await make_user(database, "alice@example.org")
    later = TUESDAY_2PM + 6 * HOUR
    async with units_locked(database, lab.room) as room_held:
        async with units_locked(database, lab.printer):
            taking = await lanes_taken(database, lab, alice)
            batch = await queued(
                database,
                [
                    alone(database, draft(lab, alice, later, f"MLB-DDDDD{n}"), [(lab.room, 1)])
                    for n in range(3)
                ],
            )
        await asyncio.gather(*taking)  # the lanes are free: the batch waits on the room
        await until_waiting_on_locks(database, 1)
        terminated = await room_held.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE '%book_units_together%' AND wait_event_type = 'Lock'"
            )
        )
        assert terminated.scalars().all() == [True]
        failures = await asyncio.gather(*batch, return_exceptions=True)
    assert all(isinstance(failure, OutcomeUnknownError) for failure in failures), failures
    assert len({id(failure) for failure in failures}) == len(failures)
    assert await count(database, Booking) == len(taking)  # it had not committed
    again = await alone(database, draft(lab, alice, later, "MLB-DDDDDX"), [(lab.room, 1)])
    assert again.outcome == "booked"  # the pool gave a fresh connection


async def test_a_call_on_its_own_whose_connection_is_lost_has_an_unknown_outcome(
    lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    async with units_locked(database, lab.room) as room_held:
        call = asyncio.ensure_future(
            alone(database, draft(lab, alice, TUESDAY_2PM, "MLB-EEEEE1"), [(lab.room, 1)])
        )
        await until_waiting_on_locks(database, 1)
        terminated = await room_held.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE '%FROM book_units(%' AND wait_event_type = 'Lock'"
            )
        )
        assert terminated.scalars().all() == [True]
        with pytest.raises(OutcomeUnknownError):
            await call
    assert the_lane(database).batches == {}  # it ran alone, as a call does when nobody waits
    assert await count(database, Booking) == 0


async def test_a_call_does_not_wait_long_for_lanes_held_by_calls_waiting_on_a_lock(
    lab: Fablab, database: Database
) -> None:
    """Both lanes wait on the printer's locks: a booking of the room, which nobody holds, goes
    on a lane of its own once it has waited ``overdue``, and is booked while they still wait."""
    alice = await make_user(database, "alice@example.org")
    async with units_locked(database, lab.printer):
        taking = await lanes_taken(database, lab, alice)
        [room] = await queued(
            database,
            [alone(database, draft(lab, alice, TUESDAY_2PM, "MLB-FFFFF1"), [(lab.room, 1)])],
        )
        outcome = await room
        assert outcome.outcome == "booked"
        # Still waiting on the printer: without the escape, the room would have waited until
        # the writers' lock_timeout (3 s) made these calls give up.
        assert not any(task.done() for task in taking)
    assert [outcome.outcome for outcome in await asyncio.gather(*taking)] == ["booked"] * len(
        taking
    )
