"""Availability: free capacity, bookable slots and booking checks, on ordinary and DST days."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.availability import (
    Busy,
    Problem,
    Reason,
    ResourceCalendar,
    Slot,
    SlotRules,
    blocked_range,
    bookable_slots,
    check_booking,
    free_spans,
    free_units_timeline,
    on_grid,
    place_slots,
    reach,
)
from booking.rules import day_window as days_span
from booking.rules import unit_slots
from booking.service.availability import SlotPlan, shaping
from resources.hours import local_to_utc, open_spans
from resources.schedule import Span, WeeklyOpening

PARIS = ZoneInfo("Europe/Paris")
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

LASER = SlotRules(
    granularity=30 * MINUTE,
    min_duration=HOUR,
    max_duration=3 * HOUR,
    buffer_after=15 * MINUTE,
    min_notice=HOUR,
    max_advance=14 * DAY,
)
HOURLY = SlotRules(granularity=HOUR, min_duration=HOUR)


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a Europe/Paris wall-clock time."""
    return local_to_utc(datetime.combine(date(year, month, day), time(hour, minute)), PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fablab_spans(start: date = date(2026, 6, 1), end: date = date(2026, 7, 1)) -> list[Span]:
    """Tuesday-Saturday 09:00-12:00 and 14:00-18:00 in Paris."""
    weekly = [WeeklyOpening(d, time(9), time(12)) for d in range(1, 6)]
    weekly += [WeeklyOpening(d, time(14), time(18)) for d in range(1, 6)]
    return open_spans(weekly, [], PARIS, start, end)


def daily_spans(opens: time, closes: time, start: date, end: date) -> list[Span]:
    """The same opening every day in Paris."""
    weekly = [WeeklyOpening(d, opens, closes) for d in range(7)]
    return open_spans(weekly, [], PARIS, start, end)


def tuesday(hour: int, minute: int = 0) -> datetime:
    """A wall-clock time on Tuesday 2 June 2026 in Paris."""
    return paris(2026, 6, 2, hour, minute)


def day_window(day: date) -> Span:
    """The local day as a window."""
    start = local_to_utc(datetime.combine(day, time(0)), PARIS)
    return Span(start, local_to_utc(datetime.combine(day + DAY, time(0)), PARIS))


MONDAY_MORNING = paris(2026, 6, 1, 10)  # the default "now"


def check(
    start: datetime,
    end: datetime,
    units: int = 1,
    *,
    capacity: int = 1,
    busy: tuple[Busy, ...] = (),
    blackouts: tuple[Span, ...] = (),
    rules: SlotRules = LASER,
    now: datetime = MONDAY_MORNING,
) -> list[Reason]:
    """check_booking on the fablab's June, returning just the codes."""
    problems = check_booking(
        start,
        end,
        units,
        capacity=capacity,
        open_spans=fablab_spans(),
        busy=busy,
        blackouts=blackouts,
        rules=rules,
        now=now,
        tz=PARIS,
    )
    return [problem.code for problem in problems]


def slots(
    window: Span,
    *,
    spans: list[Span] | None = None,
    capacity: int = 1,
    busy: tuple[Busy, ...] = (),
    blackouts: tuple[Span, ...] = (),
    rules: SlotRules = LASER,
    now: datetime = MONDAY_MORNING,
    duration: timedelta | None = None,
    units: int = 1,
) -> list[Slot]:
    """bookable_slots with the fablab's June by default."""
    return bookable_slots(
        open_spans=fablab_spans() if spans is None else spans,
        busy=busy,
        blackouts=blackouts,
        capacity=capacity,
        rules=rules,
        window=window,
        now=now,
        tz=PARIS,
        duration=duration,
        units=units,
    )


def starts(found: list[Slot]) -> list[datetime]:
    """The start of each slot."""
    return [slot.start for slot in found]


# check_booking: one test per reason code ------------------------------------------------------


def test_a_valid_request_has_no_problem() -> None:
    assert check(tuesday(9), tuesday(10)) == []
    assert check(tuesday(9), tuesday(12)) == []  # exactly max_duration, up to closing


@pytest.mark.parametrize(
    ("start", "end", "units", "capacity", "expected"),
    [
        (tuesday(10), tuesday(10), 1, 1, [Reason.END_BEFORE_START]),
        (tuesday(10), tuesday(9), 1, 1, [Reason.END_BEFORE_START]),
        (tuesday(9), tuesday(10), 0, 1, [Reason.INVALID_QUANTITY]),
        (tuesday(9), tuesday(10), -2, 12, [Reason.INVALID_QUANTITY]),
        (tuesday(9), tuesday(10), 13, 12, [Reason.OVER_CAPACITY]),
        (tuesday(9), tuesday(10), 1, 0, [Reason.OVER_CAPACITY]),
        # Shape problems stop the checks: no "outside hours" noise for a Monday here.
        (paris(2026, 6, 1, 9), paris(2026, 6, 1, 8), 0, 1, [
            Reason.END_BEFORE_START, Reason.INVALID_QUANTITY
        ]),
    ],
)  # fmt: skip
def test_malformed_requests(
    start: datetime, end: datetime, units: int, capacity: int, expected: list[Reason]
) -> None:
    assert check(start, end, units, capacity=capacity) == expected


def test_in_the_past() -> None:
    assert check(tuesday(9), tuesday(10), now=tuesday(11)) == [Reason.IN_THE_PAST]
    # Already started counts as past too; notice is not reported on top of it.
    assert check(tuesday(9), tuesday(10), now=tuesday(9, 1)) == [Reason.IN_THE_PAST]


def test_too_short_and_too_long() -> None:
    assert check(tuesday(9), tuesday(9, 30)) == [Reason.TOO_SHORT]
    assert check(tuesday(14), tuesday(17, 30)) == [Reason.TOO_LONG]
    assert check(tuesday(14), tuesday(17)) == []


def test_not_aligned() -> None:
    assert check(tuesday(9, 10), tuesday(10, 10)) == [Reason.NOT_ALIGNED]
    assert check(tuesday(9), tuesday(10, 10)) == [Reason.NOT_ALIGNED]
    second = timedelta(seconds=1)
    assert check(tuesday(9) + second, tuesday(10) + second) == [Reason.NOT_ALIGNED]


def test_outside_opening_hours() -> None:
    assert check(tuesday(11, 30), tuesday(12, 30)) == [Reason.OUTSIDE_OPENING_HOURS]
    assert check(tuesday(8, 30), tuesday(9, 30)) == [Reason.OUTSIDE_OPENING_HOURS]
    assert check(tuesday(11), tuesday(14)) == [Reason.OUTSIDE_OPENING_HOURS]  # over lunch
    monday = paris(2026, 6, 8, 9)
    assert check(monday, monday + HOUR) == [Reason.OUTSIDE_OPENING_HOURS]


def test_blackout() -> None:
    maintenance = (Span(tuesday(9, 30), tuesday(9, 45)),)
    assert check(tuesday(9), tuesday(10), blackouts=maintenance) == [Reason.BLACKOUT]
    # Touching a blackout is fine: intervals are half-open.
    assert check(tuesday(10), tuesday(11), blackouts=(Span(tuesday(9), tuesday(10)),)) == []


def test_insufficient_notice() -> None:
    assert check(tuesday(9), tuesday(10), now=tuesday(8, 30)) == [Reason.INSUFFICIENT_NOTICE]
    assert check(tuesday(9), tuesday(10), now=tuesday(8)) == []  # exactly one hour


def test_too_far_ahead() -> None:
    now = tuesday(9)
    assert check(paris(2026, 6, 16, 9), paris(2026, 6, 16, 10), now=now) == []  # exactly 14 days
    late = paris(2026, 6, 16, 9, 30)
    assert check(late, late + HOUR, now=now) == [Reason.TOO_FAR_AHEAD]


def test_slot_unavailable() -> None:
    busy = (Busy(tuesday(9, 30), tuesday(10, 45), 1),)
    assert check(tuesday(9), tuesday(10), busy=busy) == [Reason.SLOT_UNAVAILABLE]


def test_unavailable_is_only_reported_for_otherwise_valid_requests() -> None:
    busy = (Busy(tuesday(11), tuesday(15), 1),)
    assert check(tuesday(11, 30), tuesday(12, 30), busy=busy) == [Reason.OUTSIDE_OPENING_HOURS]


def test_all_rule_problems_are_reported_in_a_stable_order() -> None:
    start = paris(2026, 6, 29, 11, 50)  # a Monday, 4 weeks ahead, off the grid
    codes = check(start, start + 10 * MINUTE, blackouts=(Span(start, start + HOUR),))
    assert codes == [
        Reason.TOO_SHORT,
        Reason.NOT_ALIGNED,
        Reason.OUTSIDE_OPENING_HOURS,
        Reason.BLACKOUT,
        Reason.TOO_FAR_AHEAD,
    ]


def test_problems_carry_a_detail_and_codes_are_plain_strings() -> None:
    problems = check_booking(
        tuesday(9),
        tuesday(10),
        3,
        capacity=2,
        open_spans=fablab_spans(),
        busy=(),
        blackouts=(),
        rules=LASER,
        now=MONDAY_MORNING,
        tz=PARIS,
    )
    assert problems == [Problem(Reason.OVER_CAPACITY, "3 unit(s) requested, capacity is 2")]
    assert problems[0].code == "over_capacity"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        check(tuesday(9).replace(tzinfo=None), tuesday(10))
    with pytest.raises(ValueError, match="naive"):
        Busy(tuesday(9).replace(tzinfo=None), tuesday(10), 1)


def test_other_zones_are_accepted_and_results_are_utc() -> None:
    start = tuesday(9).astimezone(PARIS)
    assert check(start, start + HOUR) == []
    found = slots(Span(start, start + HOUR))
    assert found and all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in found)


