"""Opening hours -> UTC spans, French public holidays, OSM formatting and validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resources.hours import (
    french_public_holiday_names,
    french_public_holidays,
    local_to_utc,
    merge_spans,
    open_spans,
    osm_opening_hours,
    validate_exceptions,
    validate_weekly,
)
from resources.schedule import DayException, Span, WeeklyOpening

PARIS = ZoneInfo("Europe/Paris")
CAYENNE = ZoneInfo("America/Cayenne")
REUNION = ZoneInfo("Indian/Reunion")
SPRING_FORWARD = date(2026, 3, 29)  # Sunday, 02:00 -> 03:00 in Europe/Paris
FALL_BACK = date(2026, 10, 25)  # Sunday, 03:00 -> 02:00 in Europe/Paris
MIDNIGHT = time(0)
DAY = timedelta(days=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def wall(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A naive wall-clock datetime."""
    return datetime.combine(date(year, month, day), time(hour, minute))


def every_day(opens: time, closes: time) -> list[WeeklyOpening]:
    """The same span on all seven weekdays."""
    return [WeeklyOpening(weekday, opens, closes) for weekday in range(7)]


def fablab_week() -> list[WeeklyOpening]:
    """Tuesday-Friday 09:00-12:00 and 14:00-18:00, Saturday 10:00-17:00."""
    week = [WeeklyOpening(d, time(9), time(12)) for d in range(1, 5)]
    week += [WeeklyOpening(d, time(14), time(18)) for d in range(1, 5)]
    return [*week, WeeklyOpening(5, time(10), time(17))]


def spans_of(day: date, weekly: list[WeeklyOpening], tz: ZoneInfo = PARIS) -> list[Span]:
    """open_spans for a single local date."""
    return open_spans(weekly, [], tz, day, day + DAY)


def durations(spans: list[Span]) -> list[timedelta]:
    """The length of each span."""
    return [span.end - span.start for span in spans]


# local_to_utc ------------------------------------------------------------------------------


def test_plain_wall_clock_times_use_the_offset_of_the_season() -> None:
    assert local_to_utc(wall(2026, 1, 15, 9, 0), PARIS) == utc(2026, 1, 15, 8, 0)
    assert local_to_utc(wall(2026, 7, 15, 9, 0), PARIS) == utc(2026, 7, 15, 7, 0)


def test_a_time_in_the_spring_gap_moves_forward_to_the_transition() -> None:
    # 02:30 does not exist on 2026-03-29; the first valid instant after it is 03:00 CEST.
    assert local_to_utc(wall(2026, 3, 29, 2, 30), PARIS) == utc(2026, 3, 29, 1, 0)
    assert local_to_utc(wall(2026, 3, 29, 2, 0), PARIS) == utc(2026, 3, 29, 1, 0)
    assert local_to_utc(wall(2026, 3, 29, 3, 0), PARIS) == utc(2026, 3, 29, 1, 0)


def test_a_time_in_the_autumn_overlap_is_its_first_occurrence() -> None:
    assert local_to_utc(wall(2026, 10, 25, 2, 30), PARIS) == utc(2026, 10, 25, 0, 30)
    assert local_to_utc(wall(2026, 10, 25, 3, 0), PARIS) == utc(2026, 10, 25, 2, 0)


def test_local_to_utc_returns_utc_and_refuses_aware_input() -> None:
    assert local_to_utc(wall(2026, 5, 4, 9, 0), PARIS).tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        local_to_utc(datetime(2026, 5, 4, 9, 0, tzinfo=PARIS), PARIS)


# open_spans: daylight saving -----------------------------------------------------------------


def test_whole_day_opening_lasts_23_hours_on_the_spring_forward_day() -> None:
    spans = spans_of(SPRING_FORWARD, every_day(MIDNIGHT, MIDNIGHT))
    assert spans == [Span(utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0))]
    assert durations(spans) == [timedelta(hours=23)]


def test_whole_day_opening_lasts_25_hours_on_the_fall_back_day() -> None:
    spans = spans_of(FALL_BACK, every_day(MIDNIGHT, MIDNIGHT))
    assert spans == [Span(utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0))]
    assert durations(spans) == [timedelta(hours=25)]


