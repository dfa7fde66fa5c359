"""The waitlist's subscribers: the events that free units (or decide an offer) reach
:meth:`booking.service.waitlist.Waitlist.handle`, each in a transaction of its own; and the
nightly task that forgets the keys of events handled long ago."""

from __future__ import annotations

import logging
from datetime import timedelta

from booking.service import BookingServices
from booking.service.waitlist import SUBSCRIBED
from booking.waitlist_repository import WaitlistRepository
from kernel.clock import Clock
from kernel.db import Database
from kernel.events import Event, Subscribers
from kernel.jobs import JobRegistry

logger = logging.getLogger("mutualab.waitlist")


# An event is redelivered within hours at most (kernel.jobs.Retry); its key is kept far longer.
KEEP_EVENTS = timedelta(days=30)


def register(
    subscribers: Subscribers,
    registry: JobRegistry,
    database: Database,
    services: BookingServices,
    clock: Clock,
    *,
    nightly: str,
) -> None:
    """Subscribe the waitlist to the events it handles, and forget old event keys nightly
    (the shell calls this)."""

    async def handle(event: Event) -> None:
        # Idempotent: the event's key is claimed in this transaction, with the offers made.
        async with database.writer() as session, session.begin():
            offered = await services.waitlist(session).handle(event.name, event.key, event.data)
        if offered:
            logger.info("%s: waitlist entries %s offered", event.key, offered)

    for name in SUBSCRIBED:
        subscribers.on(name, handle)

    async def forget_events() -> None:
        async with database.writer() as session, session.begin():
            forgotten = await WaitlistRepository(session).forget_events(clock() - KEEP_EVENTS)
        logger.info("%s waitlist event key(s) forgotten", forgotten)

    registry.every("waitlist.forget_events", nightly, forget_events)