# buffers (cool-down) ------------------------------------------------------------------------


def test_laser_cool_down_blocks_the_next_slot() -> None:
    booked = (blocked_range(tuesday(9), tuesday(10), 1, LASER),)
    assert booked[0] == Busy(tuesday(9), tuesday(10, 15), 1)
    morning = Span(tuesday(9), tuesday(12))
    assert starts(slots(morning, busy=booked)) == [tuesday(10, 30), tuesday(11)]
    no_cool_down = SlotRules(granularity=30 * MINUTE, min_duration=HOUR)
    plain = (blocked_range(tuesday(9), tuesday(10), 1, no_cool_down),)
    assert starts(slots(morning, busy=plain, rules=no_cool_down)) == [
        tuesday(10),
        tuesday(10, 30),
        tuesday(11),
    ]
    assert check(tuesday(10), tuesday(11), busy=booked) == [Reason.SLOT_UNAVAILABLE]
    assert check(tuesday(10, 30), tuesday(11, 30), busy=booked) == []


def test_own_cool_down_must_not_hit_the_next_booking() -> None:
    booked = (blocked_range(tuesday(11), tuesday(12), 1, LASER),)
    morning = Span(tuesday(9), tuesday(12))
    assert starts(slots(morning, busy=booked)) == [tuesday(9), tuesday(9, 30)]
    assert check(tuesday(10), tuesday(11), busy=booked) == [Reason.SLOT_UNAVAILABLE]


