"""Domain events for what happens after commit: e-mail, webhooks, waitlist offers.

A change that others outside the request must hear of (a booking confirmed, a payment received,
an invoice issued) is *published* in the change's transaction (:func:`publish`): one job of
the queue (:mod:`kernel.jobs`), so a rolled-back change publishes nothing and a committed one
is delivered at least once. The worker hands each event to every :class:`Subscribers` handler
registered for its name; a handler runs outside any request, opens its own transactions and is
idempotent (it may run again after a crash or a failing neighbour): it records its own work
under the event's ``key`` (unique per event), which says whether it was already done.

The kernel knows no event name: domains publish them, the shell wires the subscribers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.jobs import JobHandler, enqueue

# The job that carries every event to the subscribers.
EVENT_JOB = "events.dispatch"
MAX_KEY_LENGTH = 200
logger = logging.getLogger("mutualab.events")


@dataclass(frozen=True)
class Event:
    """Something that happened: its name (``booking.confirmed``), a key unique to this
    occurrence, and its data (ids and a few facts; subscribers read the rest)."""

    name: str
    key: str
    data: dict[str, Any]


def job_payload(name: str, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The queue payload of an event (the SQL that publishes from the database writes the same
    shape)."""
    return {"event": name, "key": key, "data": dict(data)}


async def publish(session: AsyncSession, name: str, data: Mapping[str, Any], *, key: str) -> None:
    """Publish event ``name`` in the session's transaction.

    ``key`` names this occurrence (``booking.42.7``: booking 42 at sequence 7); a second
    publication with the same key while the first is still queued is dropped.
    """
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"an event key is 1-{MAX_KEY_LENGTH} characters")
    await enqueue(session, EVENT_JOB, job_payload(name, data, key), dedupe_key=f"event:{key}")


EventHandler = Callable[[Event], Awaitable[None]]


@dataclass
class Subscribers:
    """Who hears which events: a handler per exact name, or per prefix (``booking.*``)."""

    handlers: list[tuple[str, EventHandler]] = field(default_factory=list)

    def on(self, pattern: str, handler: EventHandler) -> None:
        """Call ``handler`` for the events ``pattern`` names (``*`` ending it: any suffix)."""
        self.handlers.append((pattern, handler))

    def of(self, name: str) -> list[EventHandler]:
        """The handlers of event ``name``, in the order they subscribed."""
        return [handler for pattern, handler in self.handlers if _matches(pattern, name)]

    def dispatcher(self) -> JobHandler:
        """The handler of :data:`EVENT_JOB`: every subscriber in turn, even after one failed
        (a webhook receiver down must not hold back the e-mails); then any failure fails the
        job, which is retried, and the others, idempotent, find their work done."""

        async def dispatch(payload: dict[str, Any]) -> None:
            event = Event(
                name=str(payload.get("event", "")),
                key=str(payload.get("key", "")),
                data=dict(payload.get("data") or {}),
            )
            failures: list[Exception] = []
            for handler in self.of(event.name):
                try:
                    await handler(event)
                except Exception as exc:
                    logger.exception("a subscriber of %s (%s) failed", event.name, event.key)
                    failures.append(exc)
            if len(failures) == 1:
                raise failures[0]
            if failures:
                raise ExceptionGroup(
                    f"{len(failures)} subscribers of {event.name} failed", failures
                )

        return dispatch


def _matches(pattern: str, name: str) -> bool:
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return pattern == name
