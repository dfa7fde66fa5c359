"""Bookings read, made and changed: create, cancel, reschedule, approve, refuse, holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from booking.admission import (
    Admission,
    Booker,
    Context,
    check_range,
    parse_items,
    require_active,
    require_may_change,
    require_not_place_use,
)
from booking.allocation import Allocator, AlreadyBooked, NewBooking, StaleCopy
from booking.availability import Reason
from booking.changes import StateChanges
from booking.charging import ChargeGate, charge_request
from booking.copies import CatalogueCopies
from booking.models import Booking, BookingStatus
from booking.reads import BookingReader
from booking.repository import BookingRepository
from booking.schemas import BookingCreate, BookingPage, BookingRead, Reschedule
from kernel.auth.actor import Actor
from kernel.auth.rates import Rates
from kernel.clock import Clock
from kernel.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    OutcomeUnknownError,
)
from kernel.idempotency import HEADER, Claim, key_reused, settled


class Bookings:
    """What users, organisations and managers do with single bookings."""

    def __init__(
        self,
        repository: BookingRepository,
        copies: CatalogueCopies,
        admission: Admission,
        allocator: Allocator,
        changes: StateChanges,
        reader: BookingReader,
        clock: Clock,
        charges: ChargeGate,
    ) -> None:
        self.repo = repository
        self.charges = charges
        self.copies = copies
        self.admission = admission
        self.allocator = allocator
        self.changes = changes
        self.reader = reader
        self.clock = clock

    # reads --------------------------------------------------------------------------
    async def reads(self, bookings: Sequence[Booking]) -> list[BookingRead]:
        """Bookings as the API shows them."""
        return await self.reader.reads(bookings)

    async def get(self, actor: Actor, booking_id: int) -> BookingRead:
        """A booking its booker, their organisation or the place's managers may see."""
        return await self.reader.read(await self.reader.visible(actor, booking_id))

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
        self,
        actor: Actor,
        data: BookingCreate,
        *,
        alone: bool = False,
        checkout: bool = False,
        once: Claim | None = None,
        for_user: int | None = None,
        pay_by: str | None = None,
    ) -> BookingRead:
        """Book units of one or more resources of a place, atomically.

        ``alone``: the booking is the request's whole change (nothing is written after it), so
        it may be stored by one statement that commits on its own. ``checkout``: billing's
        checkout books, and records the payment itself; any other priced request is refused
        (``payment_required``) unless a manager of the place makes it (then recorded as due).
        ``once``: the request's idempotency key, claimed by the booking's own statement
        (:class:`booking.allocation.AlreadyBooked` when it booked before, also when the retry
        is refused by a rule the first request passed). ``for_user``: a manager of the place
        books for this person, at their rate (the front desk); ``pay_by``: how a manager's
        priced booking is to be paid (``on_site`` or ``invoice``).
        """
        try:
            return await self._create(
                actor,
                data,
                alone=alone,
                checkout=checkout,
                once=once,
                for_user=for_user,
                pay_by=pay_by,
            )
        except AppError as refusal:
            if once is None or isinstance(refusal, OutcomeUnknownError):
                raise
            await self._answered_before(once)
            raise

    async def _create(
        self,
        actor: Actor,
        data: BookingCreate,
        *,
        alone: bool,
        checkout: bool,
        once: Claim | None,
        for_user: int | None,
        pay_by: str | None,
    ) -> BookingRead:
        now = self.clock()
        items = parse_items(data.items)
        check_range(data.starts_at, data.ends_at)
        booker = (
            await self.admission.booker(actor, data.organisation_id)
            if for_user is None
            else await self.admission.booker_for(actor, for_user)
        )
        rids = [rid for rid, _ in items]
        start, end = data.starts_at, data.ends_at

        async def book(ctx: Context) -> NewBooking:
            if for_user is not None and not ctx.manager:
                raise ForbiddenError(
                    "Only the managers of the place book for someone else.",
                    code="not_a_manager",
                )
            booking = await self.admission.admit(
                ctx,
                booker,
                items,
                start,
                end,
                now,
                notes=data.notes,
                hold_minutes=data.hold_minutes,
            )
            charge = (
                None
                if checkout
                else await self.charges.unpaid(
                    self.repo.session,
                    charge_request(ctx, actor, booker, items, start, end, pay_by),
                )
            )
            new = await self.allocator.book(
                ctx, booking, items, now, alone=alone and charge is None, once=once
            )
            if charge is not None:
                await charge.record(new.booking, now)
            return new

        # First with the worker's kept copy of the catalogue, unread counter: the unit lock
        # reads it. A copy found out of date, or a refusal decided on a copy not yet confirmed
        # (and then found out of date), starts over from a fresh copy: nothing is written
        # before the lock, so only a few reads are done twice.
        ctx = await self.admission.context(
            actor, rids, booker.rates, start, end, confirm_later=True
        )
        try:
            new = await book(ctx)
        except OutcomeUnknownError:
            raise  # not a refusal: the booking may be stored, and the connection is gone
        except (StaleCopy, AppError) as exc:
            kept = ctx.unconfirmed_revision
            if kept is None or (isinstance(exc, AppError) and await self._still_current(kept)):
                raise  # decided on a current catalogue
            ctx = await self.admission.context(actor, rids, booker.rates, start, end)
            new = await book(ctx)
        return self.reader.new_read(ctx, new)

    async def _still_current(self, kept: int) -> bool:
        """Whether the catalogue copy a refusal was decided on is still the current one."""
        try:
            return await self.copies.revision() == kept
        except DBAPIError:
            # The database refused and ended the transaction (the exclusion constraint, inside
            # a larger change): decided there, not on the copy.
            return True

    async def _answered_before(self, once: Claim) -> None:
        """A keyed request refused: if its key already booked (the first answer was lost, and
        the retry now breaks a rule the first one passed), that booking is the answer."""
        try:
            record = await settled(self.repo.session, once)
        except DBAPIError:
            # The refusal came from the database and ended the transaction (a lost race on the
            # exclusion constraint, inside a larger change): a key that booked would have been
            # answered under the unit locks, so the refusal stands.
            return
        if record is None:
            return  # a new request: the refusal stands
        if record.fingerprint != once.fingerprint:
            raise key_reused(HEADER)
        raise AlreadyBooked(record.booking_id)

    async def cancel(
        self,
        actor: Actor,
        booking_id: int,
        reason: str = "",
        *,
        enforce_deadline: bool = True,
        refund_to: str | None = None,
    ) -> BookingRead:
        """Cancel a booking and free its units (users: before the place's deadline, unless
        their account is being erased: ``enforce_deadline`` False); ``refund_to`` "wallet":
        the refund goes to the booker's wallet at the place."""
        now = self.clock()
        booking = await self.reader.visible(actor, booking_id, lock=True)
        require_may_change(actor, booking)
        require_not_place_use(booking)
        await self.changes.expire_if_lapsed(booking, now)
        require_active(booking)
        if enforce_deadline:
            await self.admission.check_deadline(actor, booking, now)
        await self.changes.cancel(actor, booking, now, reason, refund_to)
        return await self.reader.read(booking)

    async def reschedule(self, actor: Actor, booking_id: int, data: Reschedule) -> BookingRead:
        """Move a booking; if the new range cannot be booked the old one is kept."""
        now = self.clock()
        booking = await self.reader.visible(actor, booking_id)
        require_may_change(actor, booking)
        require_not_place_use(booking)
        require_active(booking)
        check_range(data.starts_at, data.ends_at)
        assert booking.id is not None
        item_rows = (await self.repo.items_of([booking.id]))[booking.id]
        items = sorted((i.resource_id, i.quantity) for i in item_rows)
        booker = Booker(
            booking.booker_user_id, booking.organisation_id, Rates(booking.user_type_code)
        )
        ctx = await self.admission.context(
            actor,
            [rid for rid, _ in items],
            booking.user_type_code,
            data.starts_at,
            data.ends_at,
            place_id=booking.place_id,
        )
        await self.admission.check_deadline(actor, booking, now)
        await self.admission.check_rules(ctx, booker, items, data.starts_at, data.ends_at, now)
        await self.admission.check_quota(
            ctx, booker, items, data.starts_at, data.ends_at, now, exclude_booking_id=booking.id
        )
        approval = self.admission.needs_approval(ctx, items)
        # What the booking becomes, for the allocator: the new range, and no hold once it
        # awaits approval.
        target = Booking(
            **{
                **booking.model_dump(),
                "starts_at": data.starts_at,
                "ends_at": data.ends_at,
                "hold_expires_at": (
                    None
                    if approval and booking.status != BookingStatus.PENDING_APPROVAL
                    else booking.hold_expires_at
                ),
            }
        )
        await self.allocator.move(ctx, booking.id, target, items, now)
        booking = await self.reader.visible(actor, booking_id, lock=True)
        assert booking.id is not None
        await self.changes.expire_if_lapsed(booking, now)
        require_active(booking)
        moved_from = (booking.starts_at, booking.ends_at)
        booking.starts_at = data.starts_at
        booking.ends_at = data.ends_at
        # Billing hears of the move (re-prices it, and may refuse it) in this transaction.
        if approval and booking.status != BookingStatus.PENDING_APPROVAL:
            await self.changes.move(
                booking,
                BookingStatus.PENDING_APPROVAL,
                now,
                actor=actor,
                moved_from=moved_from,
                pay_difference=data.pay_difference,
            )
        else:
            await self.changes.retimed(
                booking,
                now,
                moved_from=moved_from,
                actor=actor,
                pay_difference=data.pay_difference,
            )
            if booking.hold_expires_at is None and target.hold_expires_at is not None:
                await self.repo.clear_hold(booking.id)  # paid meanwhile: the hold is over
        return await self.reader.read(booking)

    async def _managed(self, actor: Actor, booking_id: int) -> Booking:
        booking = await self.reader.visible(actor, booking_id, lock=True)
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
        await self.changes.move(
            booking, BookingStatus.CONFIRMED, now, reason=reason, actor=actor, by_place=True
        )
        return await self.reader.read(booking)

    async def refuse(self, actor: Actor, booking_id: int, reason: str = "") -> BookingRead:
        """Refuse a booking awaiting approval and free its units."""
        now = self.clock()
        booking = await self._managed(actor, booking_id)
        await self.changes.move(
            booking, BookingStatus.REFUSED, now, reason=reason, actor=actor, by_place=True
        )
        return await self.reader.read(booking)

    async def confirm_hold(self, booking_id: int) -> BookingRead:
        """Turn a hold into a confirmed booking (billing calls this once paid, before expiry)."""
        now = self.clock()
        booking = await self.repo.get(booking_id, lock=True)
        if booking is None:
            raise NotFoundError(f"No booking with id {booking_id}.", code="booking_not_found")
        await self.changes.expire_if_lapsed(booking, now)
        if booking.status != BookingStatus.HELD:
            raise ConflictError(
                f"This booking is {booking.status.replace('_', ' ')}, not held.",
                code="booking_not_held",
                extra={"booking_status": booking.status},
            )
        await self.changes.move(booking, BookingStatus.CONFIRMED, now)
        return await self.reader.read(booking)

    async def release_expired_holds(self, now: datetime | None = None) -> int:
        """Mark every lapsed hold expired and free its units; return how many (for the CLI)."""
        now = now or self.clock()
        return len(await self.changes.expire_lapsed(await self.repo.lapsed_holds(now), now))