def test_night_opening_across_the_transitions() -> None:
    # 01:00-04:00 local: two real hours in spring, four in autumn.
    assert spans_of(SPRING_FORWARD, every_day(time(1), time(4))) == [
        Span(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 2, 0))
    ]
    assert spans_of(FALL_BACK, every_day(time(1), time(4))) == [
        Span(utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 3, 0))
    ]


def test_spans_starting_or_ending_inside_the_gap_or_overlap() -> None:
    assert spans_of(SPRING_FORWARD, every_day(time(2, 30), time(5))) == [
        Span(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 3, 0))
    ]
    # Entirely inside the gap: nothing is open.
    assert spans_of(SPRING_FORWARD, every_day(time(2), time(2, 30))) == []
    # Closing at an ambiguous 02:30 closes at its first occurrence.
    assert spans_of(FALL_BACK, every_day(time(1), time(2, 30))) == [
        Span(utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 30))
    ]


def test_a_week_of_whole_days_across_dst_is_one_span_of_real_hours() -> None:
    spans = open_spans(
        every_day(MIDNIGHT, MIDNIGHT), [], PARIS, date(2026, 3, 23), date(2026, 3, 30)
    )
    assert spans == [Span(utc(2026, 3, 22, 23, 0), utc(2026, 3, 29, 22, 0))]
    assert durations(spans) == [timedelta(days=7) - timedelta(hours=1)]


# open_spans: the weekly schedule, closures and holidays ------------------------------------


def test_fablab_week_in_summer_time() -> None:
    spans = open_spans(fablab_week(), [], PARIS, date(2026, 6, 1), date(2026, 6, 8))
    assert len(spans) == 9  # Tue-Fri twice a day, Saturday once; Monday and Sunday closed
    assert spans[0] == Span(utc(2026, 6, 2, 7, 0), utc(2026, 6, 2, 10, 0))
    assert spans[-1] == Span(utc(2026, 6, 6, 8, 0), utc(2026, 6, 6, 15, 0))
    assert all(span.start.tzinfo is UTC and span.end.tzinfo is UTC for span in spans)
    assert spans == sorted(spans, key=lambda s: s.start)


def test_midnight_closing_is_the_end_of_the_day() -> None:
    spans = spans_of(date(2026, 6, 5), [WeeklyOpening(4, time(20), MIDNIGHT)])
    assert spans == [Span(utc(2026, 6, 5, 18, 0), utc(2026, 6, 5, 22, 0))]


def test_adjacent_days_with_midnight_convention_merge_into_one_span() -> None:
    weekly = [WeeklyOpening(4, time(20), MIDNIGHT), WeeklyOpening(5, MIDNIGHT, time(2))]
    spans = open_spans(weekly, [], PARIS, date(2026, 6, 5), date(2026, 6, 7))
    assert spans == [Span(utc(2026, 6, 5, 18, 0), utc(2026, 6, 6, 0, 0))]


def test_range_is_half_open_and_empty_ranges_give_nothing() -> None:
    weekly = every_day(time(9), time(10))
    assert len(open_spans(weekly, [], PARIS, date(2026, 6, 1), date(2026, 6, 3))) == 2
    assert open_spans(weekly, [], PARIS, date(2026, 6, 3), date(2026, 6, 3)) == []
    assert open_spans(weekly, [], PARIS, date(2026, 6, 3), date(2026, 6, 1)) == []


def test_a_closure_removes_the_day() -> None:
    closure = DayException(date(2026, 6, 3), closed=True, reason="inventaire")
    spans = open_spans(fablab_week(), [closure], PARIS, date(2026, 6, 1), date(2026, 6, 8))
    assert len(spans) == 7
    assert not any(s.start.date() == date(2026, 6, 3) for s in spans)


def test_special_hours_replace_the_weekly_spans() -> None:
    special = DayException(date(2026, 6, 3), closed=False, spans=((time(13), time(21)),))
    spans = open_spans(fablab_week(), [special], PARIS, date(2026, 6, 3), date(2026, 6, 4))
    assert spans == [Span(utc(2026, 6, 3, 11, 0), utc(2026, 6, 3, 19, 0))]


