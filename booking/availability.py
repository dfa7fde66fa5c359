"""Pure availability logic: free capacity, bookable slots and booking checks (no I/O).

Instants are timezone-aware and results are in UTC; intervals are half-open ``[start, end)``.
A booking ``[start, end)`` of a resource with a cool-down blocks ``[start, end + buffer_after)``:
that blocked range must fit the free capacity, but only ``[start, end)`` has to lie inside
opening hours and outside blackouts (the machine may cool down after closing time).
The slot grid is local wall-clock time counted from local midnight (see :func:`on_grid`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

import msgspec

from resources.hours import local_to_utc, merge_spans
from resources.schedule import Span

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
# datetime resolution: "before x" is "at or before x - _TICK", which keeps range maths exact.
_TICK = timedelta(microseconds=1)

K = TypeVar("K", bound=Hashable)


class Reason(StrEnum):
    """Stable codes explaining why a booking request is refused (translated by API/UI)."""

    END_BEFORE_START = "end_before_start"
    INVALID_QUANTITY = "invalid_quantity"
    OVER_CAPACITY = "over_capacity"
    IN_THE_PAST = "in_the_past"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NOT_ALIGNED = "not_aligned"
    OUTSIDE_OPENING_HOURS = "outside_opening_hours"
    BLACKOUT = "blackout"
    INSUFFICIENT_NOTICE = "insufficient_notice"
    TOO_FAR_AHEAD = "too_far_ahead"
    SLOT_UNAVAILABLE = "slot_unavailable"


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a booking request is refused, with an English detail for logs."""

    code: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Busy:
    """Units held by an active booking over its blocked range (its end includes its buffer)."""

    start: datetime
    end: datetime
    units: int

    def __post_init__(self) -> None:
        _require_aware(self.start, self.end)
        # Compared in UTC: within one zone Python compares wall clocks, wrong in autumn's 2nd hour.
        if self.end.astimezone(UTC) <= self.start.astimezone(UTC):
            raise ValueError(f"busy range ends before it starts: {self.start} - {self.end}")
        if self.units <= 0:
            raise ValueError(f"busy range must hold at least one unit, got {self.units}")


