"""booking.changes.StateChanges: the only way a stored booking's status changes, each change
heard exactly once by every listener, in the change's transaction; never without listeners."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.charges import Charges
from booking.changes import StateChanges
from booking.events import BookingEvent
from booking.models import Booking, BookingStatus
from booking.repository import BookingRepository
from booking.schemas import BookingCreate, ItemRequest, Reschedule
from booking.service import BookingServices
from booking.state import MOVES
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.errors import ConflictError
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris

S = BookingStatus
TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)


class Recorder:
    """A listener that keeps what it hears, and in which transaction."""

    def __init__(self) -> None:
        self.heard: list[BookingEvent] = []
        self.sessions: list[AsyncSession] = []

    async def booking_changed(self, session: AsyncSession, event: BookingEvent) -> None:
        self.heard.append(event)
        self.sessions.append(session)


async def test_state_changes_cannot_be_built_without_listeners(database: Database) -> None:
    async with database.writer() as session:
        repository = BookingRepository(session)
        with pytest.raises(TypeError):
            StateChanges(repository)  # type: ignore[call-arg]
        with pytest.raises(ValueError, match="listeners"):
            StateChanges(repository, listeners=())


async def test_every_move_is_heard_once_by_every_listener_and_a_refused_one_by_none(
    api: httpx.AsyncClient, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    """Every (from, to) pair of statuses, on a stored booking: an allowed move is stored with
    its sequence bumped and delivered once to each listener, in the booking's session; a
    refused one raises, writes nothing and is heard by no one."""
    alice = await make_user(database, "alice@example.org")
    created = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    booking_id = created.json()["id"]
    now = clock()
    for source in S:
        for to in S:
            first, second = Recorder(), Recorder()
            services = BookingServices(clock, None, listeners=(first, second), charges=Charges())
            async with database.writer() as session:
                await session.exec(  # type: ignore[call-overload]
                    update(Booking)
                    .where(Booking.id == booking_id)  # type: ignore[arg-type]
                    .values(
                        status=source,
                        hold_expires_at=now + timedelta(minutes=15) if source == S.HELD else None,
                    )
                )
                parts = services.parts(session)
                booking = await parts.repository.get(booking_id, lock=True)
                assert booking is not None
                sequence = booking.sequence
                if to in MOVES[source]:
                    event = await parts.changes.move(booking, to, now)
                    assert (event.booking_id, event.previous, event.status) == (
                        booking_id,
                        source,
                        to,
                    )
                    assert first.heard == second.heard == [event]
                    assert first.sessions == [session]
                    stored = await parts.repository.get(booking_id, lock=True)
                    assert stored is not None
                    assert (stored.status, stored.sequence) == (to, sequence + 1)
                else:
                    with pytest.raises(ConflictError) as refused:
                        await parts.changes.move(booking, to, now)
                    assert refused.value.code == "booking_transition_refused"
                    assert first.heard == second.heard == []
                    stored = await parts.repository.get(booking_id, lock=True)
                    assert stored is not None
                    assert (stored.status, stored.sequence) == (source, sequence)
                await session.rollback()


async def test_each_hold_expired_in_bulk_is_heard_once(
    api: httpx.AsyncClient, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    """The sweep, and a new booking whose way a lapsed hold was in: one ``expired`` event per
    hold, from ``held``, whichever statement expired it."""
    alice = await make_user(database, "alice@example.org")
    holds = [
        (await book(api, alice, rid, TUESDAY_2PM, TUESDAY_3PM, hold_minutes=10)).json()["id"]
        for rid in (lab.printer, lab.room, lab.laser)
    ]
    clock.advance(minutes=11)
    recorder = Recorder()
    services = BookingServices(clock, None, listeners=(recorder,), charges=Charges())
    bob = Actor(user_id=(await make_user(database, "bob@example.org")).user_id, via="api_token")
    async with database.writer() as session, session.begin():
        # The printer's one unit is in the way of Bob's booking: the allocator expires its hold.
        await services.bookings(session).create(
            bob,
            BookingCreate(
                items=[ItemRequest(resource_id=lab.printer)],
                starts_at=TUESDAY_2PM,
                ends_at=TUESDAY_3PM,
            ),
        )
        assert [(e.booking_id, e.previous, e.status) for e in recorder.heard] == [
            (holds[0], S.HELD, S.EXPIRED)
        ]
        # The sweep expires the two others, once each.
        assert await services.bookings(session).release_expired_holds() == 2
        assert await services.bookings(session).release_expired_holds() == 0
    assert sorted(e.booking_id for e in recorder.heard) == sorted(holds)
    assert {(e.previous, e.status) for e in recorder.heard} == {(S.HELD, S.EXPIRED)}


async def test_a_move_is_heard_once_with_the_range_it_left(
    api: httpx.AsyncClient, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    """A reschedule keeps the status, yet billing must hear it to re-price it (issue 16)."""
    alice = await make_user(database, "alice@example.org")
    created = (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).json()
    recorder = Recorder()
    services = BookingServices(clock, None, listeners=(recorder,), charges=Charges())
    actor = Actor(user_id=alice.user_id, via="api_token")
    later = (TUESDAY_2PM + timedelta(days=7), TUESDAY_3PM + timedelta(days=7))
    async with database.writer() as session, session.begin():
        moved = await services.bookings(session).reschedule(
            actor, created["id"], Reschedule(starts_at=later[0], ends_at=later[1])
        )
    assert (moved.starts_at, moved.ends_at) == later
    [event] = recorder.heard
    assert (event.booking_id, event.previous, event.status) == (
        created["id"],
        S.CONFIRMED,
        S.CONFIRMED,
    )
    assert event.moved_from == (TUESDAY_2PM, TUESDAY_3PM)
    assert (event.actor_user_id, event.by_place, event.pay_difference) == (
        alice.user_id,
        False,
        None,
    )
