"""The booking service's core: who books what, the catalogue copy, rule checks, unit
allocation and the insert of one booking."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from accounts.certifications import holds_valid_certification
from booking.availability import Problem, Reason, check_booking
from booking.events import BookingEvent, BookingListener
from booking.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
)
from booking.repository import BookingRepository, is_exclusion_violation
from booking.rules import (
    MAX_BOOKING,
    SHAPE_REASONS,
    effective_policy,
    minutes,
    problem_error,
    slot_rules,
    week_of,
)
from booking.schemas import (
    BookingRead,
    ItemRead,
    ItemRequest,
)
from booking.service.kernel import (
    _DAY,
    _REFERENCE_ATTEMPTS,
    Booker,
    Context,
    Items,
    NewBooking,
    _columns,
    _local,
    _mixed_places,
    _problems,
    _StaleCopy,
    new_reference,
)
from booking.snapshots import PlaceSnapshot, SnapshotCache, detached
from booking.state import expired, transition
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import (
    AppError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
)
from resources.models import Place, ResourceUnit
from resources.service import CatalogueService


class BookingBase:
    """Who books what, under which rules, on which units (the parts below build on it)."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        clock: Clock,
        *,
        listeners: Sequence[BookingListener],
        snapshots: SnapshotCache | None = None,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.clock = clock
        # The worker's catalogue copies (see booking.snapshots); None reads them every time.
        self.snapshots = snapshots
        # Hook for other domains (billing): called in this transaction, see booking.events.
        self.listeners = tuple(listeners)

    async def _deliver(self, events: Iterable[BookingEvent]) -> None:
        """Hand each event to every listener, in this transaction: the only caller of them."""
        for event in events:
            for listener in self.listeners:
                await listener.booking_changed(self.repo.session, event)

    async def _move(
        self,
        booking: Booking,
        to: BookingStatus,
        now: datetime,
        *,
        reason: str | None = None,
        actor: Actor | None = None,
        by_place: bool = False,
    ) -> None:
        """Change a booking's status (:func:`booking.state.transition`), store it, free its
        units if it ended (or stop them expiring if it left ``held``), tell the listeners."""
        event = transition(
            booking,
            to,
            now,
            reason=reason,
            by_user_id=actor.user_id if actor is not None else None,
            by_place=by_place,
        )
        if to not in ACTIVE_STATUSES:
            await self.repo.deactivate_allocations(event.booking_id)
        elif event.previous == BookingStatus.HELD:
            await self.repo.clear_hold(event.booking_id)
        await self.repo.add(booking)
        await self._deliver([event])

    async def _expire_lapsed(self, booking_ids: Sequence[int], now: datetime) -> list[int]:
        """Expire the lapsed holds among these bookings in bulk, and tell the listeners."""
        released = await self.repo.expire_holds(booking_ids, now)
        await self._deliver(expired(booking_id, now) for booking_id in released)
        return released

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
        return None if self.snapshots is None else await self.catalogue.revision()

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
    @staticmethod
    def _unavailable(ctx: Context, rid: int, quantity: int, free: int) -> ConflictError:
        return ConflictError(
            f"{ctx.resources[rid].name}: {quantity} unit(s) requested, "
            f"{free} free for the whole range.",
            code=Reason.SLOT_UNAVAILABLE,
            extra={"resource_id": rid, "free_units": free},
        )

    async def _units(
        self, ctx: Context, rids: list[int], ids: dict[int, list[int]]
    ) -> dict[int, list[ResourceUnit]]:
        """The units of these ids, per resource, from the catalogue copy; all the resources'
        units loaded afresh if one was added since the copy was read (it was locked too)."""
        known = {u.id: u for units in ctx.units.values() for u in units}
        if all(uid in known for found in ids.values() for uid in found):
            return {rid: [known[uid] for uid in found] for rid, found in ids.items()}
        return await self.catalogue.units_of(rids)

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
        alone: bool = False,
    ) -> NewBooking:
        """Check and insert one booking.

        A lost race on the exclusion constraint becomes ``slot_unavailable`` and leaves the
        transaction unusable: a caller that goes on after a refusal (a series) wraps each
        call in a savepoint of its own.
        """
        await self._check_rules(ctx, booker, items, start, end, now)
        await self._check_quota(ctx, booker, items, start, end, now)
        if self._needs_approval(ctx, items):
            status, hold = BookingStatus.PENDING_APPROVAL, None
        elif hold_minutes is not None:
            status, hold = BookingStatus.HELD, now + timedelta(minutes=hold_minutes)
        else:
            status, hold = BookingStatus.CONFIRMED, None
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
        blocked_until = ctx.blocked_until(end, [rid for rid, _ in items])
        try:
            return await self._allocate(ctx, booking, items, blocked_until, now, alone)
        except IntegrityError as exc:
            raise self._lost_race(exc) from exc

    async def _allocate(
        self,
        ctx: Context,
        booking: Booking,
        items: Items,
        blocked_until: dict[int, datetime],
        now: datetime,
        alone: bool,
        move: int | None = None,
    ) -> NewBooking:
        """The allocator: the one write path of a booking's units, in one round trip
        (``book_units()``): lock the units of the resources in id order, expire the lapsed
        holds in the way, read what is busy, pick free units, insert. Create, checkout (which
        creates), series occurrences and reschedule all come here; the exclusion constraint
        stays behind it.

        The holds it expired are told to the listeners (billing) before its outcome is read.
        ``move``: the id of a stored booking to move to ``booking``'s range (a reschedule)
        instead of inserting ``booking``.
        """
        references = (
            []
            if move is not None
            else [booking.reference, *(new_reference() for _ in range(1, _REFERENCE_ATTEMPTS))]
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
        )
        if outcome.outcome == "lapsed":
            # A lapsed hold is in the way of a call that would have committed on its own: the
            # same call again, inside the request's transaction, expires it and books.
            outcome = await self.repo.book_units(
                booking, items, blocked_until, now, ctx.unconfirmed_revision, references, move=move
            )
        await self._deliver(expired(booking_id, now) for booking_id in outcome.expired)
        if outcome.outcome == "stale":
            raise _StaleCopy
        ctx.unconfirmed_revision = None  # the call confirmed it under the locks
        if outcome.outcome == "unavailable":
            assert outcome.resource_id is not None
            quantity = dict(items)[outcome.resource_id]
            raise self._unavailable(ctx, outcome.resource_id, quantity, outcome.free_units)
        if outcome.outcome == "reference_taken":
            raise ConflictError("Could not allocate a booking reference; try again.")
        picked: dict[int, list[int]] = {rid: [] for rid, _ in items}
        for rid, unit_id in outcome.units:
            picked[rid].append(unit_id)
        units = await self._units(ctx, list(picked), picked)
        return NewBooking(booking, items, units, picked)

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
