"""Booking business rules: availability reads, bookings, approvals, series and policies.

Check order for every booking: the request's shape, then existence and visibility of the
place and resources, then rules (training, opening hours, notice, quota), then availability.
Availability is decided per unit: the units of the requested resources are locked in id order
(PostgreSQL; SQLite writers are serialised by ``BEGIN IMMEDIATE``), expired holds on them are
released, free units are picked lowest position first and inserted inside a savepoint. The
exclusion constraint of ``booking_allocation`` is the backstop: a violation becomes a 409
``slot_unavailable``, never a 500.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from booking.availability import Problem, Reason, SlotRules, check_booking, reach
from booking.events import BookingChange, BookingEvent, BookingListener
from booking.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingPolicy,
    BookingSeries,
)
from booking.repository import BookingRepository, BusyRow, is_exclusion_violation
from booking.rules import (
    MAX_BOOKING,
    SHAPE_REASONS,
    EffectivePolicy,
    cancellable_by_user,
    day_window,
    effective_policy,
    free_units,
    minutes,
    problem_error,
    slot_rules,
    unit_slots,
    week_of,
)
from booking.schemas import (
    Agenda,
    AgendaDay,
    AgendaEntry,
    BookingCreate,
    BookingPage,
    BookingRead,
    ItemRead,
    ItemRequest,
    OccurrenceRead,
    OrganisationRef,
    PersonRead,
    PlaceAvailability,
    PoliciesUpdate,
    PolicyRead,
    Reschedule,
    ResourceAvailability,
    SearchHit,
    SeriesCreate,
    SeriesCreated,
    SeriesRead,
    SlotRead,
)
from booking.series import RuleError, expand, parse_rule
from booking.snapshots import PlaceSnapshot, SnapshotCache, detached
from mutualab.accounts.certifications import holds_valid_certification
from mutualab.auth.actor import Actor
from mutualab.clock import Clock
from mutualab.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from resources.hours import local_to_utc
from resources.models import Place, Resource, ResourceUnit
from resources.schedule import Span
from resources.service import CatalogueService

MAX_AVAILABILITY_DAYS = 31
MAX_AGENDA_DAYS = 62
MAX_SEARCH_RESOURCES = 200
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
_REFERENCE_ATTEMPTS = 5  # 32**6 references: a clash is rare, five in a row never happens
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Booker:
    """Who a booking is for: a user alone, or an organisation through one of its members."""

    user_id: int
    organisation_id: int | None
    user_type_code: str


@dataclass(frozen=True, slots=True)
class SlotPlan:
    """What the slots of one resource are computed over: its rules and the local window."""

    tz: ZoneInfo
    window: Span
    rules: SlotRules
    duration: timedelta
    quantity: int


@dataclass(slots=True)
class Context:
    """Catalogue data of one place and the requested resources over a time range."""

    place: Place
    tz: ZoneInfo
    resources: dict[int, Resource]
    units: dict[int, list[ResourceUnit]]
    policies: dict[int, EffectivePolicy]
    open_spans: list[Span]
    blackouts: dict[int, list[Span]]
    manager: bool
    # The revision of a kept catalogue copy used without reading the counter first: the unit
    # lock confirms it (then None) or the booking starts over from a fresh copy.
    unconfirmed_revision: int | None = None

    def buffer(self, resource_id: int) -> timedelta:
        """The cool-down after a booking of ``resource_id``."""
        return timedelta(minutes=self.resources[resource_id].buffer_minutes)


Items = list[tuple[int, int]]  # (resource_id, quantity), sorted by resource id


@dataclass(frozen=True, slots=True)
class NewBooking:
    """A booking just inserted, with what was decided for it."""

    booking: Booking
    items: Items
    units: dict[int, list[ResourceUnit]]  # the locked units of each resource
    picked: dict[int, list[int]]  # resource id -> unit ids allocated


class _StaleCopy(Exception):
    """The kept catalogue copy a booking started from is older than the catalogue."""


def new_reference() -> str:
    """A short, random, human-friendly booking reference such as ``MLB-7K3Q9D``."""
    return "MLB-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


def _mixed_places() -> InvalidInputError:
    return InvalidInputError(
        "All the resources of a booking must belong to the same place.",
        field="items",
        code="mixed_places",
    )


def _problems(problems: Sequence[Problem]) -> list[dict[str, str]]:
    return [{"code": str(p.code), "detail": p.detail} for p in problems]


def _columns(row: object, model: type[BaseModel]) -> dict[str, Any]:
    # Attribute access (not model_dump) so that columns expired by a flush are loaded.
    return {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


def _slot_reads(
    units: Sequence[ResourceUnit],
    plan: SlotPlan,
    open_spans: list[Span],
    blackouts: list[Span],
    busy: Sequence[tuple[int, datetime, datetime]],
) -> tuple[SlotRead, ...]:
    """Every slot of the plan's window whatever the time, ready to be sent."""
    slots = unit_slots(
        units=[u.id for u in units if u.id is not None],
        busy=busy,
        open_spans=open_spans,
        blackouts=blackouts,
        rules=plan.rules,
        window=plan.window,
        now=None,
        tz=plan.tz,
        duration=plan.duration,
        quantity=plan.quantity,
    )
    tz = plan.tz
    return tuple(
        SlotRead(
            starts_at=s.start,
            ends_at=s.end,
            local_starts_at=_local(s.start, tz),
            local_ends_at=_local(s.end, tz),
            free_units=s.free_units,
        )
        for s in slots
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


class BookingService:
    """What users, organisations and managers may do with bookings."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        clock: Clock,
        listeners: Sequence[BookingListener] = (),
        snapshots: SnapshotCache | None = None,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.clock = clock
        # The worker's catalogue copies (see booking.snapshots); None reads them every time.
        self.snapshots = snapshots
        # Hook for other domains (billing): called in this transaction, see booking.events.
        self.listeners = tuple(listeners)

    async def _notify(
        self,
        booking_ids: Sequence[int],
        status: BookingChange,
        now: datetime,
        actor: Actor | None = None,
        by_place: bool = False,
        reason: str = "",
    ) -> None:
        for booking_id in booking_ids:
            event = BookingEvent(
                booking_id=booking_id,
                status=status,
                at=now,
                actor_user_id=actor.user_id if actor is not None else None,
                by_place=by_place,
                reason=reason,
            )
            for listener in self.listeners:
                await listener.booking_changed(self.repo.session, event)

    # who and what ---------------------------------------------------------------
    async def _booker(self, actor: Actor, organisation_id: int | None) -> Booker:
        if actor.user_id is None:
            raise ForbiddenError(
                "Bookings are made by a user account, not an admin token.",
                code="user_account_required",
            )
        if organisation_id is None:
            return Booker(actor.user_id, None, actor.user_type_code)
        organisation = await self.repo.organisation(organisation_id)
        if organisation is None or not actor.member_of(organisation_id):
            raise ForbiddenError(
                "You may only book on behalf of an organisation you are a member of.",
                code="not_a_member",
            )
        return Booker(actor.user_id, organisation_id, organisation.user_type_code)

    async def _viewer_type(self, actor: Actor, organisation_id: int | None) -> str:
        if organisation_id is None:
            return actor.user_type_code
        organisation = await self.repo.organisation(organisation_id)
        if organisation is None or not actor.member_of(organisation_id):
            raise ForbiddenError("You are not a member of this organisation.", code="not_a_member")
        return organisation.user_type_code

    @staticmethod
    def _items(requested: Sequence[ItemRequest]) -> Items:
        seen: set[int] = set()
        for index, item in enumerate(requested):
            if item.quantity <= 0:
                raise InvalidInputError(
                    f"The quantity must be at least 1, not {item.quantity}.",
                    field=f"items[{index}].quantity",
                    code=Reason.INVALID_QUANTITY,
                )
            if item.resource_id in seen:
                raise InvalidInputError(
                    "Each resource may appear once; add up the quantities.",
                    field=f"items[{index}].resource_id",
                    code="duplicate_resource",
                )
            seen.add(item.resource_id)
        return sorted((item.resource_id, item.quantity) for item in requested)

    @staticmethod
    def _check_range(start: datetime, end: datetime) -> None:
        if end <= start:
            raise InvalidInputError(
                "The end must be after the start.", field="ends_at", code=Reason.END_BEFORE_START
            )
        if end - start > MAX_BOOKING:
            raise InvalidInputError(
                f"A booking lasts at most {MAX_BOOKING.days} days.",
                field="ends_at",
                code=Reason.TOO_LONG,
            )

    async def _context(
        self,
        actor: Actor,
        resource_ids: Sequence[int],
        user_type: str,
        start: datetime,
        end: datetime,
        place_id: int | None = None,
        *,
        confirm_later: bool = False,
    ) -> Context:
        kept = self.snapshots.latest(resource_ids) if self.snapshots and confirm_later else None
        snapshot = kept or await self._snapshot(resource_ids)
        place = snapshot.place
        if place_id is not None and place.id != place_id:
            raise _mixed_places()
        assert place.id is not None
        tz = ZoneInfo(place.timezone)
        first = start.astimezone(tz).date() - _DAY
        last = end.astimezone(tz).date() + 2 * _DAY
        by_id = {rid: snapshot.resources[rid] for rid in resource_ids}
        policies = snapshot.policies
        return Context(
            place=place,
            tz=tz,
            resources=by_id,
            units={rid: snapshot.units[rid] for rid in by_id},
            policies={rid: effective_policy(policies, r, user_type) for rid, r in by_id.items()},
            open_spans=snapshot.open_spans(first, last),
            blackouts=snapshot.blackouts_between(list(by_id), start, end),
            manager=actor.manages(place.id),
            unconfirmed_revision=None if kept is None else kept.revision,
        )

    async def _revision(self) -> int | None:
        """The catalogue counter, when this service keeps copies and the row is there."""
        return None if self.snapshots is None else await self.repo.catalogue_revision()

    async def _snapshot(self, resource_ids: Sequence[int]) -> PlaceSnapshot:
        """The place of these bookable resources (``resource_not_found``, ``mixed_places``)."""
        revision = await self._revision()
        if self.snapshots is not None and revision is not None:
            found = self.snapshots.find(resource_ids, revision)
            if found is not None:
                return found
        _, places = await self.catalogue.bookable(resource_ids)
        if len(places) > 1:
            raise _mixed_places()
        [place] = places.values()
        return await self._load_snapshot(place, revision)

    async def _place_snapshot(self, place_id: int) -> PlaceSnapshot:
        """An active place's catalogue (``place_not_found``)."""
        revision = await self._revision()
        if self.snapshots is not None and revision is not None:
            found = self.snapshots.find_place(place_id, revision)
            if found is not None:
                return found
        return await self._load_snapshot(await self.catalogue.active_place(place_id), revision)

    async def _load_snapshot(self, place: Place, revision: int | None) -> PlaceSnapshot:
        """A place as it is now: all its active resources, their units, rules and hours.

        Kept for the next requests when ``revision`` was read before loading it.
        """
        assert place.id is not None
        everything = await self.catalogue.active_resources_of(place.id)
        by_id = {r.id: detached(r) for r in everything if r.id is not None}
        units = await self.catalogue.units_of(list(by_id))
        weekly, exceptions = await self.catalogue.schedule_of(place.id)
        snapshot = PlaceSnapshot(
            revision=-1 if revision is None else revision,
            place=detached(place),
            resources=by_id,
            units={rid: [detached(u) for u in found] for rid, found in units.items()},
            policies=[detached(p) for p in await self.repo.policies_of(place.id)],
            weekly=weekly,
            exceptions=exceptions,
            blackouts=await self.catalogue.blackout_spans(list(by_id)),
        )
        if self.snapshots is not None and revision is not None:
            self.snapshots.keep(snapshot)
        return snapshot

    # rules ----------------------------------------------------------------------
    def _check(
        self, ctx: Context, items: Items, start: datetime, end: datetime, now: datetime
    ) -> list[tuple[int, int, list[Problem]]]:
        """Problems of each item, raising at once for a malformed request."""
        found = []
        for index, (rid, quantity) in enumerate(items):
            resource = ctx.resources[rid]
            problems = check_booking(
                start,
                end,
                quantity,
                capacity=len(ctx.units[rid]),
                open_spans=ctx.open_spans,
                busy=(),
                blackouts=ctx.blackouts.get(rid, []),
                rules=slot_rules(resource, ctx.policies[rid]),
                now=now,
                tz=ctx.tz,
            )
            shape = [p for p in problems if p.code in SHAPE_REASONS]
            if shape:
                field = "ends_at" if shape[0].code == Reason.END_BEFORE_START else None
                raise problem_error(
                    shape[0],
                    field=field or f"items[{index}].quantity",
                    extra={"resource_id": rid, "capacity": len(ctx.units[rid])},
                )
            found.append((index, rid, problems))
        return found

    async def _check_rules(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> None:
        checked = self._check(ctx, items, start, end, now)
        day = start.astimezone(ctx.tz).date()
        for rid, _ in items:
            training = ctx.resources[rid].required_training_id
            if training is not None and not await holds_valid_certification(
                self.repo.session, booker.user_id, training, day
            ):
                raise ForbiddenError(
                    f"{ctx.resources[rid].name} needs a training certification valid on "
                    f"{day.isoformat()}.",
                    code="training_required",
                    extra={"resource_id": rid, "training_id": training},
                )
        for _, rid, problems in checked:
            if problems:
                raise problem_error(
                    problems[0], extra={"resource_id": rid, "problems": _problems(problems)}
                )

    async def _check_quota(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_booking_id: int | None = None,
    ) -> None:
        quotas: dict[int | None, int] = {}
        for rid, _ in items:
            policy = ctx.policies[rid]
            if policy.weekly_quota_minutes is not None:
                scope = policy.quota_resource_id
                current = quotas.get(scope)
                quota = policy.weekly_quota_minutes
                quotas[scope] = quota if current is None else min(current, quota)
        if not quotas:
            return
        who = (
            f"organisation:{booker.organisation_id}"
            if booker.organisation_id is not None
            else f"user:{booker.user_id}"
        )
        await self.repo.lock_quota(f"quota:{ctx.place.id}:{who}")
        monday, week = week_of(start, ctx.tz)
        wanted = minutes(start, end)
        assert ctx.place.id is not None
        for scope, quota in sorted(quotas.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0)):
            used = await self.repo.minutes_booked(
                place_id=ctx.place.id,
                booker_user_id=booker.user_id,
                organisation_id=booker.organisation_id,
                resource_id=scope,
                start=week.start,
                end=week.end,
                now=now,
                exclude_booking_id=exclude_booking_id,
            )
            if used + wanted > quota:
                remaining = max(0, quota - used)
                raise ConflictError(
                    f"This booking needs {wanted} minutes but only {remaining} remain of the "
                    f"weekly quota of {quota} minutes (week of {monday.isoformat()}).",
                    code="quota_exceeded",
                    extra={
                        "quota_minutes": quota,
                        "used_minutes": used,
                        "remaining_minutes": remaining,
                        "requested_minutes": wanted,
                        "week_of": monday.isoformat(),
                        "resource_id": scope,
                    },
                )

    # allocation -------------------------------------------------------------------
    def _choose(
        self,
        ctx: Context,
        items: Items,
        units: dict[int, list[ResourceUnit]],
        busy: Sequence[BusyRow],
        start: datetime,
        end: datetime,
    ) -> dict[int, list[int]]:
        """Free units for each item, lowest position first, or ``slot_unavailable``."""
        picked: dict[int, list[int]] = {}
        for rid, quantity in items:
            ids = [u.id for u in units[rid] if u.id is not None]
            free = free_units(
                ids, [(u, s, e) for r, u, s, e in busy if r == rid], start, end + ctx.buffer(rid)
            )
            if len(free) < quantity:
                raise ConflictError(
                    f"{ctx.resources[rid].name}: {quantity} unit(s) requested, "
                    f"{len(free)} free for the whole range.",
                    code=Reason.SLOT_UNAVAILABLE,
                    extra={"resource_id": rid, "free_units": len(free)},
                )
            picked[rid] = free[:quantity]
        return picked

    def _latest(self, ctx: Context, items: Items, end: datetime) -> datetime:
        return max(end + ctx.buffer(rid) for rid, _ in items)

    async def _lock_and_pick(
        self,
        ctx: Context,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_booking_id: int | None = None,
    ) -> tuple[dict[int, list[ResourceUnit]], dict[int, list[int]]]:
        """Lock the units (id order), release lapsed holds in the way, pick free units.

        This is the check that decides: it runs under the locks every writer of these units
        takes. Lapsed holds elsewhere on the units are left to the sweep.
        """
        rids = [rid for rid, _ in items]
        lock = await self.catalogue.lock_units(rids)
        if ctx.unconfirmed_revision is not None:
            if lock.revision != ctx.unconfirmed_revision:
                raise _StaleCopy
            ctx.unconfirmed_revision = None
        locked_ids = lock.units
        known = {u.id: u for units in ctx.units.values() for u in units}
        if all(uid in known for ids in locked_ids.values() for uid in ids):
            locked = {rid: [known[uid] for uid in ids] for rid, ids in locked_ids.items()}
        else:  # a unit added since the catalogue copy was read: load them all (already locked)
            locked = await self.catalogue.units_of(rids)
        rows = await self.repo.overlapping(
            rids, start, self._latest(ctx, items, end), exclude_booking_id
        )
        lapsed = [b for *_, b, hold in rows if hold is not None and hold <= now]
        if lapsed:
            await self._notify(await self.repo.expire_holds(lapsed, now), "expired", now)
        busy = [(r, u, s, e) for r, u, s, e, _, hold in rows if hold is None or hold > now]
        return locked, self._choose(ctx, items, locked, busy, start, end)

    async def _allocate(
        self,
        ctx: Context,
        booking: Booking,
        item_ids: dict[int, int],
        picked: dict[int, list[int]],
    ) -> None:
        assert booking.id is not None
        await self.repo.insert_allocations(
            [
                {
                    "booking_id": booking.id,
                    "item_id": item_id,
                    "resource_id": rid,
                    "unit_id": unit_id,
                    "starts_at": booking.starts_at,
                    "blocked_until": booking.ends_at + ctx.buffer(rid),
                    "active": True,
                    "hold_expires_at": booking.hold_expires_at,
                }
                for rid, item_id in item_ids.items()
                for unit_id in picked[rid]
            ]
        )

    @staticmethod
    def _lost_race(exc: IntegrityError) -> AppError:
        if is_exclusion_violation(exc):
            return ConflictError(
                "Someone booked these units a moment ago.", code=Reason.SLOT_UNAVAILABLE
            )
        raise exc

    def _needs_approval(self, ctx: Context, items: Items) -> bool:
        return not ctx.manager and any(ctx.policies[rid].requires_approval for rid, _ in items)

    async def _book(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
        *,
        notes: str = "",
        hold_minutes: int | None = None,
        series_id: int | None = None,
    ) -> NewBooking:
        """Check and insert one booking.

        A lost race on the exclusion constraint becomes ``slot_unavailable`` and leaves the
        transaction unusable: a caller that goes on after a refusal (a series) wraps each
        call in a savepoint of its own.
        """
        await self._check_rules(ctx, booker, items, start, end, now)
        await self._check_quota(ctx, booker, items, start, end, now)
        locked, picked = await self._lock_and_pick(ctx, items, start, end, now)
        if self._needs_approval(ctx, items):
            status, hold = "pending_approval", None
        elif hold_minutes is not None:
            status, hold = "held", now + timedelta(minutes=hold_minutes)
        else:
            status, hold = "confirmed", None
        assert ctx.place.id is not None
        booking = Booking(
            reference=new_reference(),
            place_id=ctx.place.id,
            booker_user_id=booker.user_id,
            organisation_id=booker.organisation_id,
            user_type_code=booker.user_type_code,
            status=status,
            hold_expires_at=hold,
            starts_at=start,
            ends_at=end,
            series_id=series_id,
            notes=notes,
            created_at=now,
            updated_at=now,
        )
        blocked_until = {rid: end + ctx.buffer(rid) for rid, _ in items}
        try:
            for _ in range(_REFERENCE_ATTEMPTS):
                if await self.repo.insert_new_booking(booking, items, picked, blocked_until):
                    break
                booking.reference = new_reference()
            else:
                raise ConflictError("Could not allocate a booking reference; try again.")
        except IntegrityError as exc:
            raise self._lost_race(exc) from exc
        return NewBooking(booking, items, locked, picked)

    def _new_read(self, ctx: Context, new: NewBooking) -> BookingRead:
        """The read of a booking just inserted, from what the insert already knows."""
        labels = {u.id: u.label for units in new.units.values() for u in units}
        return BookingRead.model_validate(
            {
                **_columns(new.booking, BookingRead),
                "timezone": ctx.tz.key,
                "local_starts_at": _local(new.booking.starts_at, ctx.tz),
                "local_ends_at": _local(new.booking.ends_at, ctx.tz),
                "items": [
                    ItemRead(
                        resource_id=rid,
                        resource_name=ctx.resources[rid].name,
                        quantity=quantity,
                        units=[labels[unit_id] for unit_id in new.picked[rid]],
                    )
                    for rid, quantity in new.items
                ],
            }
        )

    # reads --------------------------------------------------------------------------
    def status_of(self, booking: Booking, now: datetime) -> str:
        """The status as callers should see it: a lapsed hold is expired even before a sweep."""
        if (
            booking.status == "held"
            and booking.hold_expires_at is not None
            and booking.hold_expires_at <= now
        ):
            return "expired"
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
    async def create(self, actor: Actor, data: BookingCreate) -> BookingRead:
        """Book units of one or more resources of a place, atomically."""
        now = self.clock()
        items = self._items(data.items)
        self._check_range(data.starts_at, data.ends_at)
        booker = await self._booker(actor, data.organisation_id)
        rids = [rid for rid, _ in items]
        start, end = data.starts_at, data.ends_at
        # First with the worker's kept copy of the catalogue, unread counter: the unit lock
        # reads it. A copy found out of date, or a refusal decided on a copy not yet confirmed
        # (and then found out of date), starts over from a fresh copy: nothing is written
        # before the lock, so only a few reads are done twice.
        ctx = await self._context(
            actor, rids, booker.user_type_code, start, end, confirm_later=True
        )
        try:
            new = await self._book(
                ctx,
                booker,
                items,
                start,
                end,
                now,
                notes=data.notes,
                hold_minutes=data.hold_minutes,
            )
        except (_StaleCopy, AppError) as exc:
            kept = ctx.unconfirmed_revision
            if kept is None or (isinstance(exc, AppError) and await self._revision() == kept):
                raise  # decided on a current catalogue
            ctx = await self._context(actor, rids, booker.user_type_code, start, end)
            new = await self._book(
                ctx,
                booker,
                items,
                start,
                end,
                now,
                notes=data.notes,
                hold_minutes=data.hold_minutes,
            )
        return self._new_read(ctx, new)

    async def _expire_if_due(self, booking: Booking, now: datetime) -> None:
        if self.status_of(booking, now) == "expired" and booking.status == "held":
            assert booking.id is not None
            booking.status = "expired"
            booking.sequence += 1
            booking.updated_at = now
            await self.repo.deactivate_allocations(booking.id)
            await self.repo.add(booking)
            await self._notify([booking.id], "expired", now)

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
        if booking.status != "confirmed" or actor.manages(booking.place_id):
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

    async def _close_row(self, booking: Booking, status: str, now: datetime, reason: str) -> None:
        """End a booking (cancelled, refused): free its units, bump its calendar sequence."""
        assert booking.id is not None
        booking.status = status
        booking.status_reason = reason
        booking.sequence += 1
        booking.updated_at = now
        await self.repo.deactivate_allocations(booking.id)
        await self.repo.add(booking)

    async def _cancel_row(self, actor: Actor, booking: Booking, now: datetime, reason: str) -> None:
        assert booking.id is not None
        booking.cancelled_at = now
        booking.cancelled_by_user_id = actor.user_id
        await self._close_row(booking, "cancelled", now, reason)
        by_place = actor.manages(booking.place_id) and actor.user_id != booking.booker_user_id
        await self._notify([booking.id], "cancelled", now, actor, by_place, reason)

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
        # Units first, then the booking row: the order every writer uses.
        _, picked = await self._lock_and_pick(
            ctx, items, data.starts_at, data.ends_at, now, exclude_booking_id=booking.id
        )
        booking = await self._visible(actor, booking_id, lock=True)
        assert booking.id is not None
        await self._expire_if_due(booking, now)
        self._require_active(booking)
        try:
            async with self.repo.session.begin_nested():
                await self.repo.delete_allocations(booking.id)
                booking.starts_at = data.starts_at
                booking.ends_at = data.ends_at
                if self._needs_approval(ctx, items) and booking.status != "pending_approval":
                    booking.status = "pending_approval"
                    booking.hold_expires_at = None
                booking.sequence += 1
                booking.updated_at = now
                await self.repo.add(booking)
                await self._allocate(
                    ctx, booking, {i.resource_id: i.id for i in item_rows if i.id}, picked
                )
        except IntegrityError as exc:
            raise self._lost_race(exc) from exc
        return await self.read(booking)

    async def _managed(self, actor: Actor, booking_id: int) -> Booking:
        booking = await self._visible(actor, booking_id, lock=True)
        if not actor.manages(booking.place_id):
            raise ForbiddenError(
                "Only the managers of the place may decide on this booking.",
                code="not_a_manager",
            )
        if booking.status != "pending_approval":
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
        booking.status = "confirmed"
        booking.status_reason = reason
        booking.decided_by_user_id = actor.user_id
        booking.decided_at = now
        booking.sequence += 1
        booking.updated_at = now
        await self.repo.add(booking)
        await self._notify([booking.id], "confirmed", now, actor, True, reason)
        return await self.read(booking)

    async def refuse(self, actor: Actor, booking_id: int, reason: str = "") -> BookingRead:
        """Refuse a booking awaiting approval and free its units."""
        now = self.clock()
        booking = await self._managed(actor, booking_id)
        assert booking.id is not None
        booking.decided_by_user_id = actor.user_id
        booking.decided_at = now
        await self._close_row(booking, "refused", now, reason)
        await self._notify([booking.id], "refused", now, actor, True, reason)
        return await self.read(booking)

    async def confirm_hold(self, booking_id: int) -> BookingRead:
        """Turn a hold into a confirmed booking (billing calls this once paid, before expiry)."""
        now = self.clock()
        booking = await self.repo.get(booking_id, lock=True)
        if booking is None:
            raise NotFoundError(f"No booking with id {booking_id}.", code="booking_not_found")
        await self._expire_if_due(booking, now)
        if booking.status != "held":
            raise ConflictError(
                f"This booking is {booking.status.replace('_', ' ')}, not held.",
                code="booking_not_held",
                extra={"booking_status": booking.status},
            )
        assert booking.id is not None
        booking.status = "confirmed"
        booking.hold_expires_at = None
        booking.sequence += 1
        booking.updated_at = now
        await self.repo.clear_hold(booking.id)
        await self.repo.add(booking)
        return await self.read(booking)

    async def release_expired_holds(self, now: datetime | None = None) -> int:
        """Mark every lapsed hold expired and free its units; return how many (for the CLI)."""
        now = now or self.clock()
        expired = await self.repo.release_expired_holds(now)
        await self._notify(expired, "expired", now)
        return len(expired)

    # availability -------------------------------------------------------------------
    def _days(
        self, tz: ZoneInfo, now: datetime, first: date | None, last: date | None, default: int
    ) -> tuple[date, date]:
        first = first or now.astimezone(tz).date()
        last = last or first + timedelta(days=default)
        if last <= first:
            raise InvalidInputError("'to' must be after 'from'.", field="to", code="invalid_range")
        if (last - first).days > MAX_AVAILABILITY_DAYS:
            raise InvalidInputError(
                f"Ask for at most {MAX_AVAILABILITY_DAYS} days at once.",
                field="to",
                code="range_too_long",
            )
        return first, last

    @staticmethod
    def _duration(
        resource: Resource, rules: SlotRules, duration_minutes: int | None, now: datetime
    ) -> timedelta:
        """The slot length asked for (or the resource's default), within its rules."""
        duration = (
            timedelta(minutes=duration_minutes)
            if duration_minutes is not None
            else rules.default_duration
        )
        length_problems = check_booking(
            now,
            now + duration,
            1,
            capacity=1,
            open_spans=[],
            busy=(),
            blackouts=(),
            rules=rules,
            now=now,
            tz=ZoneInfo("UTC"),
        )
        for problem in length_problems:
            if problem.code in (Reason.TOO_SHORT, Reason.TOO_LONG):
                raise problem_error(problem, field="duration_minutes")
        if duration % rules.granularity:
            raise InvalidInputError(
                f"The duration must be a multiple of {resource.slot_minutes} minutes.",
                field="duration_minutes",
                code=Reason.NOT_ALIGNED,
            )
        return duration

    @staticmethod
    def _check_units(units: Sequence[ResourceUnit], quantity: int) -> None:
        if quantity <= 0 or quantity > len(units):
            code = Reason.INVALID_QUANTITY if quantity <= 0 else Reason.OVER_CAPACITY
            raise InvalidInputError(f"Ask for 1 to {len(units)} unit(s).", field="units", code=code)

    def _availability(
        self,
        snapshot: PlaceSnapshot,
        resource: Resource,
        plan: SlotPlan,
        open_spans: Callable[[], list[Span]],
        blackouts: list[Span],
        busy: Sequence[BusyRow],
        now: datetime,
    ) -> ResourceAvailability:
        """The slots of one resource, from what was read for it (computed once per inputs)."""
        assert resource.id is not None
        units = snapshot.units[resource.id]
        ranges = tuple((u, s, e) for r, u, s, e in busy if r == resource.id)
        # Opening hours are not in the key: the revision and the plan's window decide them.
        key = (snapshot.revision, resource.id, plan, tuple(blackouts), ranges)
        memo = self.snapshots.slots if self.snapshots is not None and snapshot.dated else None
        slots = memo.find(key) if memo is not None else None
        if slots is None:
            slots = _slot_reads(units, plan, open_spans(), blackouts, ranges)
            if memo is not None:
                memo.keep(key, slots)
        earliest, latest = reach(now, plan.rules)
        return ResourceAvailability(
            resource_id=resource.id,
            resource_name=resource.name,
            place_id=resource.place_id,
            timezone=plan.tz.key,
            capacity=len(units),
            duration_minutes=int(plan.duration.total_seconds() // 60),
            units=plan.quantity,
            slots=[
                slot
                for slot in slots
                if slot.starts_at >= earliest and (latest is None or slot.starts_at <= latest)
            ],
        )

    def _plan(
        self,
        snapshot: PlaceSnapshot,
        resource: Resource,
        user_type: str,
        first: date,
        last: date,
        now: datetime,
        duration_minutes: int | None,
        quantity: int,
    ) -> SlotPlan:
        assert resource.id is not None
        tz = ZoneInfo(snapshot.place.timezone)
        rules = slot_rules(resource, effective_policy(snapshot.policies, resource, user_type))
        duration = self._duration(resource, rules, duration_minutes, now)
        self._check_units(snapshot.units[resource.id], quantity)
        window = day_window(first, last, tz)
        return SlotPlan(tz, window, rules, duration, quantity)

    async def _slots_of(
        self,
        snapshot: PlaceSnapshot,
        plans: dict[int, SlotPlan],
        first: date,
        last: date,
        now: datetime,
    ) -> list[ResourceAvailability]:
        """Slots of several resources of a place: one read of bookings."""
        if not plans:
            return []

        # Only a computation the memo does not hold needs them (the copy keeps them too).
        def open_spans() -> list[Span]:
            return snapshot.open_spans(first - _DAY, last + _DAY)

        start = min(p.window.start for p in plans.values())
        horizon = max(p.window.end + p.duration + p.rules.buffer_after for p in plans.values())
        ids = list(plans)
        blackouts = snapshot.blackouts_between(ids, start, horizon)
        busy = await self.repo.busy(ids, start, horizon, now)
        return [
            self._availability(
                snapshot,
                snapshot.resources[rid],
                plan,
                open_spans,
                blackouts.get(rid, []),
                busy,
                now,
            )
            for rid, plan in plans.items()
        ]

    async def resource_availability(
        self,
        actor: Actor,
        resource_id: int,
        first: date | None,
        last: date | None,
        duration_minutes: int | None,
        quantity: int,
        organisation_id: int | None = None,
    ) -> ResourceAvailability:
        """Bookable slots of a resource between two local dates (7 days by default)."""
        now = self.clock()
        user_type = await self._viewer_type(actor, organisation_id)
        snapshot = await self._snapshot([resource_id])
        first, last = self._days(ZoneInfo(snapshot.place.timezone), now, first, last, 7)
        resource = snapshot.resources[resource_id]
        plan = self._plan(
            snapshot, resource, user_type, first, last, now, duration_minutes, quantity
        )
        [found] = await self._slots_of(snapshot, {resource_id: plan}, first, last, now)
        return found

    async def place_availability(
        self, actor: Actor, place_id: int, day: date | None, organisation_id: int | None = None
    ) -> PlaceAvailability:
        """Bookable slots (shortest duration, one unit) of every resource of a place on a day."""
        now = self.clock()
        user_type = await self._viewer_type(actor, organisation_id)
        snapshot = await self._place_snapshot(place_id)
        tz = ZoneInfo(snapshot.place.timezone)
        first, last = self._days(tz, now, day, None, 1)
        plans = {
            rid: self._plan(snapshot, resource, user_type, first, last, now, None, 1)
            for rid, resource in snapshot.resources.items()
        }
        resources = await self._slots_of(snapshot, plans, first, last, now)
        return PlaceAvailability(
            place_id=place_id, date=first, timezone=tz.key, resources=resources
        )

    async def search(
        self,
        actor: Actor,
        town: str | None,
        kind: str | None,
        start: datetime,
        end: datetime,
        quantity: int,
    ) -> list[SearchHit]:
        """Resources free for the whole of [start, end), e.g. 3D printers in Lannion."""
        now = self.clock()
        self._check_range(start, end)
        if quantity <= 0:
            raise InvalidInputError(
                "Ask for at least one unit.", field="units", code=Reason.INVALID_QUANTITY
            )
        candidates = await self.catalogue.find_resources(town, kind, MAX_SEARCH_RESOURCES)
        by_place: dict[int, list[Resource]] = defaultdict(list)
        places: dict[int, Place] = {}
        for resource, place in candidates:
            by_place[resource.place_id].append(resource)
            places[resource.place_id] = place
        hits: list[SearchHit] = []
        for place_id, resources in by_place.items():
            place = places[place_id]
            tz = ZoneInfo(place.timezone)
            ids = [r.id for r in resources if r.id is not None]
            spans = await self.catalogue.open_spans_utc(
                place, start.astimezone(tz).date() - _DAY, end.astimezone(tz).date() + 2 * _DAY
            )
            policies = await self.repo.policies_of(place_id)
            units = await self.catalogue.units_of(ids)
            blackouts = await self.catalogue.blackout_spans(ids, start, end)
            busy = await self.repo.busy(ids, start, end + timedelta(days=1), now)
            for resource in resources:
                assert resource.id is not None
                policy = effective_policy(policies, resource, actor.user_type_code)
                rules = slot_rules(resource, policy)
                problems = check_booking(
                    start,
                    end,
                    quantity,
                    capacity=len(units[resource.id]),
                    open_spans=spans,
                    busy=(),
                    blackouts=blackouts[resource.id],
                    rules=rules,
                    now=now,
                    tz=tz,
                )
                if problems:
                    continue
                free = free_units(
                    [u.id for u in units[resource.id] if u.id is not None],
                    [(u, s, e) for r, u, s, e in busy if r == resource.id],
                    start,
                    end + rules.buffer_after,
                )
                if len(free) >= quantity:
                    hits.append(
                        SearchHit(
                            resource_id=resource.id,
                            resource_name=resource.name,
                            kind=resource.kind,
                            place_id=place_id,
                            place_name=place.name,
                            town=place.town,
                            timezone=tz.key,
                            free_units=len(free),
                            requires_training=resource.required_training_id is not None,
                            requires_approval=policy.requires_approval,
                            local_starts_at=_local(start, tz),
                            local_ends_at=_local(end, tz),
                        )
                    )
        return hits

    # manager views ------------------------------------------------------------------------
    async def _managed_place(self, actor: Actor, place_id: int) -> Place:
        place = await self.catalogue.require_place(place_id)
        if not actor.manages(place_id):
            raise ForbiddenError(
                "Only the managers of this place may do this.", code="not_a_manager"
            )
        return place

    async def agenda(
        self,
        actor: Actor,
        place_id: int,
        first: date | None,
        last: date | None,
        include_cancelled: bool = False,
    ) -> Agenda:
        """A place's bookings day by day (a week by default), with who booked."""
        place = await self._managed_place(actor, place_id)
        tz = ZoneInfo(place.timezone)
        now = self.clock()
        first = first or now.astimezone(tz).date()
        last = last or first + timedelta(days=7)
        if last <= first or (last - first).days > MAX_AGENDA_DAYS:
            raise InvalidInputError(
                f"'to' must be after 'from', at most {MAX_AGENDA_DAYS} days later.",
                field="to",
                code="invalid_range",
            )
        window = day_window(first, last, tz)
        statuses = None if include_cancelled else list(ACTIVE_STATUSES)
        rows, _ = await self.repo.page(
            place_id=place_id, start=window.start, end=window.end, statuses=statuses, limit=5000
        )
        rows = [r for r in rows if include_cancelled or self.status_of(r, now) != "expired"]
        reads = await self.reads(rows)
        users = await self.repo.users([r.booker_user_id for r in rows])
        organisations = await self.repo.organisations(
            [r.organisation_id for r in rows if r.organisation_id is not None]
        )
        days: dict[date, list[AgendaEntry]] = {
            first + timedelta(days=n): [] for n in range((last - first).days)
        }
        for row, read in zip(rows, reads, strict=True):
            user = users[row.booker_user_id]
            organisation = (
                organisations.get(row.organisation_id) if row.organisation_id is not None else None
            )
            entry = AgendaEntry(
                booking=read,
                booker=PersonRead(
                    user_id=row.booker_user_id, display_name=user.display_name, email=user.email
                ),
                organisation=(
                    OrganisationRef(id=row.organisation_id, name=organisation.name)
                    if organisation is not None and row.organisation_id is not None
                    else None
                ),
            )
            day = max(first, row.starts_at.astimezone(tz).date())
            days.setdefault(day, []).append(entry)
        return Agenda(
            place_id=place_id,
            timezone=tz.key,
            days=[AgendaDay(date=d, entries=e) for d, e in sorted(days.items())],
        )

    async def policies(self, actor: Actor, place_id: int) -> list[PolicyRead]:
        """The booking policies of a place."""
        await self._managed_place(actor, place_id)
        return [
            PolicyRead.model_validate(p, from_attributes=True)
            for p in await self.repo.policies_of(place_id)
        ]

    async def set_policies(
        self, actor: Actor, place_id: int, data: PoliciesUpdate
    ) -> list[PolicyRead]:
        """Replace the booking policies of a place."""
        await self._managed_place(actor, place_id)
        resources = {
            r.id
            for r in (
                await self.catalogue.resources_by_ids(
                    [p.resource_id for p in data.policies if p.resource_id is not None]
                )
            ).values()
            if r.place_id == place_id
        }
        codes = await self.repo.user_type_codes()
        seen: set[tuple[int | None, str | None]] = set()
        for index, policy in enumerate(data.policies):
            if policy.resource_id is not None and policy.resource_id not in resources:
                raise InvalidInputError(
                    f"Resource {policy.resource_id} is not a resource of this place.",
                    field=f"policies[{index}].resource_id",
                    code="resource_not_found",
                )
            if policy.user_type_code is not None and policy.user_type_code not in codes:
                raise InvalidInputError(
                    f"Unknown user type {policy.user_type_code!r}.",
                    field=f"policies[{index}].user_type_code",
                    code="unknown_user_type",
                )
            key = (policy.resource_id, policy.user_type_code)
            if key in seen:
                raise InvalidInputError(
                    "Two policies have the same resource and user type.",
                    field=f"policies[{index}]",
                    code="duplicate_policy",
                )
            seen.add(key)
        await self.repo.replace_policies(
            place_id,
            [BookingPolicy(place_id=place_id, **p.model_dump()) for p in data.policies],
        )
        return await self.policies(actor, place_id)

    # series -------------------------------------------------------------------------
    async def _series_read(self, series: BookingSeries) -> SeriesRead:
        assert series.id is not None
        rows, _ = await self.repo.page(series_id=series.id, limit=1000)
        return SeriesRead.model_validate(
            {
                **_columns(series, SeriesRead),
                "start_time": series.local_start,
                "exdates": [date.fromisoformat(d) for d in series.exdates],
                "bookings": await self.reads(rows),
            }
        )

    async def create_series(self, actor: Actor, data: SeriesCreate) -> SeriesCreated:
        """Book every occurrence of a rule, all or nothing or skipping conflicts."""
        now = self.clock()
        items = self._items(data.items)
        try:
            rule = parse_rule(data.rule)
        except RuleError as exc:
            raise InvalidInputError(str(exc), field="rule", code=exc.code) from exc
        booker = await self._booker(actor, data.organisation_id)
        resources = await self.catalogue.bookable_resources([rid for rid, _ in items])
        place = await self.catalogue.active_place(resources[0].place_id)
        tz = ZoneInfo(place.timezone)
        try:
            days = expand(rule, data.first_date, data.start_time, tz, exdates=data.exdates)
        except RuleError as exc:
            raise InvalidInputError(str(exc), field="rule", code=exc.code) from exc
        if not days:
            raise InvalidInputError(
                "The rule gives no occurrence.", field="rule", code="series_empty"
            )
        length = timedelta(minutes=data.duration_minutes)
        # The end is a wall-clock time too: "14:00-16:00" on every date.
        occurrences = [
            (
                day,
                local_to_utc(datetime.combine(day, data.start_time), tz),
                local_to_utc(datetime.combine(day, data.start_time) + length, tz),
            )
            for day in days
        ]
        ctx = await self._context(
            actor,
            [rid for rid, _ in items],
            booker.user_type_code,
            occurrences[0][1],
            occurrences[-1][2],
        )
        self._check_series_shape(ctx, items, occurrences[0][1], occurrences[0][2], now)
        assert ctx.place.id is not None
        series = BookingSeries(
            place_id=ctx.place.id,
            booker_user_id=booker.user_id,
            organisation_id=booker.organisation_id,
            user_type_code=booker.user_type_code,
            rule=data.rule.strip(),
            first_date=data.first_date,
            local_start=data.start_time,
            duration_minutes=data.duration_minutes,
            timezone=tz.key,
            exdates=sorted(d.isoformat() for d in data.exdates),
            items=[{"resource_id": r, "quantity": q} for r, q in items],
            mode=data.mode,
            notes=data.notes,
            created_at=now,
        )
        await self.repo.add(series)
        results: list[OccurrenceRead] = []
        for day, start, end in occurrences:
            local_start = _local(start, tz)
            try:
                async with self.repo.session.begin_nested():
                    new = await self._book(
                        ctx, booker, items, start, end, now, notes=data.notes, series_id=series.id
                    )
                    booking = new.booking
            except (ConflictError, ForbiddenError, InvalidInputError) as exc:
                results.append(
                    OccurrenceRead(
                        date=day,
                        starts_at=start,
                        ends_at=end,
                        local_starts_at=local_start,
                        status="conflict",
                        reason=exc.code,
                        detail=exc.detail,
                        resource_id=_int_or_none(exc.extra.get("resource_id")),
                    )
                )
                continue
            results.append(
                OccurrenceRead(
                    date=day,
                    starts_at=start,
                    ends_at=end,
                    local_starts_at=local_start,
                    status="booked",
                    booking_id=booking.id,
                    reference=booking.reference,
                )
            )
        conflicts = [r for r in results if r.status == "conflict"]
        booked = len(results) - len(conflicts)
        if (data.mode == "all_or_nothing" and conflicts) or booked == 0:
            # Nothing is written: the transaction rolls back with this error.
            listed = [
                r.model_copy(update={"status": "free", "booking_id": None, "reference": None})
                if r.status == "booked"
                else r
                for r in results
            ]
            raise ConflictError(
                f"{len(conflicts)} of {len(results)} occurrences cannot be booked; "
                "nothing was booked.",
                code="series_conflict",
                extra={"occurrences": [o.model_dump(mode="json") for o in listed]},
            )
        read = await self._series_read(series)
        return SeriesCreated.model_validate({**read.model_dump(), "occurrences": results})

    async def preview_series(self, actor: Actor, data: SeriesCreate) -> list[OccurrenceRead]:
        """Each occurrence of a series, free or in conflict, as booking it would find it.

        The engine's own checks decide: the series is booked in a savepoint, which is then
        rolled back, so nothing is written and nothing stays locked.
        """
        savepoint = await self.repo.session.begin_nested()
        try:
            created = await self.create_series(
                actor, data.model_copy(update={"mode": "skip_conflicts"})
            )
        except ConflictError as exc:
            await savepoint.rollback()
            if exc.code != "series_conflict":
                raise
            found = exc.extra.get("occurrences", [])
            return [OccurrenceRead.model_validate(o) for o in found]
        except BaseException:
            await savepoint.rollback()
            raise
        await savepoint.rollback()
        return [
            o.model_copy(update={"status": "free", "booking_id": None, "reference": None})
            if o.status == "booked"
            else o
            for o in created.occurrences
        ]

    def _check_series_shape(
        self, ctx: Context, items: Items, start: datetime, end: datetime, now: datetime
    ) -> None:
        """Problems every occurrence would share (alignment, length, capacity): 422 at once."""
        for _, rid, problems in self._check(ctx, items, start, end, now):
            for problem in problems:
                if problem.code in (Reason.NOT_ALIGNED, Reason.TOO_SHORT, Reason.TOO_LONG):
                    field = (
                        "start_time" if problem.code == Reason.NOT_ALIGNED else "duration_minutes"
                    )
                    raise problem_error(problem, field=field, extra={"resource_id": rid})

    async def _visible_series(self, actor: Actor, series_id: int) -> BookingSeries:
        series = await self.repo.get_series(series_id)
        if series is None or not (
            actor.is_admin
            or series.booker_user_id == actor.user_id
            or actor.manages(series.place_id)
            or (
                series.organisation_id is not None
                and series.organisation_id in actor.organisation_roles
            )
        ):
            raise NotFoundError(f"No series with id {series_id}.", code="series_not_found")
        return series

    async def get_series(self, actor: Actor, series_id: int) -> SeriesRead:
        """A series with its bookings."""
        return await self._series_read(await self._visible_series(actor, series_id))

    async def cancel_series(self, actor: Actor, series_id: int, from_date: date) -> SeriesRead:
        """Cancel every live booking of a series from a local date on."""
        now = self.clock()
        series = await self._visible_series(actor, series_id)
        assert series.id is not None
        tz = ZoneInfo(series.timezone)
        since = local_to_utc(datetime.combine(from_date, time()), tz)
        rows, _ = await self.repo.page(
            series_id=series.id, start=since, statuses=list(ACTIVE_STATUSES), limit=1000
        )
        targets = []
        for row in rows:
            if row.starts_at < since:
                continue
            self._may_change(actor, row)
            assert row.id is not None
            booking = await self._visible(actor, row.id, lock=True)
            await self._expire_if_due(booking, now)
            if booking.status in ACTIVE_STATUSES:
                await self._check_deadline(actor, booking, now)
                targets.append(booking)
        for booking in targets:
            await self._cancel_row(actor, booking, now, "series cancelled")
        if series.cancelled_from is None or from_date < series.cancelled_from:
            series.cancelled_from = from_date
            await self.repo.add(series)
        return await self._series_read(series)
