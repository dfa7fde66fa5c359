"""The subscriber of the published events: one delivery per matching subscription, queued.

It runs in the worker, outside any request, and may run again for the same event (after a
crash, or a neighbouring subscriber failing): a delivery is unique per (subscription, event
key), so a second run records and queues nothing.
"""

from __future__ import annotations

import logging

from kernel.clock import Clock, system_clock
from kernel.db import Database
from kernel.errors import NotFoundError
from kernel.events import Event
from webhooks.events import EVENT_TYPES
from webhooks.payloads import Payloads, envelope
from webhooks.queue import queue_attempt
from webhooks.repository import WebhookRepository

logger = logging.getLogger("mutualab.webhooks")


class Fanout:
    """Turns an event into deliveries (the ``events.dispatch`` subscriber)."""

    def __init__(self, database: Database, payloads: Payloads, clock: Clock = system_clock):
        self.database = database
        self.payloads = payloads
        self.clock = clock

    async def __call__(self, event: Event) -> None:
        """Record and queue a delivery of ``event`` for each subscription that hears it."""
        if event.name not in EVENT_TYPES:
            return
        async with self.database.writer() as session, session.begin():
            place_id = await self.payloads.place_of(session, event)
            repo = WebhookRepository(session)
            subscriptions = await repo.matching(event.name, place_id)
            if not subscriptions or place_id is None:
                return
            try:
                data = await self.payloads.data(session, event, place_id)
            except NotFoundError:
                # Deleted since (a place's removal takes its bookings): nothing left to show.
                logger.info("webhook event %s: its resource is gone", event.key)
                return
            body = envelope(event.name, event.key, self.clock(), data)
            for subscription in subscriptions:
                assert subscription.id is not None
                delivery_id = await repo.add_delivery(
                    subscription.id, event.key, event.name, place_id, body
                )
                if delivery_id is not None:
                    await queue_attempt(session, delivery_id, 1)