def test_cool_down_may_run_past_closing_time_and_into_a_blackout() -> None:
    evening = Span(tuesday(17), tuesday(18))
    blackout = (Span(tuesday(18), tuesday(20)),)
    assert starts(slots(evening, blackouts=blackout)) == [tuesday(17)]
    assert check(tuesday(17), tuesday(18), blackouts=blackout) == []


def test_cool_down_past_closing_still_collides_with_a_booking() -> None:
    # A booking at 18:00 is impossible in opening hours, but data may hold one (e.g. manager).
    late = (Busy(tuesday(18, 10), tuesday(19), 1),)
    assert starts(slots(Span(tuesday(17), tuesday(18)), busy=late)) == []


# capacity pools -------------------------------------------------------------------------------

POOL_BUSY = (
    Busy(tuesday(9), tuesday(11), 5),
    Busy(tuesday(10), tuesday(12), 4),
    Busy(tuesday(16), tuesday(17), 12),
)


def test_pool_of_twelve_with_partial_bookings() -> None:
    found = slots(Span(tuesday(0), tuesday(23)), capacity=12, busy=POOL_BUSY, rules=HOURLY)
    assert [(s.start, s.free_units) for s in found] == [
        (tuesday(9), 7),
        (tuesday(10), 3),
        (tuesday(11), 8),
        (tuesday(14), 12),
        (tuesday(15), 12),
        (tuesday(17), 12),
    ]


def test_pool_requests_for_several_units() -> None:
    window = Span(tuesday(0), tuesday(23))
    found = slots(window, capacity=12, busy=POOL_BUSY, rules=HOURLY, units=4)
    assert starts(found) == [tuesday(9), tuesday(11), tuesday(14), tuesday(15), tuesday(17)]
    two_hours = slots(window, capacity=12, busy=POOL_BUSY, rules=HOURLY, duration=2 * HOUR)
    assert [(s.start, s.free_units) for s in two_hours] == [
        (tuesday(9), 3),
        (tuesday(10), 3),
        (tuesday(14), 12),
    ]
    assert check(tuesday(10), tuesday(11), 3, capacity=12, busy=POOL_BUSY, rules=HOURLY) == []
    assert check(tuesday(10), tuesday(11), 4, capacity=12, busy=POOL_BUSY, rules=HOURLY) == [
        Reason.SLOT_UNAVAILABLE
    ]


def test_free_units_timeline_is_piecewise_constant() -> None:
    window = Span(tuesday(8), tuesday(19))
    maintenance = (Span(tuesday(12, 30), tuesday(13)),)
    assert free_units_timeline(12, POOL_BUSY, maintenance, window) == [
        (Span(tuesday(8), tuesday(9)), 12),
        (Span(tuesday(9), tuesday(10)), 7),
        (Span(tuesday(10), tuesday(11)), 3),
        (Span(tuesday(11), tuesday(12)), 8),
        (Span(tuesday(12), tuesday(12, 30)), 12),
        (Span(tuesday(12, 30), tuesday(13)), 0),
        (Span(tuesday(13), tuesday(16)), 12),
        (Span(tuesday(16), tuesday(17)), 0),
        (Span(tuesday(17), tuesday(19)), 12),
    ]


def test_timeline_clips_to_the_window_and_clamps_over_booking() -> None:
    window = Span(tuesday(10, 30), tuesday(11, 30))
    assert free_units_timeline(12, POOL_BUSY, (), window) == [
        (Span(tuesday(10, 30), tuesday(11)), 3),
        (Span(tuesday(11), tuesday(11, 30)), 8),
    ]
    # Capacity lowered below existing bookings: never negative.
    assert free_units_timeline(2, POOL_BUSY, (), window) == [(window, 0)]
    assert free_units_timeline(3, (), (), window) == [(window, 3)]
    assert free_units_timeline(3, (), (), Span(tuesday(9), tuesday(9))) == []


