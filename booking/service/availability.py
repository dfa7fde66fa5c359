"""Availability: a resource's or a place's bookable slots, and the free-resource search."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from booking.admission import Admission, check_range
from booking.availability import Reason, SlotRules, check_booking, reach
from booking.copies import CatalogueCopies
from booking.repository import BookingRepository, BusyRow
from booking.rules import (
    day_window,
    free_units,
    problem_error,
    unit_slots,
)
from booking.schemas import (
    FreeTime,
    PlaceAvailability,
    ResourceAvailability,
    SearchHit,
    SlotRead,
)
from booking.snapshots import PlaceSnapshot, SlotMemo
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import AppError, InvalidInputError
from resources.models import Place, Resource, ResourceUnit
from resources.place_search import Where
from resources.schedule import Span

MAX_AVAILABILITY_DAYS = 31
MAX_SEARCH_RESOURCES = 200
MAX_FREE_TIMES = 48
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SlotPlan:
    """What the slots of one resource are computed over: its rules and the local dates
    [first, last), whose UTC span is ``window``."""

    tz: ZoneInfo
    window: Span
    rules: SlotRules
    duration: timedelta
    quantity: int
    first: date
    last: date

    @property
    def reach(self) -> timedelta:
        """How far past a window's end a booking can still shape its slots: a slot starting
        at the end's last instant, and the buffer kept free after it."""
        return self.duration + self.rules.buffer_after


