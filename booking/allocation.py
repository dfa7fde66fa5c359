"""The allocator: the one write path of a booking's units.

One call of ``book_units()`` (a PL/pgSQL function, migrations 0007 and 0009) locks the units of
the requested resources in id order (under ``lock_timeout``), confirms the catalogue copy the
booking was checked against, expires the lapsed holds in the way, reads what is busy, picks
free units lowest position first and inserts the booking (or moves a stored one). Create,
checkout (which creates), series occurrences and reschedule all come here. The exclusion
constraint of ``booking_allocation`` stays behind it: a violation is a 409
``slot_unavailable``, never a 500.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from booking.admission import Context, Items
from booking.availability import Reason
from booking.changes import StateChanges
from booking.models import Booking
from booking.repository import BookingRepository, BookOutcome, Draft, is_exclusion_violation
from kernel.errors import AppError, ConflictError, ForbiddenError, InvalidInputError
from kernel.idempotency import HEADER, Claim, in_progress, key_reused
from resources.models import ResourceUnit
from resources.service import CatalogueService

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
REFERENCE_ATTEMPTS = 5  # 32**6 references: a clash is rare, five in a row never happens


def new_reference() -> str:
    """A short, random, human-friendly booking reference such as ``MLB-7K3Q9D``."""
    # One read of the system's randomness for the six characters (not one each): 256 is a
    # multiple of the alphabet's 32 letters, so every letter stays equally likely.
    return "MLB-" + "".join(REFERENCE_ALPHABET[byte % 32] for byte in secrets.token_bytes(6))


class StaleCopy(Exception):
    """The kept catalogue copy a booking started from is older than the catalogue."""


class AlreadyBooked(Exception):
    """The request's idempotency key already made a booking: the answer is that booking (or,
    ``booking_id`` None, the answer kept with the key)."""

    def __init__(self, booking_id: int | None) -> None:
        super().__init__(booking_id)
        self.booking_id = booking_id


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A booking just inserted, with what was decided for it."""

    booking: Booking
    items: Items
    units: dict[int, list[ResourceUnit]]  # units of each resource, at least those picked
    picked: dict[int, list[int]]  # resource id -> unit ids allocated


def lost_race(exc: IntegrityError) -> AppError:
    """A refusal by the exclusion constraint as the 409 it is; any other error re-raised."""
    if is_exclusion_violation(exc):
        return ConflictError(
            "Someone booked these units a moment ago.", code=Reason.SLOT_UNAVAILABLE
        )
    raise exc