def test_free_spans_account_for_cool_down_opening_and_blackouts() -> None:
    booked = (blocked_range(tuesday(10), tuesday(11), 1, LASER),)
    day = Span(tuesday(0), paris(2026, 6, 3, 0))

    def free(blackouts: tuple[Span, ...], buffer_after: timedelta) -> list[Span]:
        return free_spans(
            capacity=1,
            busy=booked,
            blackouts=blackouts,
            open_spans=fablab_spans(),
            window=day,
            buffer_after=buffer_after,
        )

    # With a cool-down a booking must end 15 min before the next one; closing is no limit.
    assert free((), 15 * MINUTE) == [
        Span(tuesday(9), tuesday(9, 45)),
        Span(tuesday(11, 15), tuesday(12)),
        Span(tuesday(14), tuesday(18)),
    ]
    assert free((Span(tuesday(15), tuesday(15, 30)),), timedelta(0)) == [
        Span(tuesday(9), tuesday(10)),
        Span(tuesday(11, 15), tuesday(12)),
        Span(tuesday(14), tuesday(15)),
        Span(tuesday(15, 30), tuesday(18)),
    ]


def test_free_spans_for_several_units() -> None:
    window = Span(tuesday(0), tuesday(23))
    found = free_spans(
        capacity=12, busy=POOL_BUSY, blackouts=(), open_spans=fablab_spans(), window=window, units=4
    )
    assert found == [
        Span(tuesday(9), tuesday(10)),
        Span(tuesday(11), tuesday(12)),
        Span(tuesday(14), tuesday(16)),
        Span(tuesday(17), tuesday(18)),
    ]


# notice, advance and window --------------------------------------------------------------------


def test_min_notice_and_max_advance_bound_the_slots() -> None:
    found = slots(Span(tuesday(0), paris(2026, 6, 30, 0)), now=tuesday(9, 10))
    assert found[0].start == tuesday(10, 30)
    assert found[-1].start <= tuesday(9, 10) + 14 * DAY
    assert found[-1].start == paris(2026, 6, 16, 9)


def test_window_selects_slot_starts_half_open() -> None:
    found = slots(Span(tuesday(9), tuesday(10)))
    assert starts(found) == [tuesday(9), tuesday(9, 30)]


def test_default_duration_is_min_duration_rounded_up_to_the_grid() -> None:
    rules = SlotRules(granularity=30 * MINUTE, min_duration=40 * MINUTE)
    assert rules.default_duration == HOUR
    assert SlotRules(granularity=30 * MINUTE).default_duration == 30 * MINUTE
    found = slots(Span(tuesday(9), tuesday(10)), rules=rules)
    assert {s.end - s.start for s in found} == {HOUR}


def test_invalid_requests_for_slots_raise() -> None:
    window = Span(tuesday(9), tuesday(12))
    with pytest.raises(ValueError, match="not a multiple"):
        slots(window, duration=70 * MINUTE)
    with pytest.raises(ValueError, match="too_long"):
        slots(window, duration=4 * HOUR)
    with pytest.raises(ValueError, match="units must be positive"):
        slots(window, units=0)
    assert slots(window, units=2) == []  # more units than the resource has: simply none


@pytest.mark.parametrize(
    "kwargs",
    [
        {"granularity": timedelta(0)},
        {"granularity": 2 * DAY},
        {"granularity": HOUR, "min_duration": -HOUR},
        {"granularity": HOUR, "buffer_after": -MINUTE},
        {"granularity": HOUR, "min_duration": 2 * HOUR, "max_duration": HOUR},
        {"granularity": HOUR, "max_duration": 30 * MINUTE},
    ],
)
def test_incoherent_rules_are_refused(kwargs: dict[str, timedelta]) -> None:
    with pytest.raises(ValueError):
        SlotRules(**kwargs)


def test_invalid_busy_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Busy(tuesday(10), tuesday(10), 1)
    with pytest.raises(ValueError, match="at least one unit"):
        Busy(tuesday(10), tuesday(11), 0)


# daylight saving --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "first_start"),
    [(date(2026, 3, 29), utc(2026, 3, 29, 7, 0)), (date(2026, 10, 25), utc(2026, 10, 25, 8, 0))],
)
def test_dst_days_keep_slots_on_the_local_grid(day: date, first_start: datetime) -> None:
    spans = daily_spans(time(9), time(18), day, day + DAY)
    rules = SlotRules(granularity=30 * MINUTE, min_duration=HOUR)
    found = slots(day_window(day), spans=spans, rules=rules, now=utc(2026, 1, 1))
    assert found[0].start == first_start
    assert len(found) == 17  # 09:00 ... 17:00 local
    for slot in found:
        local = slot.start.astimezone(PARIS)
        assert local.minute in (0, 30) and 9 <= local.hour <= 17
        assert slot.end - slot.start == HOUR


