"""Reads of bookings and what changes them: create, cancel, reschedule, approve, refuse,
holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from booking.availability import Reason
from booking.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
)
from booking.rules import (
    cancellable_by_user,
    effective_policy,
)
from booking.schemas import (
    BookingCreate,
    BookingPage,
    BookingRead,
    ItemRead,
    Reschedule,
)
from booking.service.base import BookingBase
from booking.service.kernel import (
    Booker,
    Context,
    NewBooking,
    _columns,
    _local,
    _StaleCopy,
)
from kernel.auth.actor import Actor
from kernel.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    OutcomeUnknownError,
)


class BookingsPart(BookingBase):
    """Bookings read, made and changed."""

    # reads --------------------------------------------------------------------------
    def status_of(self, booking: Booking, now: datetime) -> str:
        """The status as callers should see it: a lapsed hold is expired even before a sweep."""
        if (
            booking.status == BookingStatus.HELD
            and booking.hold_expires_at is not None
            and booking.hold_expires_at <= now
        ):
            return BookingStatus.EXPIRED
        return booking.status

    async def reads(self, bookings: Sequence[Booking]) -> list[BookingRead]:
        """Bookings as the API shows them."""
        if not bookings:
            return []
        now = self.clock()
        ids = [b.id for b in bookings if b.id is not None]
        items = await self.repo.items_of(ids)
        allocations = await self.repo.allocations_of(ids)
        resources = await self.catalogue.resources_by_ids(
            [i.resource_id for found in items.values() for i in found]
        )
        units = await self.catalogue.units_by_ids(
            [a.unit_id for found in allocations.values() for a in found]
        )
        places = await self.catalogue.places_by_ids([b.place_id for b in bookings])
        result = []
        for booking in bookings:
            assert booking.id is not None
            tz = ZoneInfo(places[booking.place_id].timezone)
            item_reads = [
                ItemRead(
                    resource_id=item.resource_id,
                    resource_name=resources[item.resource_id].name,
                    quantity=item.quantity,
                    units=[
                        units[a.unit_id].label
                        for a in allocations[booking.id]
                        if a.item_id == item.id and a.unit_id in units
                    ],
                )
                for item in items[booking.id]
            ]
            result.append(
                BookingRead.model_validate(
                    {
                        **_columns(booking, BookingRead),
                        "status": self.status_of(booking, now),
                        "timezone": tz.key,
                        "local_starts_at": _local(booking.starts_at, tz),
                        "local_ends_at": _local(booking.ends_at, tz),
                        "items": item_reads,
                    }
                )
            )
        return result

    async def read(self, booking: Booking) -> BookingRead:
        """One booking as the API shows it."""
        return (await self.reads([booking]))[0]

    @staticmethod
    def _can_see(actor: Actor, booking: Booking) -> bool:
        return (
            actor.is_admin
            or booking.booker_user_id == actor.user_id
            or actor.manages(booking.place_id)
            or (
                booking.organisation_id is not None
                and booking.organisation_id in actor.organisation_roles
            )
        )

    @staticmethod
    def _may_change(actor: Actor, booking: Booking) -> None:
        if (
            booking.booker_user_id == actor.user_id
            or actor.manages(booking.place_id)
            or (booking.organisation_id is not None and actor.administers(booking.organisation_id))
        ):
            return
        raise ForbiddenError(
            "Only the booker, an administrator of the organisation or a manager of the place "
            "may change this booking.",
            code="not_your_booking",
        )

    async def _visible(self, actor: Actor, booking_id: int, *, lock: bool = False) -> Booking:
        booking = await self.repo.get(booking_id, lock=lock)
        if booking is None or not self._can_see(actor, booking):
            # Not yours and not your place's: it does not exist for you.
            raise NotFoundError(f"No booking with id {booking_id}.", code="booking_not_found")
        return booking

    async def get(self, actor: Actor, booking_id: int) -> BookingRead:
        """A booking its booker, their organisation or the place's managers may see."""
        return await self.read(await self._visible(actor, booking_id))

    async def list_mine(
        self,
        actor: Actor,
        start: datetime | None,
        end: datetime | None,
        statuses: Sequence[str] | None,
        limit: int,
        offset: int,
    ) -> BookingPage:
        """The bookings the actor made (personal and on behalf of organisations)."""
        if actor.user_id is None:
            return BookingPage(items=[], total=0, limit=limit, offset=offset)
        rows, total = await self.repo.page(
            booker_user_id=actor.user_id,
            start=start,
            end=end,
            statuses=statuses,
            limit=limit,
            offset=offset,
        )
        return BookingPage(items=await self.reads(rows), total=total, limit=limit, offset=offset)

    async def list_organisation(
        self,
        actor: Actor,
        organisation_id: int,
        start: datetime | None,
        end: datetime | None,
        statuses: Sequence[str] | None,
        limit: int,
        offset: int,
    ) -> BookingPage:
        """Bookings made on behalf of an organisation, for its members."""
        if not actor.member_of(organisation_id) or (
            await self.repo.organisation(organisation_id) is None
        ):
            raise NotFoundError(
                f"No organisation with id {organisation_id}.", code="organisation_not_found"
            )
        rows, total = await self.repo.page(
            organisation_id=organisation_id,
            start=start,
            end=end,
            statuses=statuses,
            limit=limit,
            offset=offset,
        )
        return BookingPage(items=await self.reads(rows), total=total, limit=limit, offset=offset)

    # writes -------------------------------------------------------------------------
    async def create(
        self, actor: Actor, data: BookingCreate, *, alone: bool = False
    ) -> BookingRead:
        """Book units of one or more resources of a place, atomically.

        ``alone``: the booking is the request's whole change (nothing is written after it), so
        it may be stored by one statement that commits on its own.
        """
        now = self.clock()
        items = self._items(data.items)
        self._check_range(data.starts_at, data.ends_at)
        booker = await self._booker(actor, data.organisation_id)
        rids = [rid for rid, _ in items]
        start, end = data.starts_at, data.ends_at

        async def book(ctx: Context) -> NewBooking:
            return await self._book(
                ctx,
                booker,
                items,
                start,
                end,
                now,
                notes=data.notes,
                hold_minutes=data.hold_minutes,
                alone=alone,
            )

        # First with the worker's kept copy of the catalogue, unread counter: the unit lock
        # reads it. A copy found out of date, or a refusal decided on a copy not yet confirmed
        # (and then found out of date), starts over from a fresh copy: nothing is written
        # before the lock, so only a few reads are done twice.
        ctx = await self._context(
            actor, rids, booker.user_type_code, start, end, confirm_later=True
        )
        try:
            new = await book(ctx)
        except OutcomeUnknownError:
            raise  # not a refusal: the booking may be stored, and the connection is gone
        except (_StaleCopy, AppError) as exc:
            kept = ctx.unconfirmed_revision
            if kept is None or (isinstance(exc, AppError) and await self._revision() == kept):
                raise  # decided on a current catalogue
            ctx = await self._context(actor, rids, booker.user_type_code, start, end)
            new = await book(ctx)
        return self._new_read(ctx, new)

    async def _expire_if_due(self, booking: Booking, now: datetime) -> None:
        if (
            self.status_of(booking, now) == BookingStatus.EXPIRED
            and booking.status == BookingStatus.HELD
        ):
            await self._move(booking, BookingStatus.EXPIRED, now)

    @staticmethod
    def _require_active(booking: Booking) -> None:
        if booking.status not in ACTIVE_STATUSES:
            raise ConflictError(
                f"This booking is {booking.status.replace('_', ' ')}.",
                code="booking_not_active",
                extra={"booking_status": booking.status},
            )

    async def _deadline_hours(self, booking: Booking) -> int:
        assert booking.id is not None
        items = (await self.repo.items_of([booking.id]))[booking.id]
        resources = await self.catalogue.resources_by_ids([i.resource_id for i in items])
        policies = await self.repo.policies_of(booking.place_id)
        return max(
            effective_policy(
                policies, resources[i.resource_id], booking.user_type_code
            ).cancel_deadline_hours
            for i in items
        )

    async def _check_deadline(self, actor: Actor, booking: Booking, now: datetime) -> None:
        # Holds and requests awaiting approval can always be withdrawn; managers always may.
        if booking.status != BookingStatus.CONFIRMED or actor.manages(booking.place_id):
            return
        hours = await self._deadline_hours(booking)
        if not cancellable_by_user(now, booking.starts_at, hours):
            raise ConflictError(
                f"Bookings can be cancelled or moved until {hours} hours before they start; "
                "contact the place.",
                code="cancellation_deadline_passed",
                extra={
                    "deadline_hours": hours,
                    "deadline": (booking.starts_at - timedelta(hours=hours)).isoformat(),
                },
            )

    async def _cancel_row(self, actor: Actor, booking: Booking, now: datetime, reason: str) -> None:
        by_place = actor.manages(booking.place_id) and actor.user_id != booking.booker_user_id
        await self._move(
            booking, BookingStatus.CANCELLED, now, reason=reason, actor=actor, by_place=by_place
        )

    async def cancel(self, actor: Actor, booking_id: int, reason: str = "") -> BookingRead:
        """Cancel a booking and free its units (users: before the place's deadline)."""
        now = self.clock()
        booking = await self._visible(actor, booking_id, lock=True)
        self._may_change(actor, booking)
        await self._expire_if_due(booking, now)
        self._require_active(booking)
        await self._check_deadline(actor, booking, now)
        await self._cancel_row(actor, booking, now, reason)
        return await self.read(booking)

    async def reschedule(self, actor: Actor, booking_id: int, data: Reschedule) -> BookingRead:
        """Move a booking; if the new range cannot be booked the old one is kept."""
        now = self.clock()
        booking = await self._visible(actor, booking_id)
        self._may_change(actor, booking)
        self._require_active(booking)
        self._check_range(data.starts_at, data.ends_at)
        assert booking.id is not None
        item_rows = (await self.repo.items_of([booking.id]))[booking.id]
        items = sorted((i.resource_id, i.quantity) for i in item_rows)
        booker = Booker(booking.booker_user_id, booking.organisation_id, booking.user_type_code)
        ctx = await self._context(
            actor,
            [rid for rid, _ in items],
            booking.user_type_code,
            data.starts_at,
            data.ends_at,
            place_id=booking.place_id,
        )
        await self._check_deadline(actor, booking, now)
        await self._check_rules(ctx, booker, items, data.starts_at, data.ends_at, now)
        await self._check_quota(
            ctx, booker, items, data.starts_at, data.ends_at, now, exclude_booking_id=booking.id
        )
        # What the booking becomes, for the allocator: the new range, and no hold once it
        # awaits approval.
        approval = (
            self._needs_approval(ctx, items) and booking.status != BookingStatus.PENDING_APPROVAL
        )
        target = Booking(
            **{
                **booking.model_dump(),
                "starts_at": data.starts_at,
                "ends_at": data.ends_at,
                "hold_expires_at": None if approval else booking.hold_expires_at,
            }
        )
        blocked_until = ctx.blocked_until(data.ends_at, [rid for rid, _ in items])
        try:
            # The units first (the allocator locks them and moves the allocations), then the
            # booking row: the order every writer uses. A refusal leaves the old range booked.
            async with self.repo.session.begin_nested():
                await self._allocate(
                    ctx, target, items, blocked_until, now, alone=False, move=booking.id
                )
        except IntegrityError as exc:
            raise self._lost_race(exc) from exc
        booking = await self._visible(actor, booking_id, lock=True)
        assert booking.id is not None
        await self._expire_if_due(booking, now)
        self._require_active(booking)
        booking.starts_at = data.starts_at
        booking.ends_at = data.ends_at
        if self._needs_approval(ctx, items) and booking.status != BookingStatus.PENDING_APPROVAL:
            await self._move(booking, BookingStatus.PENDING_APPROVAL, now, actor=actor)
        else:
            booking.sequence += 1  # same status, new times: a new calendar SEQUENCE
            booking.updated_at = now
            await self.repo.add(booking)
            if booking.hold_expires_at is None and target.hold_expires_at is not None:
                await self.repo.clear_hold(booking.id)  # paid meanwhile: the hold is over
        return await self.read(booking)

    async def _managed(self, actor: Actor, booking_id: int) -> Booking:
        booking = await self._visible(actor, booking_id, lock=True)
        if not actor.manages(booking.place_id):
            raise ForbiddenError(
                "Only the managers of the place may decide on this booking.",
                code="not_a_manager",
            )
        if booking.status != BookingStatus.PENDING_APPROVAL:
            raise ConflictError(
                f"Only bookings awaiting approval can be decided; this one is {booking.status}.",
                code="booking_not_pending",
                extra={"booking_status": booking.status},
            )
        return booking

    async def approve(self, actor: Actor, booking_id: int, reason: str = "") -> BookingRead:
        """Confirm a booking awaiting approval (its units were held all along)."""
        now = self.clock()
        booking = await self._managed(actor, booking_id)
        assert booking.id is not None
        items = (await self.repo.items_of([booking.id]))[booking.id]
        allocations = (await self.repo.allocations_of([booking.id]))[booking.id]
        if sum(a.active for a in allocations) != sum(i.quantity for i in items):
            raise ConflictError(
                "Some units of this booking are no longer held.", code=Reason.SLOT_UNAVAILABLE
            )
        await self._move(
            booking, BookingStatus.CONFIRMED, now, reason=reason, actor=actor, by_place=True
        )
        return await self.read(booking)

    async def refuse(self, actor: Actor, booking_id: int, reason: str = "") -> BookingRead:
        """Refuse a booking awaiting approval and free its units."""
        now = self.clock()
        booking = await self._managed(actor, booking_id)
        assert booking.id is not None
        await self._move(
            booking, BookingStatus.REFUSED, now, reason=reason, actor=actor, by_place=True
        )
        return await self.read(booking)

    async def confirm_hold(self, booking_id: int) -> BookingRead:
        """Turn a hold into a confirmed booking (billing calls this once paid, before expiry)."""
        now = self.clock()
        booking = await self.repo.get(booking_id, lock=True)
        if booking is None:
            raise NotFoundError(f"No booking with id {booking_id}.", code="booking_not_found")
        await self._expire_if_due(booking, now)
        if booking.status != BookingStatus.HELD:
            raise ConflictError(
                f"This booking is {booking.status.replace('_', ' ')}, not held.",
                code="booking_not_held",
                extra={"booking_status": booking.status},
            )
        assert booking.id is not None
        await self._move(booking, BookingStatus.CONFIRMED, now)
        return await self.read(booking)

    async def release_expired_holds(self, now: datetime | None = None) -> int:
        """Mark every lapsed hold expired and free its units; return how many (for the CLI)."""
        now = now or self.clock()
        return len(await self._expire_lapsed(await self.repo.lapsed_holds(now), now))
