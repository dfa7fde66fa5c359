"""Booking changes published for after commit (kernel.events): every new booking and every
change reaches the subscribers once, through a real worker; a rolled-back one never does; the
hot path's event wakes no listener (no NOTIFY, whose commit lock would serialise bookings)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.charges import Charges
from booking.events import BookingEvent
from booking.schemas import BookingCreate, ItemRequest
from booking.service import BookingServices
from kernel import jobs
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.events import EVENT_JOB, Event, Subscribers
from kernel.jobs import JobRegistry
from kernel.worker import libpq_dsn
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris
from tests.support.jobs import empty_queue, eventually, queued_count, workers

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
TUESDAY_4PM = paris(2027, 3, 2, 16)


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


class Heard:
    """A subscriber keeping every event it is handed."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[Event]:
        return [event for event in self.events if event.name == name]


def _registry(heard: Heard) -> JobRegistry:
    subscribers = Subscribers()
    subscribers.on("booking.*", heard)
    registry = JobRegistry()
    registry.job(EVENT_JOB, subscribers.dispatcher())
    return registry


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


async def test_a_new_booking_and_its_changes_reach_the_subscribers_once(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    alice = await make_user(queue, "alice@example.org")
    created = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert created.status_code == 201, created.text
    booking_id = created.json()["id"]
    moved = await api.post(
        f"/api/bookings/{booking_id}/reschedule",
        json={"starts_at": TUESDAY_3PM.isoformat(), "ends_at": TUESDAY_4PM.isoformat()},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    cancelled = await api.post(
        f"/api/bookings/{booking_id}/cancel", json={"reason": "ill"}, headers=alice.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await queued_count(queue) == 3

    heard = Heard()
    async with workers(_url(queue), _registry(heard)):
        await eventually(lambda: _queue_is_empty(queue), "the events were dispatched")
    assert [event.name for event in heard.events] == [
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
    ]
    [new] = heard.named("booking.created")
    assert new.data == {"booking_id": booking_id, "place_id": lab.place_id, "status": "confirmed"}
    assert new.key == f"booking.{booking_id}.created"
    [move] = heard.named("booking.rescheduled")
    assert move.data["moved_from"] == [
        TUESDAY_2PM.astimezone(UTC).isoformat(),
        TUESDAY_3PM.astimezone(UTC).isoformat(),
    ]
    assert (move.data["status"], move.data["place_id"]) == ("confirmed", lab.place_id)
    [cancel] = heard.named("booking.cancelled")
    assert cancel.data["previous"] == "confirmed"
    assert (cancel.data["reason"], cancel.data["by_place"]) == ("ill", False)
    assert cancel.data["actor_user_id"] == alice.user_id
    assert len({event.key for event in heard.events}) == 3


async def _queue_is_empty(database: Database) -> bool:
    return await queued_count(database) == 0


async def test_a_rolled_back_booking_publishes_nothing(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    services = BookingServices(clock, None, listeners=(_Quiet(),), charges=Charges())
    actor = Actor(user_id=alice.user_id, via="api_token")
    request = BookingCreate(
        items=[ItemRequest(resource_id=lab.printer)], starts_at=TUESDAY_2PM, ends_at=TUESDAY_3PM
    )
    async with queue.writer() as session:
        made = await services.bookings(session).create(actor, request)
        assert made.id is not None
        assert await _jobs_in(session) == 1  # queued with it, in its transaction
        await session.rollback()
    assert await queued_count(queue) == 0


class _Quiet:
    """A listener that does nothing (the services require one)."""

    async def booking_changed(self, session: AsyncSession, event: BookingEvent) -> None:
        return None


async def _jobs_in(session: AsyncSession) -> int:
    result = await session.exec(text("SELECT count(*) FROM jobs.pgqueuer"))  # type: ignore[call-overload]
    return int(result.scalar_one())


async def test_a_new_bookings_event_wakes_no_listener_but_other_jobs_do(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    """Notifications of committed transactions arrive in commit order: had the booking's
    commit notified, its notification would come before the job's queued after it."""
    received: list[str] = []
    listener = await asyncpg.connect(libpq_dsn(_url(queue)))
    try:
        await listener.add_listener("mutualab_jobs", lambda *args: received.append(args[-1]))
        alice = await make_user(queue, "alice@example.org")
        created = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
        assert created.status_code == 201, created.text
        async with queue.writer() as session, session.begin():
            await jobs.enqueue(session, "note", {"after": "the booking"})
        await eventually(lambda: _some(received), "the job's notification arrived")
        await listener.execute("SELECT 1")  # anything still in flight is read before this
        await asyncio.sleep(0)
        assert len(received) == 1
        assert await queued_count(queue) == 2  # the event is queued all the same
    finally:
        await listener.close()


async def _some(received: list[str]) -> bool:
    return bool(received)
