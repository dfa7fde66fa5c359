"""The place occupies its own resources: the room and the machine of a session of its programme.

Through the same units and the same write path as every booking (``book_units()``, the
exclusion constraint), so a session can never overlap a booking, nor a booking a session. Such
a booking (``booking.place_use``) is made by a manager of the place for the place: the rules
written for the people who book (opening hours, notice, horizon, lengths, trainings, quotas,
approval) are the place's own to set aside, a resource out of service or a time in the past
are not; it is never priced (the charge gate is not asked) and never released as a no-show.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from booking.admission import Admission, check_range
from booking.allocation import Allocator
from booking.availability import Reason
from booking.changes import StateChanges
from booking.models import Booking, BookingStatus
from booking.repository import BookingRepository
from booking.rules import problem_error
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import ForbiddenError, InvalidInputError, NotFoundError

# What a place's own booking still cannot do.
REFUSED = frozenset({Reason.IN_THE_PAST, Reason.BLACKOUT})


class Occupancy:
    """Bookings by which a place occupies its own resources."""

    def __init__(
        self,
        repository: BookingRepository,
        admission: Admission,
        allocator: Allocator,
        changes: StateChanges,
        clock: Clock,
    ) -> None:
        self.repo = repository
        self.admission = admission
        self.allocator = allocator
        self.changes = changes
        self.clock = clock

    async def occupy(
        self,
        actor: Actor,
        place_id: int,
        items: Sequence[tuple[int, int]],
        start: datetime,
        end: datetime,
        notes: str,
    ) -> Booking:
        """Book ``items`` (resource id, quantity) of the place for the place itself, confirmed;
        ``409 slot_unavailable`` when a booking (or another session) holds them."""
        if actor.user_id is None:
            raise ForbiddenError(
                "A place's own bookings are made by a manager's account.",
                code="user_account_required",
            )
        check_range(start, end)
        wanted = sorted(dict(items).items())
        if not wanted or any(quantity < 1 for _, quantity in wanted):
            raise InvalidInputError("Name at least one resource.", field="resources")
        now = self.clock()
        rates = await self.admission.viewer_rates(actor, None)
        rids = [rid for rid, _ in wanted]
        try:
            ctx = await self.admission.context(actor, rids, rates, start, end, place_id)
        except NotFoundError as missing:
            raise InvalidInputError(str(missing.detail), field="resources") from missing
        if not ctx.manager:
            raise ForbiddenError(
                "Only the managers of the place occupy its resources.", code="not_a_manager"
            )
        for _, rid, problems in self.admission.problems(ctx, wanted, start, end, now):
            refused = [p for p in problems if p.code in REFUSED]
            if refused:
                raise problem_error(refused[0], extra={"resource_id": rid})
        booking = Booking(
            reference="",
            place_id=place_id,
            booker_user_id=actor.user_id,
            user_type_code=ctx.user_type,
            status=BookingStatus.CONFIRMED,
            starts_at=start,
            ends_at=end,
            notes=notes[:1000],
            created_at=now,
            updated_at=now,
        )
        new = await self.allocator.book(ctx, booking, wanted, now)
        assert new.booking.id is not None
        await self.repo.mark_place_use(new.booking.id)
        new.booking.place_use = True
        return new.booking

    async def release(self, booking_id: int, reason: str, actor: Actor | None = None) -> None:
        """Free the units of a place's own booking (its session is cancelled); again: nothing."""
        booking = await self.repo.get(booking_id, lock=True)
        if booking is None or not booking.place_use:
            raise NotFoundError(f"No place booking with id {booking_id}.", code="booking_not_found")
        if booking.status != BookingStatus.CONFIRMED:
            return
        await self.changes.move(
            booking,
            BookingStatus.CANCELLED,
            self.clock(),
            reason=reason,
            actor=actor,
            by_place=True,
        )
