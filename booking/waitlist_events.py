"""The waitlist's subscribers: the events that free units (or decide an offer) reach
:meth:`booking.service.waitlist.Waitlist.handle`, each in a transaction of its own."""

from __future__ import annotations

import logging

from booking.service import BookingServices
from booking.service.waitlist import SUBSCRIBED
from kernel.db import Database
from kernel.events import Event, Subscribers

logger = logging.getLogger("mutualab.waitlist")


def register(subscribers: Subscribers, database: Database, services: BookingServices) -> None:
    """Subscribe the waitlist to the events it handles (the shell calls this)."""

    async def handle(event: Event) -> None:
        # Idempotent: the event's key is claimed in this transaction, with the offers made.
        async with database.writer() as session, session.begin():
            offered = await services.waitlist(session).handle(event.name, event.key, event.data)
        if offered:
            logger.info("%s: waitlist entries %s offered", event.key, offered)

    for name in SUBSCRIBED:
        subscribers.on(name, handle)
