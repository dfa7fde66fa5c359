"""A booking's status changes: which moves are allowed, what each one writes, the event it makes.

:func:`transition` is the one place a booking's status is changed. It is pure (no database, no
clock): it checks the move against :data:`MOVES`, writes the booking's fields and returns the
:class:`~booking.events.BookingEvent` the listeners receive. Its one caller,
:class:`booking.changes.StateChanges`, stores the booking and hands the event to the
listeners, so a change without its event cannot be written. Bulk expiries done in SQL (the
sweep, lapsed holds in a new booking's way) select their rows with :data:`EXPIRABLE` and build
their events with :func:`expired`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from booking.events import BookingEvent
from booking.models import Booking, BookingStatus
from kernel.errors import ConflictError

S = BookingStatus

# From each status, the statuses it may move to. Cancelled, refused, expired and no-show are
# final.
MOVES: Mapping[BookingStatus, frozenset[BookingStatus]] = {
    # paid (confirmed), moved to a range that needs approval, withdrawn, or lapsed
    S.HELD: frozenset({S.CONFIRMED, S.PENDING_APPROVAL, S.CANCELLED, S.EXPIRED}),
    # approved, refused or withdrawn
    S.PENDING_APPROVAL: frozenset({S.CONFIRMED, S.REFUSED, S.CANCELLED}),
    # moved to a range that needs approval, cancelled, or released when nobody came
    S.CONFIRMED: frozenset({S.PENDING_APPROVAL, S.CANCELLED, S.NO_SHOW}),
    S.CANCELLED: frozenset(),
    S.REFUSED: frozenset(),
    S.EXPIRED: frozenset(),
    S.NO_SHOW: frozenset(),
}
# The statuses a booking can expire from (what bulk expiries select in SQL).
EXPIRABLE: tuple[BookingStatus, ...] = tuple(s for s, to in MOVES.items() if S.EXPIRED in to)


def transition(
    booking: Booking,
    to: BookingStatus,
    now: datetime,
    *,
    reason: str | None = None,
    by_user_id: int | None = None,
    by_place: bool = False,
) -> BookingEvent:
    """Move ``booking`` to ``to`` at ``now`` and return the event of the move.

    Raises :class:`ConflictError` ``booking_transition_refused`` if the move is not in
    :data:`MOVES` (the booking is then left as it was). ``reason`` (when given) is kept as the
    booking's ``status_reason``; ``by_user_id`` is who made the change; ``by_place`` says a
    manager of the place (not the booker) made it.
    """
    assert booking.id is not None
    source = BookingStatus(booking.status)
    if to not in MOVES[source]:
        raise ConflictError(
            f"A booking cannot go from {source.replace('_', ' ')} to {to.replace('_', ' ')}.",
            code="booking_transition_refused",
            extra={"booking_status": source.value, "requested_status": to.value},
        )
    booking.status = to
    booking.sequence += 1
    booking.updated_at = now
    if reason is not None:
        booking.status_reason = reason
    if to in (S.CONFIRMED, S.PENDING_APPROVAL):
        booking.hold_expires_at = None
    if source == S.PENDING_APPROVAL and to in (S.CONFIRMED, S.REFUSED):
        booking.decided_by_user_id = by_user_id
        booking.decided_at = now
    if to == S.CANCELLED:
        booking.cancelled_at = now
        booking.cancelled_by_user_id = by_user_id
    return BookingEvent(
        booking_id=booking.id,
        status=to,
        at=now,
        previous=source,
        place_id=booking.place_id,
        actor_user_id=by_user_id,
        by_place=by_place,
        reason=reason or "",
    )


def current_status(booking: Booking, now: datetime) -> BookingStatus:
    """The status as callers should see it at ``now``: a lapsed hold is expired even before a
    sweep (or a booking in its way) writes so."""
    if (
        booking.status == S.HELD
        and booking.hold_expires_at is not None
        and booking.hold_expires_at <= now
    ):
        return S.EXPIRED
    return BookingStatus(booking.status)


def expired(booking_id: int, now: datetime) -> BookingEvent:
    """The event of a hold that lapsed, expired in bulk (``status IN EXPIRABLE`` in SQL)."""
    return BookingEvent(booking_id=booking_id, status=S.EXPIRED, at=now, previous=S.HELD)
