"""The periods of a membership in the place's calendar (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.plan_periods import LocalPeriod, add_months, period_of

PARIS = ZoneInfo("Europe/Paris")


def test_a_month_across_the_end_of_october_lasts_an_hour_longer() -> None:
    period = period_of("month", date(2026, 10, 15), 0)
    assert period == LocalPeriod(date(2026, 10, 15), date(2026, 11, 15))
    starts, ends = period.instants(PARIS)
    # Local midnights: 22:00 UTC in summer time, 23:00 UTC in winter time.
    assert starts == datetime(2026, 10, 14, 22, 0, tzinfo=UTC)
    assert ends == datetime(2026, 11, 14, 23, 0, tzinfo=UTC)
    assert ends - starts == timedelta(days=31, hours=1)


def test_a_month_across_the_end_of_march_lasts_an_hour_less() -> None:
    starts, ends = period_of("month", date(2027, 3, 10), 0).instants(PARIS)
    assert ends - starts == timedelta(days=31, hours=-1)


def test_months_count_from_the_first_day_and_do_not_drift() -> None:
    periods = [period_of("month", date(2027, 1, 31), n) for n in range(4)]
    assert [(p.first, p.after) for p in periods] == [
        (date(2027, 1, 31), date(2027, 2, 28)),
        (date(2027, 2, 28), date(2027, 3, 31)),
        (date(2027, 3, 31), date(2027, 4, 30)),
        (date(2027, 4, 30), date(2027, 5, 31)),
    ]


def test_a_year_from_a_leap_day() -> None:
    assert period_of("year", date(2028, 2, 29), 0) == LocalPeriod(
        date(2028, 2, 29), date(2029, 2, 28)
    )
    assert period_of("year", date(2028, 2, 29), 4).after == date(2033, 2, 28)


def test_a_school_year_joined_in_november_ends_with_it_and_renews_whole() -> None:
    first = period_of("school_year", date(2026, 11, 3), 0)
    assert first == LocalPeriod(date(2026, 11, 3), date(2027, 9, 1))
    assert period_of("school_year", date(2026, 11, 3), 1) == LocalPeriod(
        date(2027, 9, 1), date(2028, 9, 1)
    )
    # Joined in the summer: the school year that started last September.
    assert period_of("school_year", date(2027, 7, 1), 0).after == date(2027, 9, 1)
    # Another calendar: from 15 August.
    assert period_of("school_year", date(2027, 8, 20), 0, school_month=8, school_day=15) == (
        LocalPeriod(date(2027, 8, 20), date(2028, 8, 15))
    )


def test_unknown_period_and_negative_sequence_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown period"):
        period_of("week", date(2027, 1, 1), 0)
    with pytest.raises(ValueError, match="0 or more"):
        period_of("month", date(2027, 1, 1), -1)


@given(
    st.sampled_from(["month", "year", "school_year"]),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(min_value=0, max_value=30),
)
def test_periods_follow_each_other_without_gap_or_overlap(
    kind: str, start: date, sequence: int
) -> None:
    this = period_of(kind, start, sequence)
    following = period_of(kind, start, sequence + 1)
    assert this.first < this.after == following.first
    starts, ends = this.instants(PARIS)
    assert starts < ends


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 400))
def test_add_months_keeps_the_day_or_the_months_last(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + timedelta(days=1)).day == 1)
