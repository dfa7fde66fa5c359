"""The waitlist of full slots: join, leave, list; offers when units free up; accept an offer.

An offer is a booking held for the first waiting entry whose range fits, made through the
normal write path (admission, the charge gate, the allocator: ``book_units()``), its hold
lasting the place's ``waitlist_offer_minutes``. Offers are made by :meth:`Waitlist.handle`,
which the workers call for each event that frees units (``booking.cancelled``, ``.expired``,
``.refused``, ``.rescheduled``, ``blackout.lifted``) and for the fate of an offer's booking
(confirmed: booked; expired: lapsed, and the units go to the next in line). Each event is
handled once (its key is claimed in the same transaction as the work it does), and each entry
is locked before it is offered, so two workers freeing two units make two offers to two
entries, never two to one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from accounts.identity import actor_for_user
from booking.admission import Admission, Booker, Context, Items, check_range
from booking.allocation import Allocator
from booking.availability import Reason
from booking.changes import StateChanges
from booking.charging import ChargeGate, charge_request
from booking.models import BookingStatus
from booking.repository import BookingRepository
from booking.waitlist import LIVE_STATUSES, WaitlistEntry, WaitlistStatus
from booking.waitlist_reads import WaitlistReader
from booking.waitlist_repository import WaitlistRepository
from booking.waitlist_schemas import WaitlistEntryRead, WaitlistJoin
from kernel import events
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import AppError, ConflictError, NotFoundError

logger = logging.getLogger("mutualab.waitlist")

OFFERED_EVENT = "waitlist.offered"
BLACKOUT_LIFTED = "blackout.lifted"
# Booking events whose booking's units (or, for a move, its old range's) are free again.
FREEING = frozenset(
    {
        "booking.cancelled",
        "booking.expired",
        "booking.refused",
        "booking.rescheduled",
        "booking.no_show",
    }
)
# What becomes of an offered entry when its booking reaches a status.
OFFER_OUTCOMES = {
    "booking.confirmed": WaitlistStatus.BOOKED,
    "booking.pending_approval": WaitlistStatus.BOOKED,
    "booking.expired": WaitlistStatus.LAPSED,
    "booking.cancelled": WaitlistStatus.WITHDRAWN,
    "booking.refused": WaitlistStatus.WITHDRAWN,
}
# The events the waitlist subscribes to (kernel.events.Subscribers).
SUBSCRIBED = (*sorted(FREEING), "booking.confirmed", "booking.pending_approval", BLACKOUT_LIFTED)


class SlotAvailable(ConflictError):
    """The slot has free units: book it rather than wait."""

    code = "slot_available"


class Waitlist:
    """Waitlists of full slots, and the offers made when units free up."""

    def __init__(
        self,
        repository: WaitlistRepository,
        reader: WaitlistReader,
        bookings: BookingRepository,
        admission: Admission,
        allocator: Allocator,
        changes: StateChanges,
        clock: Clock,
        charges: ChargeGate,
    ) -> None:
        self.repo = repository
        self.reader = reader
        self.bookings = bookings
        self.admission = admission
        self.allocator = allocator
        self.changes = changes
        self.clock = clock
        self.charges = charges

    # reads ------------------------------------------------------------------------------
    async def mine(self, actor: Actor) -> list[WaitlistEntryRead]:
        """The caller's entries: live ones first."""
        if actor.user_id is None:
            return []
        return await self.reader.reads(await self.repo.of_user(actor.user_id))

    async def _visible(self, actor: Actor, entry_id: int, *, lock: bool = False) -> WaitlistEntry:
        """An entry its person or the place's managers may see; another's is a 404."""
        entry = await self.repo.get(entry_id, lock=lock)
        if entry is None or not (entry.user_id == actor.user_id or actor.manages(entry.place_id)):
            raise NotFoundError(
                f"No waitlist entry with id {entry_id}.", code="waitlist_entry_not_found"
            )
        return entry

    # the person's writes ----------------------------------------------------------------
    async def join(self, actor: Actor, data: WaitlistJoin) -> tuple[WaitlistEntryRead, bool]:
        """Wait for a full slot; the entry and whether it is new (joining twice returns the
        first). ``slot_available`` (409) when the slot can be booked now."""
        now = self.clock()
        check_range(data.starts_at, data.ends_at)
        booker = await self.admission.booker(actor, data.organisation_id)
        items: Items = [(data.resource_id, data.quantity)]
        ctx = await self.admission.context(
            actor, [data.resource_id], booker.rates, data.starts_at, data.ends_at
        )
        if not await self._full(ctx, booker, items, data.starts_at, data.ends_at, now):
            raise SlotAvailable(
                "This slot has free units: book it rather than wait.",
                extra={"resource_id": data.resource_id},
            )
        assert ctx.place.id is not None and actor.user_id is not None
        entry = WaitlistEntry(
            place_id=ctx.place.id,
            resource_id=data.resource_id,
            quantity=data.quantity,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            user_id=actor.user_id,
            organisation_id=data.organisation_id,
            status=WaitlistStatus.WAITING,
            created_at=now,
            updated_at=now,
        )
        # Twice at most: a live entry met by the first insert may have been left meanwhile.
        for _ in range(2):
            if await self.repo.insert_live(entry):
                return (await self.reader.reads([entry]))[0], True
            found = await self.repo.live_of(
                actor.user_id, data.resource_id, data.starts_at, data.ends_at
            )
            if found is not None:
                return (await self.reader.reads([found]))[0], False
        raise ConflictError("This waitlist changed meanwhile: try again.", code="busy")

    async def full(
        self, actor: Actor, resource_id: int, quantity: int, start: datetime, end: datetime
    ) -> bool:
        """Whether the actor could wait for this slot: it follows every rule but is full (or
        out of service). False for a slot they may book now, or may never book."""
        now = self.clock()
        items: Items = [(resource_id, quantity)]
        try:
            check_range(start, end)
            booker = await self.admission.booker(actor, None)
            ctx = await self.admission.context(actor, [resource_id], booker.rates, start, end)
            return await self._full(ctx, booker, items, start, end, now)
        except AppError:
            return False

    async def _full(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> bool:
        """Whether a request that follows the rules finds its slot full (or out of service);
        raises the refusal of a request that does not."""
        # Every rule but blackouts: a slot out of service is full too, and comes back when
        # the blackout is lifted.
        blackouts, ctx.blackouts = ctx.blackouts, {}
        try:
            await self.admission.check_rules(ctx, booker, items, start, end, now)
        finally:
            ctx.blackouts = blackouts
        [(resource_id, quantity)] = items
        if blackouts.get(resource_id):
            return True
        return await self._free_units(ctx, resource_id, start, end, now) < quantity

    async def _free_units(
        self, ctx: Context, resource_id: int, start: datetime, end: datetime, now: datetime
    ) -> int:
        """Units of the resource free for the whole range (its cool-down included)."""
        blocked_until = ctx.blocked_until(end, [resource_id])[resource_id]
        busy = await self.bookings.busy([resource_id], start, blocked_until, now)
        taken = {unit_id for rid, unit_id, _, _ in busy if rid == resource_id}
        return sum(1 for unit in ctx.units[resource_id] if unit.id not in taken)

    async def leave(self, actor: Actor, entry_id: int) -> WaitlistEntryRead:
        """Leave a waitlist (its person, or a manager of the place); an offer's held booking
        is cancelled, and its units go to the next in line."""
        now = self.clock()
        entry = await self._visible(actor, entry_id, lock=True)
        if entry.status not in LIVE_STATUSES:
            raise ConflictError(
                f"This entry is {entry.status} already.",
                code="waitlist_entry_closed",
                extra={"waitlist_status": entry.status},
            )
        if entry.status == WaitlistStatus.OFFERED and entry.offer_booking_id is not None:
            booking = await self.bookings.get(entry.offer_booking_id, lock=True)
            if booking is not None:
                await self.changes.expire_if_lapsed(booking, now)
                if booking.status == BookingStatus.HELD:
                    await self.changes.cancel(actor, booking, now, "waitlist offer declined")
        self._close(entry, WaitlistStatus.WITHDRAWN, now)
        await self.repo.add(entry)
        return (await self.reader.reads([entry]))[0]

    async def accept(self, actor: Actor, entry_id: int) -> WaitlistEntryRead:
        """Book an offer at one click: its held booking is confirmed (an offer holds only
        what may be booked without paying now: a free slot, or one payable on site)."""
        now = self.clock()
        entry = await self._visible(actor, entry_id, lock=True)
        if entry.status != WaitlistStatus.OFFERED or entry.offer_booking_id is None:
            raise ConflictError(
                "This entry has no offer to accept.",
                code="waitlist_not_offered",
                extra={"waitlist_status": entry.status},
            )
        booking = await self.bookings.get(entry.offer_booking_id, lock=True)
        if booking is None:
            raise ConflictError("The offer's booking is gone.", code="waitlist_not_offered")
        await self.changes.expire_if_lapsed(booking, now)
        if booking.status != BookingStatus.HELD:
            raise ConflictError(
                f"The offer's booking is {booking.status.replace('_', ' ')}.",
                code="waitlist_offer_lapsed",
                extra={"booking_status": booking.status},
            )
        await self.changes.move(booking, BookingStatus.CONFIRMED, now)
        self._close(entry, WaitlistStatus.BOOKED, now)
        await self.repo.add(entry)
        return (await self.reader.reads([entry]))[0]

    @staticmethod
    def _close(entry: WaitlistEntry, status: WaitlistStatus, now: datetime) -> None:
        entry.status = status
        entry.updated_at = now

    # events -----------------------------------------------------------------------------
    async def handle(self, name: str, key: str, data: dict[str, object]) -> list[int]:
        """Handle one published event (once per key): an offer's fate, then offers for the
        units it freed. The ids of the entries offered."""
        now = self.clock()
        if not await self.repo.claim_event(key, now):
            return []
        if name == BLACKOUT_LIFTED:
            return await self.offer(
                [_int(data["resource_id"])],
                _instant(data["starts_at"]),
                _instant(data["ends_at"]),
                now,
            )
        booking_id = _int(data["booking_id"])
        entry = await self.repo.of_offer(booking_id, lock=True)
        outcome = OFFER_OUTCOMES.get(name)
        if entry is not None and entry.status == WaitlistStatus.OFFERED and outcome is not None:
            self._close(entry, outcome, now)
            await self.repo.add(entry)
        if name not in FREEING:
            return []
        booking = await self.bookings.get(booking_id)
        if booking is None:
            return []
        moved = data.get("moved_from")
        if name == "booking.rescheduled" and isinstance(moved, list) and len(moved) == 2:
            start, end = _instant(moved[0]), _instant(moved[1])
        else:
            start, end = booking.starts_at, booking.ends_at
        items = (await self.bookings.items_of([booking_id]))[booking_id]
        return await self.offer([i.resource_id for i in items], start, end, now)

    async def offer(
        self, resource_ids: Sequence[int], start: datetime, end: datetime, now: datetime
    ) -> list[int]:
        """Offer the units freed over ``[start, end)`` to the waiting entries in line, each
        locked and checked first (another worker may have offered it meanwhile)."""
        offered = []
        for entry_id in await self.repo.line(resource_ids, start, end, now):
            entry = await self.repo.get(entry_id, lock=True)
            if entry is None or entry.status != WaitlistStatus.WAITING:
                continue
            if await self._offer(entry, now):
                assert entry.id is not None
                offered.append(entry.id)
        return offered

    async def _offer(self, entry: WaitlistEntry, now: datetime) -> bool:
        """Hold the entry's units for its person (the normal write path, in a savepoint: a
        refusal changes nothing); whether it was offered."""
        assert entry.id is not None
        user = (await self.bookings.users([entry.user_id])).get(entry.user_id)
        if user is None:
            return False
        session = self.repo.session
        actor = await actor_for_user(session, user, can_write=True, via="waitlist")
        items: Items = [(entry.resource_id, entry.quantity)]
        try:
            async with session.begin_nested():
                booker = await self.admission.booker(actor, entry.organisation_id)
                ctx = await self.admission.context(
                    actor, [entry.resource_id], booker.rates, entry.starts_at, entry.ends_at
                )
                # Held for the place's time, but never past the start (it would hold nothing).
                until_start = int((entry.starts_at - now).total_seconds() // 60)
                minutes = max(1, min(ctx.place.waitlist_offer_minutes, until_start))
                booking = await self.admission.admit(
                    ctx,
                    booker,
                    items,
                    entry.starts_at,
                    entry.ends_at,
                    now,
                    hold_minutes=minutes,
                )
                if booking.status != BookingStatus.HELD:
                    # Awaiting approval: an offer is a hold the person confirms themselves.
                    raise ConflictError("needs approval", code="approval_required")
                # The place makes the offer: a priced one is held with its payment due at the
                # place (or on invoice), as a manager's booking is, never without a payment.
                assert ctx.place.id is not None
                by_place = replace(
                    actor, managed_place_ids=actor.managed_place_ids | {ctx.place.id}
                )
                charge = await self.charges.unpaid(
                    session,
                    charge_request(ctx, by_place, booker, items, entry.starts_at, entry.ends_at),
                )
                new = await self.allocator.book(ctx, booking, items, now)
                if charge is not None:
                    await charge.record(new.booking, now)
        except AppError as exc:
            if exc.code != Reason.SLOT_UNAVAILABLE:
                logger.info("waitlist entry %s not offered: %s", entry.id, exc.code)
            return False
        assert new.booking.id is not None
        expires = now + timedelta(minutes=minutes)
        entry.status = WaitlistStatus.OFFERED
        entry.offer_booking_id = new.booking.id
        entry.offered_at = now
        entry.offer_expires_at = new.booking.hold_expires_at or expires
        entry.updated_at = now
        await self.repo.add(entry)
        await events.publish(
            session,
            OFFERED_EVENT,
            {
                "entry_id": entry.id,
                "booking_id": new.booking.id,
                "user_id": entry.user_id,
                "place_id": entry.place_id,
                "expires_at": entry.offer_expires_at.isoformat(),
            },
            key=f"waitlist.{entry.id}.offered.{new.booking.id}",
        )
        return True


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not an id: {value!r}")
    return int(value)


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not an instant: {value!r}")
    return datetime.fromisoformat(value)