class Allocator:
    """Stores bookings on free units; tells ``changes`` of the lapsed holds it expired."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        changes: StateChanges,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.changes = changes

    async def book(
        self,
        ctx: Context,
        booking: Booking,
        items: Items,
        now: datetime,
        *,
        alone: bool = False,
        once: Claim | None = None,
    ) -> NewBooking:
        """Insert ``booking`` (drafted by :meth:`booking.admission.Admission.admit`) on free
        units of ``items``; it gets its id and reference.

        ``once``: the request's idempotency key, claimed by the same call (a keyed booking is
        two statements too); a key that already booked raises :class:`AlreadyBooked`.

        ``alone``: the booking is the request's whole change (nothing is written after it), so
        the call may commit on its own: a plain booking is then two statements, the
        credentials and this. A lost race on the exclusion constraint becomes
        ``slot_unavailable`` and leaves the transaction unusable: a caller that goes on after
        a refusal (a series) wraps each call in a savepoint of its own.
        """
        blocked_until = ctx.blocked_until(booking.ends_at, [rid for rid, _ in items])
        try:
            return await self._allocate(
                ctx, booking, items, blocked_until, now, alone=alone, once=once
            )
        except IntegrityError as exc:
            raise lost_race(exc) from exc

    async def move(
        self, ctx: Context, booking_id: int, target: Booking, items: Items, now: datetime
    ) -> None:
        """Move the units of stored booking ``booking_id`` to ``target``'s range (its
        allocations replaced on its items), in a savepoint: a refusal leaves the old range
        booked. The caller then updates the booking row (units first, then the row: the order
        every writer uses)."""
        blocked_until = ctx.blocked_until(target.ends_at, [rid for rid, _ in items])
        try:
            async with self.repo.session.begin_nested():
                await self._allocate(
                    ctx, target, items, blocked_until, now, alone=False, move=booking_id
                )
        except IntegrityError as exc:
            raise lost_race(exc) from exc

    async def _allocate(
        self,
        ctx: Context,
        booking: Booking,
        items: Items,
        blocked_until: dict[int, datetime],
        now: datetime,
        *,
        alone: bool,
        move: int | None = None,
        once: Claim | None = None,
    ) -> NewBooking:
        """One round trip (``book_units()``); a second one only when a lapsed hold is in the
        way of a call that would have committed on its own. The holds it expired are told to
        the listeners before its outcome is read."""
        references = (
            [] if move is not None else [new_reference() for _ in range(REFERENCE_ATTEMPTS)]
        )
        outcome = await self.repo.book_units(
            booking,
            items,
            blocked_until,
            now,
            ctx.unconfirmed_revision,
            references,
            alone=alone,
            move=move,
            once=once,
        )
        if outcome.outcome == "lapsed":
            # The same call again, inside the request's transaction, expires it and books.
            outcome = await self.repo.book_units(
                booking,
                items,
                blocked_until,
                now,
                ctx.unconfirmed_revision,
                references,
                move=move,
                once=once,
            )
        return await self._settle(ctx, booking, items, outcome, now)

    async def book_each(
        self, ctx: Context, bookings: Sequence[Booking], items: Items, now: datetime
    ) -> list[NewBooking | AppError | None] | None:
        """:meth:`book` for each of ``bookings`` (drafted by admission, in the request's
        transaction), in one round trip: each stored or refused as :meth:`book` would, the
        refusals leaving the others be.

        An answer of None: a lapsed hold is in that booking's way, which this call does not
        release: book it with :meth:`book`. None instead of the list: the database refused the
        call as a whole (a lost race on the exclusion constraint, which the unit locks make
        unlikely); it is rolled back to its savepoint, nothing stored: book each with
        :meth:`book`.
        """
        rids = [rid for rid, _ in items]
        drafts = [
            Draft(
                booking,
                items,
                ctx.blocked_until(booking.ends_at, rids),
                [new_reference() for _ in range(REFERENCE_ATTEMPTS)],
            )
            for booking in bookings
        ]
        try:
            async with self.repo.session.begin_nested():
                outcomes = await self.repo.book_units_each(drafts, now, ctx.unconfirmed_revision)
        except IntegrityError as exc:
            if not is_exclusion_violation(exc):
                raise
            return None
        answers: list[NewBooking | AppError | None] = []
        for booking, outcome in zip(bookings, outcomes, strict=True):
            if outcome.outcome == "lapsed":
                answers.append(None)
                continue
            try:
                answers.append(await self._settle(ctx, booking, items, outcome, now))
            except (ConflictError, ForbiddenError, InvalidInputError) as refusal:
                answers.append(refusal)
        return answers

    async def _settle(
        self, ctx: Context, booking: Booking, items: Items, outcome: BookOutcome, now: datetime
    ) -> NewBooking:
        """The booking ``book_units()`` stored, or its refusal raised. The holds it expired
        are told to the listeners before its outcome is read."""
        await self.changes.expired_in_sql(outcome.expired, now)
        if outcome.outcome == "stale":
            raise StaleCopy
        ctx.unconfirmed_revision = None  # the call confirmed it under the locks
        if outcome.outcome == "in_progress":
            raise in_progress()
        if outcome.outcome == "key_reused":
            raise key_reused(HEADER)
        if outcome.outcome == "replay":
            raise AlreadyBooked(outcome.booking_id)
        if outcome.outcome == "unavailable":
            assert outcome.resource_id is not None
            quantity = dict(items)[outcome.resource_id]
            raise self._unavailable(ctx, outcome.resource_id, quantity, outcome.free_units)
        if outcome.outcome == "reference_taken":
            raise ConflictError("Could not allocate a booking reference; try again.")
        picked: dict[int, list[int]] = {rid: [] for rid, _ in items}
        for rid, unit_id in outcome.units:
            picked[rid].append(unit_id)
        units = await self._units(ctx, picked)
        return NewBooking(booking, items, units, picked)

    @staticmethod
    def _unavailable(ctx: Context, rid: int, quantity: int, free: int) -> ConflictError:
        return ConflictError(
            f"{ctx.resources[rid].name}: {quantity} unit(s) requested, "
            f"{free} free for the whole range.",
            code=Reason.SLOT_UNAVAILABLE,
            extra={"resource_id": rid, "free_units": free},
        )

    async def _units(
        self, ctx: Context, ids: dict[int, list[int]]
    ) -> dict[int, list[ResourceUnit]]:
        """The units of these ids, per resource, from the catalogue copy; all the resources'
        units loaded afresh if one was added since the copy was read (it was locked too)."""
        known = {u.id: u for units in ctx.units.values() for u in units}
        if all(uid in known for found in ids.values() for uid in found):
            return {rid: [known[uid] for uid in found] for rid, found in ids.items()}
        return await self.catalogue.units_of(list(ids))