def _slot_reads(
    unit_ids: Sequence[int],
    plan: SlotPlan,
    window: Span,
    open_spans: list[Span],
    blackouts: Sequence[Span],
    busy: Iterable[tuple[int, datetime, datetime]],
) -> tuple[SlotRead, ...]:
    """Every slot of the plan starting in ``window`` whatever the time, ready to be sent."""
    slots = unit_slots(
        units=unit_ids,
        busy=busy,
        open_spans=open_spans,
        blackouts=blackouts,
        rules=plan.rules,
        window=window,
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


def _starts_at(slot: SlotRead) -> datetime:
    return slot.starts_at


def _bookable_now(
    slots: Sequence[SlotRead], earliest: datetime, latest: datetime | None
) -> list[SlotRead]:
    """The slots starting from ``earliest`` to ``latest`` (None: no end): they are in start
    order, so two binary searches find them (a place's day filtered slot by slot cost 2 %
    of a worker under the term-opening mix)."""
    first = bisect_left(slots, earliest, key=_starts_at)
    if latest is None:
        return list(slots[first:])
    return list(slots[first : bisect_right(slots, latest, lo=first, key=_starts_at)])


_MINUTE = timedelta(minutes=1)
# Lengths are judged alone (too short, too long, off the grid): any instant serves to ask.
_ANY_INSTANT = datetime(2000, 1, 3, tzinfo=UTC)


@lru_cache(maxsize=4096)
def _slot_length(rules: SlotRules, duration_minutes: int | None) -> timedelta:
    """The slot length asked for (or the rules' default), within the rules: worked out once
    per rules and length, as every resource of a place's day asks again on every read."""
    duration = rules.default_duration
    if duration_minutes is not None:
        duration = timedelta(minutes=duration_minutes)
    length_problems = check_booking(
        _ANY_INSTANT,
        _ANY_INSTANT + duration,
        1,
        capacity=1,
        open_spans=[],
        busy=(),
        blackouts=(),
        rules=rules,
        now=_ANY_INSTANT,
        tz=ZoneInfo("UTC"),
    )
    for problem in length_problems:
        if problem.code in (Reason.TOO_SHORT, Reason.TOO_LONG):
            raise problem_error(problem, field="duration_minutes")
    if duration % rules.granularity:
        raise InvalidInputError(
            f"The duration must be a multiple of {rules.granularity // _MINUTE} minutes.",
            field="duration_minutes",
            code=Reason.NOT_ALIGNED,
        )
    return duration


# The plans of the resources asked for, and the local days they span.
_Plans = tuple[dict[int, SlotPlan], date, date]


def _reach_of(plans: dict[int, SlotPlan]) -> tuple[datetime, datetime]:
    """From the first window's start to the last slot's end with its buffer: the bookings
    that can shape these slots overlap it."""
    start = min(p.window.start for p in plans.values())
    horizon = max(p.window.end + p.reach for p in plans.values())
    return start, horizon


# A day's kept slots, by what they are computed from (booking.snapshots.SlotMemo): the copy's
# revision (hours, units, rules), the resource, the zone, the rules, the length, the units
# asked for, the local date, and the blackouts and busy ranges that reach into that day.
_DayKey = tuple[
    int,
    int,
    ZoneInfo,
    SlotRules,
    timedelta,
    int,
    date,
    tuple[Span, ...],
    frozenset[tuple[int, datetime, datetime]],
]


def shaping(
    window: Span,
    reach: timedelta,
    blackouts: Sequence[Span],
    busy: Sequence[tuple[int, datetime, datetime]],
) -> tuple[tuple[Span, ...], frozenset[tuple[int, datetime, datetime]]]:
    """The blackouts and busy ranges (unit, start, end) that can shape the slots starting in
    ``window``: those overlapping it extended by ``reach``. The ranges as a set, so that two
    reads that got them in another order find the same kept day."""
    start, end = window.start, window.end + reach
    return (
        tuple(b for b in blackouts if b.start < end and b.end > start),
        frozenset(r for r in busy if r[1] < end and r[2] > start),
    )


class Availability:
    """When resources can be booked."""

    def __init__(
        self,
        repository: BookingRepository,
        copies: CatalogueCopies,
        admission: Admission,
        clock: Clock,
    ) -> None:
        self.repo = repository
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
    def _check_units(units: Sequence[ResourceUnit], quantity: int) -> None:
        if quantity <= 0 or quantity > len(units):
            code = Reason.INVALID_QUANTITY if quantity <= 0 else Reason.OVER_CAPACITY
            raise InvalidInputError(f"Ask for 1 to {len(units)} unit(s).", field="units", code=code)

    def _availability(
        self,
        snapshot: PlaceSnapshot,
        resource: Resource,
        plan: SlotPlan,
        blackouts: list[Span],
        ranges: list[tuple[int, datetime, datetime]],
        now: datetime,
    ) -> ResourceAvailability:
        """The slots of one resource, from what was read for it (``ranges``: its busy units
        and ranges), computed and kept local day by day.

        A week and a place's day then share the days they both show, and a booking makes
        only the days it reaches be computed again, not the whole week around it.
        """
        rid = resource.id
        assert rid is not None
        units = snapshot.units[rid]
        earliest, latest = reach(now, plan.rules)
        memo = self.copies.slots if snapshot.dated else None
        slots: list[SlotRead] = []
        day = plan.first
        while day < plan.last:
            window = day_window(day, day + _DAY, plan.tz)
            # A day none of whose slots can be booked now is not even looked up.
            if window.end > earliest and (latest is None or window.start <= latest):
                slots.extend(self._day(snapshot, rid, plan, day, window, blackouts, ranges, memo))
            day += _DAY
        return ResourceAvailability(
            resource_id=rid,
            resource_name=resource.name,
            place_id=resource.place_id,
            timezone=plan.tz.key,
            capacity=len(units),
            duration_minutes=int(plan.duration.total_seconds() // 60),
            units=plan.quantity,
            slots=_bookable_now(slots, earliest, latest),
        )

    @staticmethod
    def _day(
        snapshot: PlaceSnapshot,
        rid: int,
        plan: SlotPlan,
        day: date,
        window: Span,
        blackouts: list[Span],
        ranges: list[tuple[int, datetime, datetime]],
        memo: SlotMemo | None,
    ) -> tuple[SlotRead, ...]:
        """The slots of one resource starting on one local day, kept or computed."""
        closed, busy = shaping(window, plan.reach, blackouts, ranges)
        key: _DayKey = (
            snapshot.revision,
            rid,
            plan.tz,
            plan.rules,
            plan.duration,
            plan.quantity,
            day,
            closed,
            busy,
        )
        slots = memo.find(key) if memo is not None else None
        if slots is None:
            # Opening hours are not in the key: the revision and the day decide them. From the
            # day before (a span that opened then) to the last day a slot can end on.
            last = day + _DAY * (2 + plan.duration.days)
            open_spans = snapshot.open_spans(day - _DAY, last)
            slots = _slot_reads(snapshot.unit_ids(rid), plan, window, open_spans, closed, busy)
            if memo is not None:
                memo.keep(key, slots)
        return slots

    def _plan(
        self,
        snapshot: PlaceSnapshot,
        resource: Resource,
        user_type: str,
        first: date,
        last: date,
        duration_minutes: int | None,
        quantity: int,
    ) -> SlotPlan:
        assert resource.id is not None
        tz = ZoneInfo(snapshot.place.timezone)
        _, rules = snapshot.rules_for(resource.id, user_type)
        duration = _slot_length(rules, duration_minutes)
        self._check_units(snapshot.units[resource.id], quantity)
        window = day_window(first, last, tz)
        return SlotPlan(tz, window, rules, duration, quantity, first, last)

    def _computed(
        self,
        snapshot: PlaceSnapshot,
        plans: dict[int, SlotPlan],
        reach: tuple[datetime, datetime],
        busy: Sequence[BusyRow],
        now: datetime,
    ) -> list[ResourceAvailability]:
        """Slots of several resources of a place, from the bookings read over their ``reach``."""
        blackouts = snapshot.blackouts_between(list(plans), *reach)
        # Each resource's rows in the order read, in one pass over them all (not one per resource).
        ranges: dict[int, list[tuple[int, datetime, datetime]]] = defaultdict(list)
        for rid, unit, start, end in busy:
            ranges[rid].append((unit, start, end))
        return [
            self._availability(
                snapshot,
                snapshot.resources[rid],
                plan,
                blackouts.get(rid, []),
                ranges.get(rid, []),
                now,
            )
            for rid, plan in plans.items()
        ]

    async def _slots(
        self,
        kept: PlaceSnapshot | None,
        fresh: Callable[[], Awaitable[PlaceSnapshot]],
        plan: Callable[[PlaceSnapshot], _Plans],
        now: datetime,
    ) -> tuple[PlaceSnapshot, date, list[ResourceAvailability]]:
        """The slots ``plan`` asks for and the first day they span, computed on the worker's
        kept copy of the place when the catalogue counter, read in the same statement as the
        bookings, shows it is current (one statement in all); else on a ``fresh`` copy (the
        counter, then the bookings)."""
        if kept is not None and kept.dated:
            try:
                plans, first, _ = plan(kept)
            except AppError:
                plans = {}  # judged again on a current copy: the refusal may be out of date
            if plans:
                reach = _reach_of(plans)
                revision, busy = await self.repo.busy_at_revision(list(plans), *reach, now)
                if revision == kept.revision:
                    return kept, first, self._computed(kept, plans, reach, busy, now)
        snapshot = await fresh()
        plans, first, _ = plan(snapshot)
        return snapshot, first, await self._slots_of(snapshot, plans, now)

    async def _slots_of(
        self,
        snapshot: PlaceSnapshot,
        plans: dict[int, SlotPlan],
        now: datetime,
    ) -> list[ResourceAvailability]:
        """Slots of several resources of a current copy of their place: one read of bookings."""
        if not plans:
            return []
        reach = _reach_of(plans)
        busy = await self.repo.busy(list(plans), *reach, now)
        return self._computed(snapshot, plans, reach, busy, now)

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

        def plan(snapshot: PlaceSnapshot) -> _Plans:
            assert snapshot.place.id is not None
            user_type = rates.at(snapshot.place.id)
            tz = ZoneInfo(snapshot.place.timezone)
            days = self._days(tz, now, first, last, 7)
            resource = snapshot.resources[resource_id]
            one = self._plan(snapshot, resource, user_type, *days, duration_minutes, quantity)
            return {resource_id: one}, *days

        _, _, [found] = await self._slots(
            self.copies.latest([resource_id]),
            lambda: self.copies.of_resources([resource_id]),
            plan,
            now,
        )
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
        policy, _ = snapshot.rules_for(resource_id, rates.at(snapshot.place.id))
        return policy.requires_approval

    async def place_availability(
        self, actor: Actor, place_id: int, day: date | None, organisation_id: int | None = None
    ) -> PlaceAvailability:
        """Bookable slots (shortest duration, one unit) of every resource of a place on a day."""
        now = self.clock()
        rates = await self.admission.viewer_rates(actor, organisation_id)
        user_type = rates.at(place_id)

        def plan(snapshot: PlaceSnapshot) -> _Plans:
            first, last = self._days(ZoneInfo(snapshot.place.timezone), now, day, None, 1)
            plans = {
                rid: self._plan(snapshot, resource, user_type, first, last, None, 1)
                for rid, resource in snapshot.resources.items()
            }
            return plans, first, last

        snapshot, first, resources = await self._slots(
            self.copies.latest_of_place(place_id),
            lambda: self.copies.of_place(place_id),
            plan,
            now,
        )
        return PlaceAvailability(
            place_id=place_id, date=first, timezone=snapshot.place.timezone, resources=resources
        )

    async def search(
        self,
        actor: Actor,
        where: Where,
        kind: str | None,
        start: datetime,
        end: datetime,
        quantity: int,
        *,
        text: str | None = None,
        free_times: bool = False,
        duration_minutes: int | None = None,
    ) -> list[SearchHit]:
        """Resources free for the whole of [start, end), e.g. 3D printers in Lannion; or, with
        ``free_times``, those with free times of a length inside it, soonest first."""
        check_range(start, end)
        if quantity <= 0:
            raise InvalidInputError(
                "Ask for at least one unit.", field="units", code=Reason.INVALID_QUANTITY
            )
        if free_times and end - start > timedelta(days=MAX_AVAILABILITY_DAYS):
            raise InvalidInputError(
                f"Ask for at most {MAX_AVAILABILITY_DAYS} days at once.",
                field="ends_at",
                code="range_too_long",
            )
        revision, candidates = await self.copies.search(where, kind, text, MAX_SEARCH_RESOURCES)
        by_place: dict[int, list[int]] = defaultdict(list)
        distances: dict[int, float | None] = {}
        for candidate in candidates:
            by_place[candidate.place_id].append(candidate.resource_id)
            distances[candidate.place_id] = candidate.distance_km
        # The places' kept copies (resources, units, hours, rules) as the other reads use them;
        # a resource changed since the search found it is judged by its copy.
        snapshots = await self.copies.of_places(list(by_place), revision)
        listed_at = {
            place_id: [
                snapshot.resources[rid] for rid in by_place[place_id] if rid in snapshot.resources
            ]
            for place_id, snapshot in snapshots.items()
        }
        now = self.clock()
        # Whole-range search: one read of the bookings of every candidate, whatever its place.
        busy: dict[int, list[tuple[int, datetime, datetime]]] = defaultdict(list)
        if not free_times:
            ids = [r.id for listed in listed_at.values() for r in listed if r.id is not None]
            for rid, unit, s, e in await self.repo.busy(ids, start, end + _DAY, now):
                busy[rid].append((unit, s, e))
        hits: list[SearchHit] = []
        for place_id, snapshot in snapshots.items():
            listed = listed_at[place_id]
            found = (
                await self._free_times_at(
                    actor,
                    snapshot,
                    listed,
                    start,
                    end,
                    quantity,
                    duration_minutes,
                    now,
                    distances[place_id],
                )
                if free_times
                else self._free_for_all_of(
                    actor, snapshot, listed, start, end, quantity, busy, now, distances[place_id]
                )
            )
            hits.extend(found)
        hits.sort(
            key=lambda h: (
                h.free_times[0].starts_at if h.free_times else h.local_starts_at,
                h.distance_km if h.distance_km is not None else 0.0,
                h.place_name,
                h.resource_name,
            )
        )
        return hits

    @staticmethod
    def _hit(
        resource: Resource,
        place: Place,
        tz: ZoneInfo,
        requires_approval: bool,
        start: datetime,
        end: datetime,
        free: list[FreeTime],
        distance_km: float | None,
    ) -> SearchHit:
        assert resource.id is not None and place.id is not None
        return SearchHit(
            resource_id=resource.id,
            resource_name=resource.name,
            kind=resource.kind,
            place_id=place.id,
            place_name=place.name,
            town=place.town,
            latitude=place.latitude,
            longitude=place.longitude,
            timezone=tz.key,
            free_units=max(t.free_units for t in free),
            requires_training=resource.required_training_id is not None,
            requires_approval=requires_approval,
            local_starts_at=start.astimezone(tz),
            local_ends_at=end.astimezone(tz),
            free_times=free,
            distance_km=distance_km,
        )

    def _free_for_all_of(
        self,
        actor: Actor,
        snapshot: PlaceSnapshot,
        resources: list[Resource],
        start: datetime,
        end: datetime,
        quantity: int,
        busy: dict[int, list[tuple[int, datetime, datetime]]],
        now: datetime,
        distance_km: float | None,
    ) -> list[SearchHit]:
        """The resources of one place free for the whole range (``busy``: their bookings'
        units and ranges, by resource)."""
        place = snapshot.place
        assert place.id is not None
        tz = ZoneInfo(place.timezone)
        ids = [r.id for r in resources if r.id is not None]
        spans = snapshot.open_spans(
            start.astimezone(tz).date() - _DAY, end.astimezone(tz).date() + 2 * _DAY
        )
        units = snapshot.units
        blackouts = snapshot.blackouts_between(ids, start, end)
        user_type = actor.user_type_at(place.id)
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        # With no booking weighed, the verdict of check_booking depends on the rules, the
        # capacity and the blackouts alone (range, hours and clock are the same for the whole
        # place): alike resources, such as a place's machines, are judged once.
        refused: dict[tuple[SlotRules, int, tuple[Span, ...]], bool] = {}
        hits: list[SearchHit] = []
        for resource in resources:
            rid = resource.id
            assert rid is not None
            policy, rules = snapshot.rules_for(rid, user_type)
            capacity = len(units[rid])
            verdict_key = (rules, capacity, tuple(blackouts[rid]))
            verdict = refused.get(verdict_key)
            if verdict is None:
                verdict = refused[verdict_key] = bool(
                    check_booking(
                        start,
                        end,
                        quantity,
                        capacity=capacity,
                        open_spans=spans,
                        busy=(),
                        blackouts=blackouts[rid],
                        rules=rules,
                        now=now,
                        tz=tz,
                    )
                )
            if verdict:
                continue
            free = free_units(
                snapshot.unit_ids(rid), busy.get(rid, ()), start, end + rules.buffer_after
            )
            if len(free) >= quantity:
                whole = FreeTime(
                    starts_at=start,
                    ends_at=end,
                    local_starts_at=local_start,
                    local_ends_at=local_end,
                    free_units=len(free),
                )
                hits.append(
                    self._hit(
                        resource,
                        place,
                        tz,
                        policy.requires_approval,
                        start,
                        end,
                        [whole],
                        distance_km,
                    )
                )
        return hits

    async def _free_times_at(
        self,
        actor: Actor,
        snapshot: PlaceSnapshot,
        resources: list[Resource],
        start: datetime,
        end: datetime,
        quantity: int,
        duration_minutes: int | None,
        now: datetime,
        distance_km: float | None,
    ) -> list[SearchHit]:
        """The resources of one place with free times of the length asked (each resource's
        shortest by default) inside the range; a resource the length does not suit is left out."""
        place = snapshot.place
        assert place.id is not None
        tz = ZoneInfo(place.timezone)
        first = start.astimezone(tz).date()
        last = (end - timedelta(microseconds=1)).astimezone(tz).date() + _DAY
        user_type = actor.user_type_at(place.id)
        plans: dict[int, SlotPlan] = {}
        for resource in resources:
            if resource.id is None or resource.id not in snapshot.resources:
                continue
            try:
                plans[resource.id] = self._plan(
                    snapshot, resource, user_type, first, last, duration_minutes, quantity
                )
            except InvalidInputError:
                continue  # the length or the number of units does not suit this resource
        hits: list[SearchHit] = []
        for found in await self._slots_of(snapshot, plans, now):
            fitting = [
                FreeTime(
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    local_starts_at=slot.local_starts_at,
                    local_ends_at=slot.local_ends_at,
                    free_units=slot.free_units,
                )
                for slot in found.slots
                if slot.starts_at >= start and slot.ends_at <= end and slot.free_units >= quantity
            ][:MAX_FREE_TIMES]
            if fitting:
                resource = snapshot.resources[found.resource_id]
                policy, _ = snapshot.rules_for(found.resource_id, user_type)
                hits.append(
                    self._hit(
                        resource,
                        place,
                        tz,
                        policy.requires_approval,
                        start,
                        end,
                        fitting,
                        distance_km,
                    )
                )
        return hits