@dataclass(frozen=True, slots=True)
class SlotRules:
    """Booking rules of a resource for one kind of booker."""

    granularity: timedelta
    min_duration: timedelta = _ZERO
    max_duration: timedelta | None = None
    buffer_after: timedelta = _ZERO
    min_notice: timedelta = _ZERO
    max_advance: timedelta | None = None

    def __post_init__(self) -> None:
        if not _ZERO < self.granularity <= _DAY:
            raise ValueError("granularity must be positive and at most one day")
        for name in ("min_duration", "buffer_after", "min_notice", "max_advance"):
            value = getattr(self, name)
            if value is not None and value < _ZERO:
                raise ValueError(f"{name} must not be negative")
        if self.max_duration is not None and self.max_duration < self.default_duration:
            raise ValueError("max_duration leaves no bookable duration on the granularity grid")

    @property
    def default_duration(self) -> timedelta:
        """The shortest bookable length: min_duration rounded up to the grid, at least one step."""
        steps = max(1, -(-self.min_duration // self.granularity))
        return self.granularity * steps


class Slot(msgspec.Struct, frozen=True):
    """A bookable range and the units still free over its blocked range (a struct: slots are
    made by the thousand per read)."""

    start: datetime
    end: datetime
    free_units: int


@dataclass(frozen=True, slots=True)
class ResourceCalendar:
    """Everything availability needs about one resource, for place-wide views."""

    capacity: int
    rules: SlotRules
    open_spans: Sequence[Span]
    busy: Sequence[Busy] = ()
    blackouts: Sequence[Span] = ()


def blocked_range(start: datetime, end: datetime, units: int, rules: SlotRules) -> Busy:
    """Return the Busy a new booking [start, end) will hold, cool-down included."""
    return Busy(start, end + rules.buffer_after, units)


def on_grid(instant: datetime, tz: ZoneInfo, granularity: timedelta) -> bool:
    """Tell whether the local wall-clock time of ``instant`` is a multiple of the granularity."""
    # Counting wall-clock time from local midnight keeps 09:00 on the grid on 23- and 25-hour
    # days; both occurrences of an autumn 02:30 are on it, spring-gap times do not exist.
    local = instant.astimezone(tz)
    since_midnight = timedelta(
        hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    return since_midnight % granularity == _ZERO


def free_units_timeline(
    capacity: int, busy: Sequence[Busy], blackouts: Sequence[Span], window: Span
) -> list[tuple[Span, int]]:
    """Return the piecewise-constant free units over ``window``; blackouts make it 0."""
    _require_capacity(capacity)
    window = _utc_span(window)
    load_delta: dict[datetime, int] = {}
    black_delta: dict[datetime, int] = {}
    for booking in busy:
        _add(load_delta, booking.start.astimezone(UTC), booking.units)
        _add(load_delta, booking.end.astimezone(UTC), -booking.units)
    for blackout in map(_utc_span, blackouts):
        if blackout.end > blackout.start:
            _add(black_delta, blackout.start, 1)
            _add(black_delta, blackout.end, -1)
    pieces: list[tuple[Span, int]] = []
    cursor, load, black = window.start, 0, 0
    for moment in sorted(load_delta.keys() | black_delta.keys()):
        if moment >= window.end:
            break
        if moment > cursor:
            _emit(pieces, Span(cursor, moment), _free(capacity, load, black))
            cursor = moment
        load += load_delta.get(moment, 0)
        black += black_delta.get(moment, 0)
    if cursor < window.end:
        _emit(pieces, Span(cursor, window.end), _free(capacity, load, black))
    return pieces


def free_spans(
    *,
    capacity: int,
    busy: Sequence[Busy],
    blackouts: Sequence[Span],
    open_spans: Sequence[Span],
    window: Span,
    units: int = 1,
    buffer_after: timedelta = _ZERO,
) -> list[Span]:
    """Return the instants of ``window`` where a booking of ``units`` could be in progress."""
    # A booking in progress at t needs free units over [t, t + buffer_after), so each free
    # stretch loses buffer_after at its end; looking buffer_after past the window keeps a
    # stretch that merely reaches the window's end intact.
    _require_units(units)
    window = _utc_span(window)
    horizon = Span(window.start, window.end + buffer_after)
    free = merge_spans(
        [span for span, n in free_units_timeline(capacity, busy, (), horizon) if n >= units]
    )
    eroded = [Span(s.start, s.end - buffer_after) for s in free if s.end - buffer_after > s.start]
    inside = _intersect(eroded, _merged_utc(open_spans))
    return _subtract(inside, _merged_utc(blackouts))


def bookable_slots(
    *,
    open_spans: Sequence[Span],
    busy: Sequence[Busy],
    blackouts: Sequence[Span],
    capacity: int,
    rules: SlotRules,
    window: Span,
    now: datetime | None,
    tz: ZoneInfo,
    duration: timedelta | None = None,
    units: int = 1,
) -> list[Slot]:
    """Return the grid-aligned slots starting in ``window`` that can take ``units`` now.

    With ``now`` None, the slots at any time: :func:`reach` then tells which can be booked at
    a given instant (the same answer, so a computed week can be kept while bookings don't
    change).
    """
    _require_capacity(capacity)
    _require_units(units)
    length = _slot_length(rules, duration)
    window = _utc_span(window)
    opening, closed = _Spans(open_spans), _Spans(blackouts)
    first, last = window.start, window.end - _TICK
    if now is not None:
        earliest, latest = reach(now, rules)
        first = max(first, earliest)
        last = last if latest is None else min(last, latest)
    if capacity == 1:
        # One unit (how unit_slots asks): a start is bookable unless it lies where some
        # busy range or closure refuses every start, found by one bisection.
        refused = _RefusedStarts(busy, closed, length, rules.buffer_after)
        return [] if units > 1 else refused.slots(opening, first, last, length, rules, tz)
    load = _Load(busy)
    slots: list[Slot] = []
    for span in opening.spans:
        lo, hi = max(first, span.start), min(last, span.end - length)
        for start, plain_until in _grid(lo, hi, tz, rules.granularity):
            end = start + length
            # Whole grid steps from an on-grid start stay on the grid until the local day
            # changes offset, so only ends from that point on need a zone lookup (the next
            # midnight itself: a spring gap at midnight leaves a day without it).
            if end >= plain_until and not on_grid(end, tz, rules.granularity):
                continue
            if closed.overlaps(start, end):
                continue
            free = capacity - load.peak(start, end + rules.buffer_after)
            if free >= units:
                slots.append(Slot(start, end, free))
    # A fall-back transition at local midnight can interleave two local days; keep time order.
    slots.sort(key=lambda slot: slot.start)
    return slots


def reach(now: datetime, rules: SlotRules) -> tuple[datetime, datetime | None]:
    """The first and last slot starts bookable at ``now`` (notice, horizon; None: no horizon)."""
    now = _utc(now)
    latest = None if rules.max_advance is None else now + rules.max_advance
    return now + rules.min_notice, latest


def check_booking(
    start: datetime,
    end: datetime,
    units: int,
    *,
    capacity: int,
    open_spans: Sequence[Span],
    busy: Sequence[Busy],
    blackouts: Sequence[Span],
    rules: SlotRules,
    now: datetime,
    tz: ZoneInfo,
) -> list[Problem]:
    """Return every reason to refuse booking ``units`` over [start, end) (empty list: accept)."""
    # Order: malformed request, then rule violations, then the conflict (409) last and only
    # for an otherwise valid request, since "unavailable" means nothing for a bad request.
    _require_capacity(capacity)
    start, end, now = _utc(start), _utc(end), _utc(now)
    shape = _shape_problems(start, end, units, capacity)
    if shape:
        return shape
    problems = _rule_problems(start, end, rules, tz)
    problems += _calendar_problems(start, end, _Spans(open_spans), _Spans(blackouts))
    problems += _timing_problems(start, now, rules)
    if not problems:
        peak = _Load(busy).peak(start, end + rules.buffer_after)
        if peak + units > capacity:
            free = max(0, capacity - peak)
            problems.append(
                Problem(Reason.SLOT_UNAVAILABLE, f"{units} unit(s) requested, {free} free")
            )
    return problems


def place_slots(
    calendars: Mapping[K, ResourceCalendar],
    *,
    window: Span,
    now: datetime,
    tz: ZoneInfo,
    duration: timedelta | None = None,
    units: int = 1,
) -> dict[K, list[Slot]]:
    """Return bookable slots per resource of a place; resources unfit for the request get []."""
    result: dict[K, list[Slot]] = {}
    for key, calendar in calendars.items():
        rules = calendar.rules
        length = rules.default_duration if duration is None else duration
        if units > calendar.capacity or not _length_fits(length, rules):
            result[key] = []
            continue
        result[key] = bookable_slots(
            open_spans=calendar.open_spans,
            busy=calendar.busy,
            blackouts=calendar.blackouts,
            capacity=calendar.capacity,
            rules=rules,
            window=window,
            now=now,
            tz=tz,
            duration=length,
            units=units,
        )
    return result


def _shape_problems(start: datetime, end: datetime, units: int, capacity: int) -> list[Problem]:
    """Problems with the request itself, independent of any rule or calendar."""
    problems: list[Problem] = []
    if end <= start:
        problems.append(Problem(Reason.END_BEFORE_START, "the end must be after the start"))
    if units <= 0:
        problems.append(Problem(Reason.INVALID_QUANTITY, f"quantity must be positive: {units}"))
    elif units > capacity:
        problems.append(
            Problem(Reason.OVER_CAPACITY, f"{units} unit(s) requested, capacity is {capacity}")
        )
    return problems


def _rule_problems(start: datetime, end: datetime, rules: SlotRules, tz: ZoneInfo) -> list[Problem]:
    """Problems with the booking's length and grid alignment."""
    problems = _length_problems(end - start, rules)
    if not (on_grid(start, tz, rules.granularity) and on_grid(end, tz, rules.granularity)):
        problems.append(
            Problem(Reason.NOT_ALIGNED, f"start and end must be on the {rules.granularity} grid")
        )
    return problems


def _length_problems(length: timedelta, rules: SlotRules) -> list[Problem]:
    """Problems with a booking length against min/max duration."""
    if length < rules.min_duration:
        return [Problem(Reason.TOO_SHORT, f"{length} is shorter than {rules.min_duration}")]
    if rules.max_duration is not None and length > rules.max_duration:
        return [Problem(Reason.TOO_LONG, f"{length} is longer than {rules.max_duration}")]
    return []


def _calendar_problems(
    start: datetime, end: datetime, opening: _Spans, blackouts: _Spans
) -> list[Problem]:
    """Problems with opening hours and blackouts (the cool-down is exempt from both)."""
    problems: list[Problem] = []
    if not opening.contains(start, end):
        problems.append(
            Problem(Reason.OUTSIDE_OPENING_HOURS, "the booking is not within one opening span")
        )
    if blackouts.overlaps(start, end):
        problems.append(Problem(Reason.BLACKOUT, "the booking overlaps a closure"))
    return problems


def _timing_problems(start: datetime, now: datetime, rules: SlotRules) -> list[Problem]:
    """Problems with when the booking starts relative to ``now``."""
    if start < now:
        return [Problem(Reason.IN_THE_PAST, "the booking starts in the past")]
    problems: list[Problem] = []
    if start < now + rules.min_notice:
        problems.append(
            Problem(Reason.INSUFFICIENT_NOTICE, f"book at least {rules.min_notice} ahead")
        )
    if rules.max_advance is not None and start > now + rules.max_advance:
        problems.append(Problem(Reason.TOO_FAR_AHEAD, f"book at most {rules.max_advance} ahead"))
    return problems


def _slot_length(rules: SlotRules, duration: timedelta | None) -> timedelta:
    """Return the requested slot length, or raise ValueError if no slot can have it."""
    length = rules.default_duration if duration is None else duration
    problems = _length_problems(length, rules)
    if problems:
        raise ValueError(f"{problems[0].code}: {problems[0].detail}")
    if not _length_fits(length, rules):
        raise ValueError(f"slot duration {length} is not a multiple of {rules.granularity}")
    return length


def _length_fits(length: timedelta, rules: SlotRules) -> bool:
    """Tell whether slots of ``length`` are allowed and can end on the grid."""
    # Whole grid steps are what makes an on-grid start end on the grid; any other length
    # would silently yield no slot, so it is reported as a caller error instead.
    return length > _ZERO and not length % rules.granularity and not _length_problems(length, rules)


class _Load:
    """Step function of the units held by busy ranges, answering range-maximum queries."""

    __slots__ = ("_loads", "_times")

    def __init__(self, busy: Sequence[Busy]) -> None:
        deltas: dict[datetime, int] = {}
        for booking in busy:
            _add(deltas, booking.start.astimezone(UTC), booking.units)
            _add(deltas, booking.end.astimezone(UTC), -booking.units)
        self._times = sorted(deltas)
        self._loads: list[int] = []
        running = 0
        for moment in self._times:
            running += deltas[moment]
            self._loads.append(running)  # load on [times[i], times[i + 1])

    def peak(self, start: datetime, end: datetime) -> int:
        """Return the most units held at any instant of [start, end)."""
        i = bisect_right(self._times, start) - 1
        peak = self._loads[i] if i >= 0 else 0
        for j in range(i + 1, len(self._times)):
            if self._times[j] >= end:
                break
            peak = max(peak, self._loads[j])
        return peak


class _RefusedStarts:
    """Where a single unit's slot of a given length may not start, as merged open ranges.

    A slot [s, s + length) holds the unit over [s, s + length + buffer_after), so a busy range
    [a, b) refuses every start in (a - length - buffer_after, b); a closure [a, b) refuses
    (a - length, b), the cool-down being exempt from closures. Open ranges: a slot may end
    where a booking starts, or start where one ends.
    """

    __slots__ = ("_ends", "_starts")

    def __init__(
        self, busy: Sequence[Busy], closed: _Spans, length: timedelta, buffer_after: timedelta
    ) -> None:
        reach = length + buffer_after
        ranges = sorted(
            [(b.start.astimezone(UTC) - reach, b.end.astimezone(UTC)) for b in busy]
            + [(span.start - length, span.end) for span in closed.spans]
        )
        self._starts: list[datetime] = []
        self._ends: list[datetime] = []
        for start, end in ranges:
            if self._ends and start < self._ends[-1]:
                self._ends[-1] = max(self._ends[-1], end)
            else:
                self._starts.append(start)
                self._ends.append(end)

    def refuse(self, start: datetime) -> bool:
        """Tell whether no slot may start at ``start``."""
        # The last range opening before ``start`` is the only one that can hold it: the
        # ranges are disjoint and sorted.
        i = bisect_left(self._starts, start) - 1
        return i >= 0 and start < self._ends[i]

    def slots(
        self,
        opening: _Spans,
        first: datetime,
        last: datetime,
        length: timedelta,
        rules: SlotRules,
        tz: ZoneInfo,
    ) -> list[Slot]:
        """The grid starts in [first, last] of slots inside an opening span and not refused."""
        slots: list[Slot] = []
        granularity = rules.granularity
        transitions = False
        for span in opening.spans:
            lo, hi = max(first, span.start), min(last, span.end - length)
            if lo > hi:
                continue
            # A day early: a fall-back transition at midnight gives instants after ``lo`` an
            # earlier local date.
            day = lo.astimezone(tz).date() - _DAY
            final = hi.astimezone(tz).date()
            while day <= final:
                midnight, next_midnight = _midnight(day, tz), _midnight(day + _DAY, tz)
                if next_midnight - midnight == _DAY:
                    self._plain_day(slots, midnight, lo, hi, length, granularity, tz)
                else:
                    transitions = True
                    for start, _ in _day_grid(day, tz, granularity, lo, hi):
                        end = start + length
                        if on_grid(end, tz, granularity) and not self.refuse(start):
                            slots.append(Slot(start, end, 1))
                day += _DAY
        if transitions:  # a fall-back transition at local midnight can interleave two days
            slots.sort(key=_start_of)
        return slots

    def _plain_day(
        self,
        slots: list[Slot],
        midnight: datetime,
        lo: datetime,
        hi: datetime,
        length: timedelta,
        granularity: timedelta,
        tz: ZoneInfo,
    ) -> None:
        """Append the slots starting on a local day without offset change: its grid is plain
        UTC steps from ``midnight``, and a refused range is skipped in one step."""
        next_midnight = midnight + _DAY
        k = max(0, -(-(lo - midnight) // granularity))
        last_k = min(-(-_DAY // granularity) - 1, (hi - midnight) // granularity)
        starts, ends = self._starts, self._ends
        while k <= last_k:
            start = midnight + granularity * k
            i = bisect_left(starts, start) - 1
            if i >= 0 and start < ends[i]:
                k = max(k + 1, -(-(ends[i] - midnight) // granularity))
                continue
            # Free up to the next refused range's opening, that instant included.
            top = last_k
            if i + 1 < len(starts):
                top = min(top, (starts[i + 1] - midnight) // granularity)
            for _ in range(k, top + 1):
                end = start + length
                # Whole grid steps stay on the grid until the local day changes offset (an
                # end at the next midnight is checked: a spring gap can skip that midnight).
                if end < next_midnight or on_grid(end, tz, granularity):
                    slots.append(Slot(start, end, 1))
                start += granularity
            k = top + 1


def _start_of(slot: Slot) -> datetime:
    """A slot's start (the sort key of slots)."""
    return slot.start


class _Spans:
    """Merged, sorted UTC spans answering containment and overlap queries by bisection."""

    __slots__ = ("_ends", "_starts", "spans")

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = _merged_utc(spans)
        self._starts = [span.start for span in self.spans]
        self._ends = [span.end for span in self.spans]

    def contains(self, start: datetime, end: datetime) -> bool:
        """Tell whether [start, end) lies inside a single span."""
        i = bisect_right(self._starts, start) - 1
        return i >= 0 and end <= self._ends[i]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Tell whether [start, end) shares an instant with any span."""
        i = bisect_right(self._ends, start)
        return i < len(self.spans) and self._starts[i] < end


def _grid(
    lo: datetime, hi: datetime, tz: ZoneInfo, granularity: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Yield the on-grid instants of [lo, hi] with the end of their plain stretch (see below)."""
    if lo > hi:
        return
    # Start a day early: a fall-back transition at midnight gives instants after ``lo`` an
    # earlier local date.
    day = lo.astimezone(tz).date() - _DAY
    last = hi.astimezone(tz).date()
    while day <= last:
        yield from _day_grid(day, tz, granularity, lo, hi)
        day += _DAY


@lru_cache(maxsize=8192)
def _midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local date's midnight (see local_to_utc for a day without one):
    every slot computation asks for the same few days again."""
    return local_to_utc(datetime.combine(day, time()), tz)


def _day_grid(
    day: date, tz: ZoneInfo, granularity: timedelta, lo: datetime, hi: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Yield (instant, plain_until) for the on-grid instants of one local date in [lo, hi].

    ``plain_until`` is the next local midnight on a day without offset change (UTC steps
    equal wall-clock steps before it; that instant itself may be past a spring gap), else
    the instant itself.
    """
    midnight, next_midnight = _midnight(day, tz), _midnight(day + _DAY, tz)
    steps = -(-_DAY // granularity)
    if next_midnight - midnight == _DAY:
        # No transition that day (two opposite ones on the same day do not occur in tzdata),
        # so wall-clock steps are plain UTC steps and the range is found by arithmetic.
        first = max(0, -(-(lo - midnight) // granularity))
        last = min(steps - 1, (hi - midnight) // granularity)
        for k in range(first, last + 1):
            yield midnight + granularity * k, next_midnight
        return
    # Transition day: convert each wall-clock step; the repeated autumn hour interleaves
    # instants of consecutive steps, hence the sort.
    wall_midnight = datetime.combine(day, time())
    instants = (
        instant
        for k in range(steps)
        for instant in _wall_instants(wall_midnight + granularity * k, tz)
    )
    for instant in sorted(instant for instant in instants if lo <= instant <= hi):
        yield instant, instant


def _wall_instants(wall: datetime, tz: ZoneInfo) -> list[datetime]:
    """Return the UTC instants showing ``wall`` in ``tz``: none in a gap, two in an overlap."""
    instants: list[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == wall and instant not in instants:
            instants.append(instant)
    return sorted(instants)


def _intersect(left: Sequence[Span], right: Sequence[Span]) -> list[Span]:
    """Intersect two sorted lists of disjoint spans."""
    result: list[Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i].start, right[j].start)
        end = min(left[i].end, right[j].end)
        if start < end:
            result.append(Span(start, end))
        if left[i].end <= right[j].end:
            i += 1
        else:
            j += 1
    return result


def _subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """Remove sorted disjoint ``holes`` from sorted disjoint ``spans``."""
    result: list[Span] = []
    j = 0
    for span in spans:
        start = span.start
        while j < len(holes) and holes[j].end <= start:
            j += 1
        k = j
        while k < len(holes) and holes[k].start < span.end:
            if holes[k].start > start:
                result.append(Span(start, holes[k].start))
            start = max(start, holes[k].end)
            k += 1
        if start < span.end:
            result.append(Span(start, span.end))
    return result


def _emit(pieces: list[tuple[Span, int]], span: Span, free: int) -> None:
    """Append a timeline piece, extending the previous one when the value is unchanged."""
    if pieces and pieces[-1][1] == free and pieces[-1][0].end == span.start:
        pieces[-1] = (Span(pieces[-1][0].start, span.end), free)
    else:
        pieces.append((span, free))


def _free(capacity: int, load: int, black: int) -> int:
    """Free units given the load; over-booked data (capacity lowered later) shows 0."""
    return 0 if black else max(0, capacity - load)


def _add(deltas: dict[datetime, int], moment: datetime, delta: int) -> None:
    """Accumulate a sweep-line delta at ``moment``."""
    deltas[moment] = deltas.get(moment, 0) + delta


def _merged_utc(spans: Sequence[Span]) -> list[Span]:
    """Validate spans, convert them to UTC and merge them."""
    return merge_spans([_utc_span(span) for span in spans])


def _utc_span(span: Span) -> Span:
    """Return ``span`` in UTC, refusing naive or inverted spans."""
    start, end = _utc(span.start), _utc(span.end)
    if end < start:
        raise ValueError(f"span ends before it starts: {span.start} - {span.end}")
    return Span(start, end)


def _utc(moment: datetime) -> datetime:
    """Return an aware datetime in UTC, refusing naive ones."""
    _require_aware(moment)
    return moment.astimezone(UTC)


def _require_aware(*moments: datetime) -> None:
    """Raise ValueError for a naive datetime: it has no defined instant."""
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment.isoformat()} has no defined instant")


def _require_capacity(capacity: int) -> None:
    """Raise ValueError for a negative capacity."""
    if capacity < 0:
        raise ValueError(f"capacity must not be negative, got {capacity}")


def _require_units(units: int) -> None:
    """Raise ValueError for a non-positive requested quantity."""
    if units <= 0:
        raise ValueError(f"units must be positive, got {units}")
