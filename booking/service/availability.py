"""Availability: a resource's or a place's bookable slots, and the free-resource search."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.admission import Admission, check_range
from booking.availability import Reason, SlotRules, check_booking, reach
from booking.copies import CatalogueCopies
from booking.repository import BookingRepository, BusyRow
from booking.rules import (
    day_window,
    effective_policy,
    free_units,
    problem_error,
    slot_rules,
    unit_slots,
)
from booking.schemas import (
    PlaceAvailability,
    ResourceAvailability,
    SearchHit,
    SlotRead,
)
from booking.snapshots import PlaceSnapshot
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import (
    InvalidInputError,
)
from resources.models import Place, Resource, ResourceUnit
from resources.schedule import Span
from resources.service import CatalogueService

MAX_AVAILABILITY_DAYS = 31
MAX_SEARCH_RESOURCES = 200
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SlotPlan:
    """What the slots of one resource are computed over: its rules and the local window."""

    tz: ZoneInfo
    window: Span
    rules: SlotRules
    duration: timedelta
    quantity: int


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
    reads = []
    # A slot mostly starts where the one before ended: that instant is converted once.
    ended: datetime | None = None
    ended_local: datetime | None = None
    for s in slots:
        start_local = ended_local if s.start == ended else s.start.astimezone(tz)
        ended, ended_local = s.end, s.end.astimezone(tz)
        assert start_local is not None
        reads.append(
            SlotRead(
                starts_at=s.start,
                ends_at=s.end,
                local_starts_at=start_local,
                local_ends_at=ended_local,
                free_units=s.free_units,
            )
        )
    return tuple(reads)


class Availability:
    """When resources can be booked."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        copies: CatalogueCopies,
        admission: Admission,
        clock: Clock,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.copies = copies
        self.admission = admission
        self.clock = clock

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
        memo = self.copies.slots if snapshot.dated else None
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
        rates = await self.admission.viewer_rates(actor, organisation_id)
        snapshot = await self.copies.of_resources([resource_id])
        assert snapshot.place.id is not None
        user_type = rates.at(snapshot.place.id)
        first, last = self._days(ZoneInfo(snapshot.place.timezone), now, first, last, 7)
        resource = snapshot.resources[resource_id]
        plan = self._plan(
            snapshot, resource, user_type, first, last, now, duration_minutes, quantity
        )
        [found] = await self._slots_of(snapshot, {resource_id: plan}, first, last, now)
        return found

    async def needs_approval(
        self, actor: Actor, resource_id: int, organisation_id: int | None = None
    ) -> bool:
        """Whether ``actor``'s booking of the resource would be a request a manager approves."""
        snapshot = await self.copies.of_resources([resource_id])
        assert snapshot.place.id is not None
        if actor.manages(snapshot.place.id):
            return False
        rates = await self.admission.viewer_rates(actor, organisation_id)
        resource = snapshot.resources[resource_id]
        policy = effective_policy(snapshot.policies, resource, rates.at(snapshot.place.id))
        return policy.requires_approval

    async def place_availability(
        self, actor: Actor, place_id: int, day: date | None, organisation_id: int | None = None
    ) -> PlaceAvailability:
        """Bookable slots (shortest duration, one unit) of every resource of a place on a day."""
        now = self.clock()
        rates = await self.admission.viewer_rates(actor, organisation_id)
        snapshot = await self.copies.of_place(place_id)
        user_type = rates.at(place_id)
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
        check_range(start, end)
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
                policy = effective_policy(policies, resource, actor.user_type_at(place_id))
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
                            local_starts_at=start.astimezone(tz),
                            local_ends_at=end.astimezone(tz),
                        )
                    )
        return hits