def test_special_opening_on_a_day_that_is_normally_closed() -> None:
    special = DayException(date(2026, 6, 7), closed=False, spans=((time(10), time(12)),))
    spans = open_spans(fablab_week(), [special], PARIS, date(2026, 6, 7), date(2026, 6, 8))
    assert spans == [Span(utc(2026, 6, 7, 8, 0), utc(2026, 6, 7, 10, 0))]


def test_public_holidays_close_the_place() -> None:
    holidays = french_public_holidays(date(2026, 7, 1), date(2026, 8, 1))
    spans = open_spans(fablab_week(), [], PARIS, date(2026, 7, 14), date(2026, 7, 15), holidays)
    assert spans == []


def test_public_holidays_can_be_ignored() -> None:
    holidays = french_public_holidays(date(2026, 7, 1), date(2026, 8, 1))
    spans = open_spans(
        fablab_week(),
        [],
        PARIS,
        date(2026, 7, 14),
        date(2026, 7, 15),
        holidays,
        closed_on_public_holidays=False,
    )
    assert len(spans) == 2


def test_a_special_opening_wins_over_a_public_holiday() -> None:
    holidays = french_public_holidays(date(2026, 7, 1), date(2026, 8, 1))
    fete = DayException(date(2026, 7, 14), closed=False, spans=((time(10), time(16)),))
    spans = open_spans(fablab_week(), [fete], PARIS, date(2026, 7, 13), date(2026, 7, 16), holidays)
    assert Span(utc(2026, 7, 14, 8, 0), utc(2026, 7, 14, 14, 0)) in spans
    assert len(spans) == 3  # the special opening plus Wednesday 15th's two spans


def test_exceptions_outside_the_range_are_ignored() -> None:
    closure = DayException(date(2026, 1, 6), closed=True)
    spans = open_spans(fablab_week(), [closure], PARIS, date(2026, 6, 2), date(2026, 6, 3))
    assert len(spans) == 2


def test_french_overseas_places_without_daylight_saving() -> None:
    weekly = every_day(time(8), time(12))
    for day in (SPRING_FORWARD, FALL_BACK, date(2026, 7, 1)):
        assert spans_of(day, weekly, REUNION) == [
            Span(datetime.combine(day, time(4), UTC), datetime.combine(day, time(8), UTC))
        ]
        assert spans_of(day, weekly, CAYENNE) == [
            Span(datetime.combine(day, time(11), UTC), datetime.combine(day, time(15), UTC))
        ]
    whole = spans_of(FALL_BACK, every_day(MIDNIGHT, MIDNIGHT), REUNION)
    assert durations(whole) == [timedelta(hours=24)]


def test_invalid_input_is_refused_by_open_spans() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.6"):
        open_spans(
            [WeeklyOpening(7, time(9), time(10))], [], PARIS, date(2026, 6, 1), date(2026, 6, 2)
        )


# french_public_holidays ----------------------------------------------------------------------


def test_national_holidays_2026() -> None:
    days = french_public_holidays(date(2026, 1, 1), date(2027, 1, 1))
    assert {date(2026, 5, 1), date(2026, 7, 14), date(2026, 4, 6), date(2026, 12, 25)} <= days
    assert len(days) == 11
    assert date(2026, 12, 26) not in days
    assert date(2026, 4, 3) not in days


@pytest.mark.parametrize("departement", ["57", "67", "68"])
def test_alsace_moselle_has_good_friday_and_saint_stephen(departement: str) -> None:
    days = french_public_holidays(date(2026, 1, 1), date(2027, 1, 1), departement)
    assert date(2026, 12, 26) in days
    assert date(2026, 4, 3) in days  # Good Friday 2026
    assert len(days) == 13


def test_other_metropolitan_departements_have_national_holidays_only() -> None:
    national = french_public_holidays(date(2026, 1, 1), date(2027, 1, 1))
    for departement in ("75", "01", "2A", "69"):
        assert french_public_holidays(date(2026, 1, 1), date(2027, 1, 1), departement) == national


def test_overseas_departement_has_its_own_days() -> None:
    days = french_public_holidays(date(2026, 1, 1), date(2027, 1, 1), "974")
    assert date(2026, 12, 20) in days  # abolition of slavery, La Réunion


