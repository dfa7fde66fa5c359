"""The only way a stored booking changes status, and the only caller of the listeners.

:meth:`StateChanges.move` applies :func:`booking.state.transition` (the allowed moves, the
fields each writes, sequence and ``updated_at``), stores the booking, frees or keeps its units,
and hands the event the transition returned to every listener, in the booking's transaction:
a change cannot be written without its event being delivered. Bulk expiries done in SQL (the
sweep, and the lapsed holds the allocator's call expired in a new booking's way) are
delivered from here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from booking.events import BookingEvent, BookingListener, publish
from booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from booking.repository import BookingRepository
from booking.state import current_status, expired, transition
from kernel.auth.actor import Actor


def by_place(actor: Actor, booking: Booking) -> bool:
    """Whether ``actor`` acts for the place: one of its managers, on another's booking."""
    return actor.manages(booking.place_id) and actor.user_id != booking.booker_user_id


class StateChanges:
    """Booking status changes on one session, heard by ``listeners`` (at least one)."""

    def __init__(
        self, repository: BookingRepository, *, listeners: Sequence[BookingListener]
    ) -> None:
        if not listeners:
            # Billing (at least) must hear of every change: a service built without listeners
            # would lose refunds and invoices without a word.
            raise ValueError("Booking state changes need their listeners (none given).")
        self.repo = repository
        self.listeners = tuple(listeners)

    async def move(
        self,
        booking: Booking,
        to: BookingStatus,
        now: datetime,
        *,
        reason: str | None = None,
        actor: Actor | None = None,
        by_place: bool = False,
        moved_from: tuple[datetime, datetime] | None = None,
        pay_difference: str | None = None,
        refund_to: str | None = None,
    ) -> BookingEvent:
        """Change a booking's status, store it, free its units if it ended (or stop them
        expiring if it left ``held``), and tell the listeners; the event they heard.

        ``moved_from``: the booking was also moved from that range (a reschedule).
        """
        event = transition(
            booking,
            to,
            now,
            reason=reason,
            by_user_id=actor.user_id if actor is not None else None,
            by_place=by_place,
        )
        if moved_from is not None:
            event = replace(event, moved_from=moved_from, pay_difference=pay_difference)
        if refund_to is not None:
            event = replace(event, refund_to=refund_to)
        if to not in ACTIVE_STATUSES:
            await self.repo.deactivate_allocations(event.booking_id)
        elif event.previous == BookingStatus.HELD:
            await self.repo.clear_hold(event.booking_id)
        await self.repo.add(booking)
        await self._deliver([event])
        return event

    async def cancel(
        self,
        actor: Actor,
        booking: Booking,
        now: datetime,
        reason: str,
        refund_to: str | None = None,
    ) -> None:
        """Cancel a booking for ``actor``: by the place when a manager cancels another's;
        ``refund_to`` is where the booker wants the refund (billing's to honour)."""
        await self.move(
            booking,
            BookingStatus.CANCELLED,
            now,
            reason=reason,
            actor=actor,
            by_place=by_place(actor, booking),
            refund_to=refund_to,
        )

    async def expire_if_lapsed(self, booking: Booking, now: datetime) -> None:
        """Expire a locked booking whose hold has lapsed (not swept yet) before changing it."""
        if booking.status == BookingStatus.HELD and current_status(booking, now) == (
            BookingStatus.EXPIRED
        ):
            await self.move(booking, BookingStatus.EXPIRED, now)

    async def retimed(
        self,
        booking: Booking,
        now: datetime,
        *,
        moved_from: tuple[datetime, datetime],
        actor: Actor,
        pay_difference: str | None = None,
    ) -> BookingEvent:
        """Store a booking given new times with its status unchanged (a new calendar
        SEQUENCE), and tell the listeners of the move: billing re-prices it."""
        booking.sequence += 1
        booking.updated_at = now
        await self.repo.add(booking)
        assert booking.id is not None
        event = BookingEvent(
            booking_id=booking.id,
            status=BookingStatus(booking.status),
            at=now,
            previous=BookingStatus(booking.status),
            actor_user_id=actor.user_id,
            by_place=by_place(actor, booking),
            moved_from=moved_from,
            pay_difference=pay_difference,
            place_id=booking.place_id,
        )
        await self._deliver([event])
        return event

    async def expire_lapsed(self, booking_ids: Sequence[int], now: datetime) -> list[int]:
        """Expire the lapsed holds among these bookings in bulk, and tell the listeners."""
        released = await self.repo.expire_holds(booking_ids, now)
        await self.expired_in_sql(released, now)
        return released

    async def expired_in_sql(self, booking_ids: Iterable[int], now: datetime) -> None:
        """Tell the listeners of holds a statement already expired (``book_units()``)."""
        await self._deliver(expired(booking_id, now) for booking_id in booking_ids)

    async def _deliver(self, events: Iterable[BookingEvent]) -> None:
        """Hand each event to every listener, in this transaction, and publish it for after
        commit: the only caller of them."""
        for event in events:
            for listener in self.listeners:
                await listener.booking_changed(self.repo.session, event)
            await publish(self.repo.session, event)
