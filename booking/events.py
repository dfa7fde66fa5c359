"""Booking events other domains react to, without booking importing them.

Dependencies point one way (billing -> booking), so booking cannot call billing. Instead the
composition root (``mutualab.composition``) builds the booking services
(:class:`booking.service.BookingServices`) with their listeners, which they require, and
:class:`booking.changes.StateChanges`, the only way a booking's status changes, calls them
inside the same transaction whenever a booking is approved, cancelled, refused, expires or is
moved (rescheduled, with or without a change of status): what
a listener writes commits or rolls back with the booking change. Listeners must not leave the
process (no network call): they record what is to be done and do it after commit.

Every change is also *published* (:func:`publish`, kernel.events) for what runs after commit:
messages, webhooks, waitlist offers. A new booking is published by ``book_units()`` itself
(migration 0017): ``booking.created``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.models import BookingStatus
from kernel import events


@dataclass(frozen=True, slots=True)
class BookingEvent:
    """A booking reached a new status (made by :func:`booking.state.transition`).

    ``confirmed`` from ``pending_approval`` is a manager's approval; from ``held``, a paid hold
    (billing confirmed it itself). A move to ``pending_approval`` is a booking moved to a range
    that needs approval.
    """

    booking_id: int
    status: BookingStatus
    at: datetime
    # The status it left (None: not known).
    previous: BookingStatus | None = None
    actor_user_id: int | None = None
    # A manager of the place (not the booker) made the change: refunds are then in full.
    by_place: bool = False
    reason: str = ""
    # A move: the range it left (a reschedule). The status may be unchanged (``previous`` is
    # then ``status``): billing re-prices every move.
    moved_from: tuple[datetime, datetime] | None = None
    # How the booker pays a dearer move's difference, if they said (a reschedule's request).
    pay_difference: str | None = None
    # Where the booker asked a cancellation's refund to go ("wallet"), if they said.
    refund_to: str | None = None
    # The booking's place (None: not at hand, as in a bulk expiry; subscribers read it).
    place_id: int | None = None

    @property
    def name(self) -> str:
        """The name it is published under (kernel.events): ``booking.<status>``, or
        ``booking.rescheduled`` for a move."""
        return "booking.rescheduled" if self.moved_from is not None else f"booking.{self.status}"

    def published(self) -> dict[str, Any]:
        """What subscribers after commit receive (ids and facts; they read the rest)."""
        return {
            "booking_id": self.booking_id,
            "place_id": self.place_id,
            "status": str(self.status),
            "previous": str(self.previous) if self.previous is not None else None,
            "reason": self.reason,
            "by_place": self.by_place,
            "actor_user_id": self.actor_user_id,
            "moved_from": [edge.isoformat() for edge in self.moved_from]
            if self.moved_from is not None
            else None,
        }

    @property
    def key(self) -> str:
        """Unique to this change: the booking, what happened and when."""
        return f"booking.{self.booking_id}.{self.name.split('.')[1]}.{self.at:%Y%m%dT%H%M%S%f}"


async def publish(session: AsyncSession, event: BookingEvent) -> None:
    """Publish a change for the subscribers after commit (e-mail, webhooks, waitlist)."""
    await events.publish(session, event.name, event.published(), key=event.key)


class BookingListener(Protocol):
    """Something that reacts to booking changes inside the booking's transaction."""

    async def booking_changed(self, session: AsyncSession, event: BookingEvent) -> None:
        """React to ``event``; raising rolls the booking change back."""