def test_unknown_subdivision_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown French subdivision"):
        french_public_holidays(date(2026, 1, 1), date(2027, 1, 1), "99")


def test_holiday_range_is_half_open_and_spans_years() -> None:
    days = french_public_holidays(date(2026, 12, 25), date(2027, 1, 2))
    assert days == {date(2026, 12, 25), date(2027, 1, 1)}
    assert french_public_holidays(date(2026, 7, 15), date(2026, 7, 14)) == frozenset()
    assert date(2026, 7, 14) not in french_public_holidays(date(2026, 7, 1), date(2026, 7, 14))


def test_holiday_names_are_french() -> None:
    names = french_public_holiday_names(date(2026, 7, 1), date(2026, 8, 1))
    assert names == {date(2026, 7, 14): "Fête nationale"}


# osm_opening_hours -----------------------------------------------------------------------------


def test_osm_groups_consecutive_days_with_identical_hours() -> None:
    weekly = [WeeklyOpening(d, time(9), time(12)) for d in range(5)]
    weekly += [WeeklyOpening(d, time(14), time(18)) for d in range(5)]
    weekly.append(WeeklyOpening(5, time(10), time(17)))
    assert osm_opening_hours(weekly) == "Mo-Fr 09:00-12:00,14:00-18:00; Sa 10:00-17:00; PH off"


def test_osm_separates_non_consecutive_days_with_commas() -> None:
    weekly = [WeeklyOpening(d, time(9), time(12)) for d in (0, 2, 3, 4, 6)]
    assert osm_opening_hours(weekly) == "Mo,We-Fr,Su 09:00-12:00; PH off"


def test_osm_rules_follow_the_first_day_of_each_group() -> None:
    weekly = [
        WeeklyOpening(1, time(10), time(11)),
        WeeklyOpening(0, time(9), time(12)),
        WeeklyOpening(2, time(9), time(12)),
    ]
    assert osm_opening_hours(weekly) == "Mo,We 09:00-12:00; Tu 10:00-11:00; PH off"


def test_osm_sorts_spans_and_writes_midnight_as_24_00() -> None:
    weekly = [WeeklyOpening(4, time(20), MIDNIGHT), WeeklyOpening(4, time(9), time(12))]
    assert (
        osm_opening_hours(weekly, closed_on_public_holidays=False) == "Fr 09:00-12:00,20:00-24:00"
    )


def test_osm_whole_week() -> None:
    assert osm_opening_hours(every_day(MIDNIGHT, MIDNIGHT)) == "Mo-Su 00:00-24:00; PH off"


def test_osm_empty_schedule_is_an_empty_string() -> None:
    assert osm_opening_hours([]) == ""
    assert osm_opening_hours([], closed_on_public_holidays=False) == ""


def test_osm_refuses_invalid_schedules() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        osm_opening_hours(
            [WeeklyOpening(0, time(9), time(12)), WeeklyOpening(0, time(11), time(13))]
        )


# validation -----------------------------------------------------------------------------------