@pytest.mark.parametrize(("day", "count"), [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50)])
def test_round_the_clock_place_has_23_or_25_hours_of_slots(day: date, count: int) -> None:
    spans = daily_spans(time(0), time(0), day - DAY, day + 2 * DAY)
    rules = SlotRules(granularity=30 * MINUTE)
    found = slots(day_window(day), spans=spans, rules=rules, now=utc(2026, 1, 1))
    assert len(found) == count
    assert all(b.start - a.start == 30 * MINUTE for a, b in pairwise(found))


def test_a_slot_ending_off_the_grid_after_the_spring_gap_is_not_offered() -> None:
    # 2-hour grid, 2-hour slots: 00:00 CET + 2 h is 03:00 CEST, off the local grid.
    day = date(2026, 3, 29)
    spans = daily_spans(time(0), time(0), day - DAY, day + 2 * DAY)
    rules = SlotRules(granularity=2 * HOUR)
    found = slots(day_window(day), spans=spans, rules=rules, now=utc(2026, 1, 1))
    local_hours = [slot.start.astimezone(PARIS).hour for slot in found]
    assert local_hours == [4, 6, 8, 10, 12, 14, 16, 18, 20, 22]


def test_the_repeated_autumn_hour_is_bookable_twice() -> None:
    day = date(2026, 10, 25)
    spans = daily_spans(time(0), time(0), day - DAY, day + 2 * DAY)
    rules = SlotRules(granularity=HOUR)
    found = starts(slots(day_window(day), spans=spans, rules=rules, now=utc(2026, 1, 1)))
    assert utc(2026, 10, 25, 0) in found  # 02:00 CEST
    assert utc(2026, 10, 25, 1) in found  # 02:00 CET
    second_two_oclock = utc(2026, 10, 25, 1)
    problems = check_booking(
        second_two_oclock,
        second_two_oclock + HOUR,
        1,
        capacity=1,
        open_spans=spans,
        busy=(),
        blackouts=(),
        rules=rules,
        now=utc(2026, 1, 1),
        tz=PARIS,
    )
    assert problems == []


def test_on_grid_uses_local_wall_clock() -> None:
    assert on_grid(utc(2026, 3, 29, 1, 0), PARIS, HOUR)  # 03:00 CEST
    assert on_grid(utc(2026, 3, 28, 23, 0), PARIS, DAY)  # local midnight
    assert not on_grid(utc(2026, 3, 29, 0, 0), PARIS, 2 * HOUR)  # 01:00 CET
    assert on_grid(utc(2026, 3, 29, 0, 0), ZoneInfo("Indian/Reunion"), 2 * HOUR)  # 04:00


def test_grid_follows_a_half_hour_offset_zone() -> None:
    # Marquesas Islands (French Polynesia) are UTC-09:30: local hours are UTC half-hours.
    marquesas = ZoneInfo("Pacific/Marquesas")
    weekly = [WeeklyOpening(d, time(8), time(12)) for d in range(7)]
    spans = open_spans(weekly, [], marquesas, date(2026, 6, 2), date(2026, 6, 3))
    found = bookable_slots(
        open_spans=spans,
        busy=(),
        blackouts=(),
        capacity=1,
        rules=HOURLY,
        window=spans[0],
        now=utc(2026, 1, 1),
        tz=marquesas,
    )
    assert starts(found) == [utc(2026, 6, 2, 17, 30) + n * HOUR for n in range(4)]


def test_two_hour_grid_counts_from_local_midnight() -> None:
    rules = SlotRules(granularity=2 * HOUR)
    found = slots(Span(tuesday(0), tuesday(23)), rules=rules, spans=fablab_spans())
    assert starts(found) == [tuesday(10), tuesday(14), tuesday(16)]


# place-wide view -------------------------------------------------------------------------------


def test_place_slots_per_resource() -> None:
    spans = fablab_spans()
    calendars = {
        "laser": ResourceCalendar(1, LASER, spans, busy=(Busy(tuesday(9), tuesday(12), 1),)),
        "seats": ResourceCalendar(12, HOURLY, spans, busy=POOL_BUSY),
    }
    morning = Span(tuesday(9), tuesday(12))
    both = place_slots(calendars, window=morning, now=MONDAY_MORNING, tz=PARIS)
    assert both["laser"] == []
    assert [s.free_units for s in both["seats"]] == [7, 3, 8]
    two_units = place_slots(calendars, window=morning, now=MONDAY_MORNING, tz=PARIS, units=2)
    assert two_units["laser"] == [] and len(two_units["seats"]) == 3
    long = place_slots(calendars, window=morning, now=MONDAY_MORNING, tz=PARIS, duration=4 * HOUR)
    assert long == {"laser": [], "seats": []}  # 4 h fits no morning, and is too long for the laser


# property tests -------------------------------------------------------------------------------

