"""Booking events other domains react to, without booking importing them.

Dependencies point one way (billing -> booking), so booking cannot call billing. Instead the
composition root (``mutualab.composition``) builds the booking services
(:class:`booking.service.BookingServices`) with their listeners, which they require, and
:class:`booking.changes.StateChanges`, the only way a booking's status changes, calls them
inside the same transaction whenever a booking is approved, cancelled, refused, expires or is
moved (rescheduled, with or without a change of status): what
a listener writes commits or rolls back with the booking change. Listeners must not leave the
process (no network call): they record what is to be done and do it after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.models import BookingStatus


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


class BookingListener(Protocol):
    """Something that reacts to booking changes inside the booking's transaction."""

    async def booking_changed(self, session: AsyncSession, event: BookingEvent) -> None:
        """React to ``event``; raising rolls the booking change back."""