def test_valid_schedules_pass() -> None:
    validate_weekly(fablab_week())
    validate_weekly(every_day(MIDNIGHT, MIDNIGHT))
    validate_weekly([WeeklyOpening(0, time(9), time(12)), WeeklyOpening(0, time(12), time(14))])
    validate_weekly([])


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        ([WeeklyOpening(7, time(9), time(10))], r"weekday 7 is outside 0\.\.6"),
        ([WeeklyOpening(-1, time(9), time(10))], r"weekday -1 is outside 0\.\.6"),
        ([WeeklyOpening(1, time(12), time(9))], "Tuesday: 12:00-09:00 closes before it opens"),
        ([WeeklyOpening(1, time(9), time(9))], "closes before it opens"),
        (
            [WeeklyOpening(2, time(9), time(12)), WeeklyOpening(2, time(11), time(14))],
            "Wednesday: 09:00-12:00 overlaps 11:00-14:00",
        ),
        (
            [WeeklyOpening(3, time(20), MIDNIGHT), WeeklyOpening(3, time(23), time(23, 30))],
            "overlaps",
        ),
        ([WeeklyOpening(0, time(9), time(10)), WeeklyOpening(0, time(9), time(10))], "overlaps"),
        ([WeeklyOpening(0, time(9, 0, 30), time(10))], "not a whole minute"),
        ([WeeklyOpening(0, time(9, tzinfo=UTC), time(10))], "without tzinfo"),
    ],
)
def test_invalid_schedules_are_refused(weekly: list[WeeklyOpening], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_weekly(weekly)


@pytest.mark.parametrize(
    ("exceptions", "message"),
    [
        (
            [DayException(date(2026, 5, 4), True), DayException(date(2026, 5, 4), True)],
            "more than one exception",
        ),
        ([DayException(date(2026, 5, 4), True, ((time(9), time(10)),))], "closed day"),
        ([DayException(date(2026, 5, 4), False)], "needs at least one span"),
        (
            [DayException(date(2026, 5, 4), False, ((time(10), time(9)),))],
            "2026-05-04: 10:00-09:00",
        ),
    ],
)
def test_invalid_exceptions_are_refused(exceptions: list[DayException], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_exceptions(exceptions)


# merge_spans ------------------------------------------------------------------------------------


def test_merge_spans_sorts_merges_touching_and_drops_empty() -> None:
    a = Span(utc(2026, 1, 1, 9), utc(2026, 1, 1, 10))
    b = Span(utc(2026, 1, 1, 10), utc(2026, 1, 1, 11))
    c = Span(utc(2026, 1, 1, 9, 30), utc(2026, 1, 1, 9, 45))
    d = Span(utc(2026, 1, 1, 12), utc(2026, 1, 1, 12))
    e = Span(utc(2026, 1, 1, 13), utc(2026, 1, 1, 14))
    assert merge_spans([e, d, b, c, a]) == [Span(a.start, b.end), e]


# property: spans agree with the wall clock (except the repeated autumn hour) --------------------

minutes = st.integers(min_value=0, max_value=24 * 60)


@st.composite
def weekly_schedules(draw: st.DrawFn) -> list[WeeklyOpening]:
    """Random valid weekly schedules with up to three spans a day, closing at 24:00 allowed."""
    weekly = []
    for weekday in range(7):
        points = sorted(draw(st.sets(minutes, max_size=6)))
        for opens, closes in zip(points[::2], points[1::2], strict=False):
            closing = MIDNIGHT if closes == 24 * 60 else time(closes // 60, closes % 60)
            weekly.append(WeeklyOpening(weekday, time(opens // 60, opens % 60), closing))
    return weekly


def _wall_open(weekly: list[WeeklyOpening], local: datetime) -> bool:
    """Oracle: is the wall-clock time inside one of its weekday's spans?"""
    minute = local.hour * 60 + local.minute
    for opening in weekly:
        if opening.weekday != local.weekday():
            continue
        closes = (
            24 * 60
            if opening.closes == MIDNIGHT
            else opening.closes.hour * 60 + opening.closes.minute
        )
        if opening.opens.hour * 60 + opening.opens.minute <= minute < closes:
            return True
    return False


@settings(max_examples=150, deadline=None)
@given(
    weekly=weekly_schedules(),
    tz=st.sampled_from([PARIS, CAYENNE, REUNION]),
    offsets=st.lists(
        st.integers(min_value=0, max_value=245 * 24 * 60 - 1), min_size=1, max_size=60
    ),
)
def test_spans_match_the_wall_clock(
    weekly: list[WeeklyOpening], tz: ZoneInfo, offsets: list[int]
) -> None:
    # March to October covers both transitions; the spring gap needs no exemption because no
    # instant shows a gap time, while second-occurrence autumn times are, by convention, not
    # where spans start or end (fold=0), so the wall clock cannot judge them.
    start, end = date(2026, 3, 1), date(2026, 11, 1)
    spans = open_spans(weekly, [], tz, start, end)
    for previous, current in pairwise(spans):
        assert previous.end < current.start  # sorted, disjoint and not touching
    first = local_to_utc(datetime.combine(start, MIDNIGHT), tz)
    for offset in offsets:
        local = (first + timedelta(minutes=offset)).astimezone(tz)
        if local.fold or local.date() >= end:
            continue
        inside = any(span.start <= local < span.end for span in spans)
        assert inside == _wall_open(weekly, local), local