ORIGINS = [date(2026, 3, 28), date(2026, 6, 2), date(2026, 10, 24)]  # DST days included
# 45 minutes and 2 hours do not divide the 1-hour DST shift: ends can fall off the grid.
GRIDS = [15 * MINUTE, 30 * MINUTE, 45 * MINUTE, HOUR, 2 * HOUR]


@st.composite
def weekly_hours(draw: st.DrawFn) -> list[WeeklyOpening]:
    """Random weekly schedules on a 15-minute wall-clock grid, 24:00 closings included."""
    weekly = []
    quarter = st.integers(min_value=0, max_value=96).map(lambda q: q * 15)
    for weekday in range(7):
        points = sorted(draw(st.sets(quarter, min_size=2, max_size=6)))
        for opens, closes in zip(points[::2], points[1::2], strict=False):
            closing = time(0) if closes == 24 * 60 else time(closes // 60, closes % 60)
            weekly.append(WeeklyOpening(weekday, time(opens // 60, opens % 60), closing))
    return weekly


@st.composite
def rules_(draw: st.DrawFn) -> SlotRules:
    """Random coherent booking rules."""
    granularity = draw(st.sampled_from(GRIDS))
    min_duration = draw(st.integers(min_value=0, max_value=180)) * MINUTE
    default = SlotRules(granularity=granularity, min_duration=min_duration).default_duration
    extra = draw(st.none() | st.integers(min_value=0, max_value=4))
    return SlotRules(
        granularity=granularity,
        min_duration=min_duration,
        max_duration=None if extra is None else default + extra * granularity,
        buffer_after=draw(st.sampled_from([0, 10, 15, 30, 90])) * MINUTE,
        min_notice=draw(st.sampled_from([0, 60, 150])) * MINUTE,
        max_advance=draw(st.sampled_from([None, DAY, 2 * DAY])),
    )


@dataclass(frozen=True)
class World:
    """One resource's calendar, its rules and a request, as drawn by hypothesis."""

    open_spans: list[Span]
    busy: tuple[Busy, ...]
    blackouts: tuple[Span, ...]
    capacity: int
    rules: SlotRules
    window: Span
    now: datetime
    duration: timedelta | None
    units: int
    tz: ZoneInfo = PARIS

    @property
    def length(self) -> timedelta:
        """The slot length asked for."""
        return self.rules.default_duration if self.duration is None else self.duration

    def slots(self) -> list[Slot]:
        """bookable_slots for this world."""
        return bookable_slots(
            open_spans=self.open_spans,
            busy=self.busy,
            blackouts=self.blackouts,
            capacity=self.capacity,
            rules=self.rules,
            window=self.window,
            now=self.now,
            tz=self.tz,
            duration=self.duration,
            units=self.units,
        )

    def problems(self, start: datetime, end: datetime) -> list[Problem]:
        """check_booking of this world's request over [start, end)."""
        return check_booking(
            start,
            end,
            self.units,
            capacity=self.capacity,
            open_spans=self.open_spans,
            busy=self.busy,
            blackouts=self.blackouts,
            rules=self.rules,
            now=self.now,
            tz=self.tz,
        )


CAPACITIES = st.integers(min_value=1, max_value=12)


@st.composite
def worlds(
    draw: st.DrawFn,
    capacities: st.SearchStrategy[int] = CAPACITIES,
    zones: tuple[tuple[ZoneInfo, list[date]], ...] = ((PARIS, ORIGINS),),
) -> World:
    """A resource over three local days: hours, bookings, closures, rules and a request."""
    tz, origins = draw(st.sampled_from(zones))
    origin_day = draw(st.sampled_from(origins))
    origin = local_to_utc(datetime.combine(origin_day, time()), tz)
    round_the_clock = [WeeklyOpening(d, time(0), time(0)) for d in range(7)]
    weekly = draw(
        st.one_of(weekly_hours(), weekly_hours(), weekly_hours(), st.just(round_the_clock))
    )
    capacity = draw(capacities)
    rules = draw(rules_())
    moment = st.integers(min_value=-6 * 12, max_value=3 * 24 * 12).map(
        lambda n: origin + n * 5 * MINUTE
    )
    length = st.integers(min_value=1, max_value=8 * 12).map(lambda n: n * 5 * MINUTE)
    busy = draw(
        st.lists(
            st.tuples(moment, length, st.integers(min_value=1, max_value=capacity)), max_size=20
        )
    )
    blackouts = draw(st.lists(st.tuples(moment, length), max_size=2))
    first = draw(moment)
    steps = draw(st.none() | st.integers(min_value=0, max_value=3))
    duration = None if steps is None else rules.default_duration + steps * rules.granularity
    if rules.max_duration is not None and duration is not None:
        duration = min(duration, rules.max_duration)
    return World(
        open_spans=open_spans(weekly, [], tz, origin_day, origin_day + 3 * DAY),
        busy=tuple(Busy(s, s + n, u) for s, n, u in busy),
        blackouts=tuple(Span(s, s + n) for s, n in blackouts),
        capacity=capacity,
        rules=rules,
        window=Span(first, first + draw(st.integers(min_value=1, max_value=3 * 24)) * HOUR),
        now=origin + draw(st.integers(min_value=-12, max_value=36)) * HOUR,
        duration=duration,
        units=draw(st.integers(min_value=1, max_value=capacity)),
        tz=tz,
    )


def _peak(busy: tuple[Busy, ...], start: datetime, end: datetime) -> int:
    """Brute force: the most units held at once over [start, end)."""
    points = [start] + [b.start for b in busy if start <= b.start < end]
    return max(sum(b.units for b in busy if b.start <= p < b.end) for p in points)


def _accepted_grid_starts(world: World) -> list[datetime]:
    """Oracle: the zones' offsets are whole hours and grids are multiples of 15 minutes, so
    every local grid instant is a multiple of 15 minutes in UTC too."""
    expected = []
    instant = world.window.start + (utc(2026, 1, 1) - world.window.start) % (15 * MINUTE)
    while instant < world.window.end:
        if not world.problems(instant, instant + world.length):
            expected.append(instant)
        instant += 15 * MINUTE
    return expected


# Zones whose clocks change at local midnight: Santiago falls back from 00:00 to 23:00 on
# 2026-04-05 and springs from 00:00 to 01:00 on 2026-09-06 (that day has no midnight); Havana
# springs from 00:00 to 01:00 on 2026-03-08 and falls back from 01:00 to 00:00 on 2026-11-01.
MIDNIGHT_ZONES = (
    (PARIS, ORIGINS),
    (ZoneInfo("America/Santiago"), [date(2026, 4, 3), date(2026, 9, 4), date(2026, 6, 2)]),
    (ZoneInfo("America/Havana"), [date(2026, 10, 30), date(2026, 3, 6)]),
)


@settings(max_examples=200, deadline=None)
@given(world=worlds(zones=MIDNIGHT_ZONES))
def test_slots_are_exactly_the_grid_starts_that_check_booking_accepts(world: World) -> None:
    assert starts(world.slots()) == _accepted_grid_starts(world)


@settings(max_examples=300, deadline=None)
@given(world=worlds(capacities=st.just(1), zones=MIDNIGHT_ZONES))
def test_single_unit_slots_are_exactly_the_grid_starts_that_check_booking_accepts(
    world: World,
) -> None:
    # One unit takes its own path (bisection over the ranges where no slot may start).
    found = world.slots()
    assert starts(found) == _accepted_grid_starts(world)
    assert all(slot.free_units == 1 and slot.end - slot.start == world.length for slot in found)


@settings(max_examples=300, deadline=None)
@given(world=worlds(zones=MIDNIGHT_ZONES))
def test_days_computed_apart_make_the_slots_of_their_whole_window(world: World) -> None:
    # Reads keep slots day by day, each day from the closures and unit ranges that reach into
    # it (booking.service.availability.shaping): three days so kept must be the slots of the
    # three days computed at once, with every unit's ranges.
    tz, rules = world.tz, world.rules
    first = world.window.start.astimezone(tz).date()
    days = [first + n * DAY for n in range(3)]
    plan = SlotPlan(
        tz,
        days_span(days[0], days[-1] + DAY, tz),
        rules,
        world.length,
        world.units,
        days[0],
        days[-1] + DAY,
    )
    units = list(range(1, world.capacity + 1))
    ranges = [(b.units, b.start, b.end) for b in world.busy]  # here: the unit a range holds

    def slots(
        window: Span,
        closed: tuple[Span, ...],
        busy: frozenset[tuple[int, datetime, datetime]] | list[tuple[int, datetime, datetime]],
    ) -> list[Slot]:
        return unit_slots(
            units=units,
            busy=busy,
            open_spans=world.open_spans,
            blackouts=closed,
            rules=rules,
            window=window,
            now=None,
            tz=tz,
            duration=world.length,
            quantity=world.units,
        )

    by_day = []
    for day in days:
        window = days_span(day, day + DAY, tz)
        by_day += slots(window, *shaping(window, plan.reach, world.blackouts, ranges))
    assert by_day == slots(plan.window, world.blackouts, ranges)


def test_a_range_past_midnight_shapes_the_day_before_through_its_buffer() -> None:
    # An hour's slots on a 15-minute grid, 90 minutes kept free after each, open around the
    # clock. Tuesday's 23:45-00:45 slot needs its unit free until 02:15 on Wednesday: a booking
    # from 01:50 makes 23:15 Tuesday's last slot, though it starts after they have all ended.
    rules = SlotRules(granularity=15 * MINUTE, min_duration=HOUR, buffer_after=90 * MINUTE)
    tuesday, wednesday = date(2026, 6, 2), date(2026, 6, 3)
    plan = SlotPlan(PARIS, days_span(tuesday, wednesday, PARIS), rules, HOUR, 1, tuesday, wednesday)
    wednesday_night = local_to_utc(datetime.combine(wednesday, time(1, 50)), PARIS)
    ranges = [(1, wednesday_night, wednesday_night + HOUR)]
    closed, busy = shaping(plan.window, plan.reach, [], ranges)
    assert busy == frozenset(ranges) and closed == ()
    found = unit_slots(
        units=[1],
        busy=busy,
        open_spans=open_spans(
            [WeeklyOpening(d, time(0), time(0)) for d in range(7)],
            [],
            PARIS,
            tuesday,
            wednesday + 2 * DAY,
        ),
        blackouts=closed,
        rules=rules,
        window=plan.window,
        now=None,
        tz=PARIS,
        duration=HOUR,
    )
    assert [s.start.astimezone(PARIS).strftime("%H:%M") for s in found[-2:]] == ["23:00", "23:15"]


@settings(max_examples=150, deadline=None)
@given(world=worlds())
def test_slot_invariants(world: World) -> None:
    found = world.slots()
    rules, window = world.rules, world.window
    longest = max((slot.end - slot.start for slot in found), default=timedelta(0))
    free = free_spans(
        capacity=world.capacity,
        busy=world.busy,
        blackouts=world.blackouts,
        open_spans=world.open_spans,
        window=Span(window.start, window.end + longest),  # slots may end after the window
        units=world.units,
        buffer_after=rules.buffer_after,
    )
    for previous, current in pairwise(found):
        assert previous.start < current.start
    for slot in found:
        assert window.start <= slot.start < window.end
        assert slot.end - slot.start == world.length
        assert on_grid(slot.start, PARIS, rules.granularity)
        assert on_grid(slot.end, PARIS, rules.granularity)
        assert any(s.start <= slot.start and slot.end <= s.end for s in world.open_spans)
        assert any(s.start <= slot.start and slot.end <= s.end for s in free)
        assert world.units <= slot.free_units <= world.capacity
        peak = _peak(world.busy, slot.start, slot.end + rules.buffer_after)
        assert slot.free_units == world.capacity - peak
        assert world.problems(slot.start, slot.end) == []


@settings(max_examples=150, deadline=None)
@given(world=worlds(), data=st.data())
def test_booking_a_slot_takes_its_units_away(world: World, data: st.DataObject) -> None:
    found = world.slots()
    if not found:
        return
    slot = data.draw(st.sampled_from(found))
    booked = blocked_range(slot.start, slot.end, world.units, world.rules)
    after = replace(world, busy=(*world.busy, booked))
    again = after.problems(slot.start, slot.end)
    if slot.free_units - world.units >= world.units:
        assert again == []
    else:
        assert [p.code for p in again] == [Reason.SLOT_UNAVAILABLE]
    remaining = after.slots()
    assert set(starts(remaining)) <= set(starts(found))  # booking never frees anything
    for other in remaining:
        if other.start < booked.end and booked.start < other.end + world.rules.buffer_after:
            assert other.free_units <= world.capacity - world.units
        if other.start == slot.start:
            assert other.free_units == slot.free_units - world.units


@settings(max_examples=200, deadline=None)
@given(world=worlds())
def test_timeline_matches_brute_force(world: World) -> None:
    pieces = free_units_timeline(world.capacity, world.busy, world.blackouts, world.window)
    assert pieces[0][0].start == world.window.start
    assert pieces[-1][0].end == world.window.end
    for (left, a), (right, b) in pairwise(pieces):
        assert left.end == right.start and a != b
    for piece, free in pieces:
        for point in (piece.start, piece.start + (piece.end - piece.start) / 2):
            load = sum(b.units for b in world.busy if b.start <= point < b.end)
            dark = any(s.start <= point < s.end for s in world.blackouts)
            assert free == (0 if dark else max(0, world.capacity - load))


@settings(max_examples=60, deadline=None)
@given(
    hours_ahead=st.integers(min_value=-30, max_value=24 * 16),
    minutes=st.integers(min_value=0, max_value=59),
    taken=st.lists(st.integers(min_value=0, max_value=24 * 8), max_size=6),
)
def test_slots_at_any_time_cut_by_reach_are_the_slots_now(
    hours_ahead: int, minutes: int, taken: list[int]
) -> None:
    """What the availability memo relies on: compute without `now`, cut at each request."""
    window = Span(paris(2026, 6, 1, 0), paris(2026, 6, 9, 0))
    now = paris(2026, 6, 1, 0) + timedelta(hours=hours_ahead, minutes=minutes)
    busy = tuple(
        Busy(paris(2026, 6, 1, 8) + h * HOUR, paris(2026, 6, 1, 9) + h * HOUR, 1) for h in taken
    )
    at_any_time = bookable_slots(
        open_spans=fablab_spans(),
        busy=busy,
        blackouts=(),
        capacity=2,
        rules=LASER,
        window=window,
        now=None,
        tz=PARIS,
    )
    earliest, latest = reach(now, LASER)
    cut = [s for s in at_any_time if s.start >= earliest and (latest is None or s.start <= latest)]
    assert cut == slots(window, capacity=2, busy=busy, now=now)
