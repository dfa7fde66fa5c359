"""Recurrence rules (pure): parsing, expansion in local time, caps, and dateutil as an oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.series import Recurrence, RuleError, expand, parse_rule
from resources.hours import local_to_utc

PARIS = ZoneInfo("Europe/Paris")
TWO_PM = time(14)


def test_parse_the_school_example() -> None:
    rule = parse_rule("RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20271215")
    assert rule == Recurrence(freq="WEEKLY", byday=(1,), until=date(2027, 12, 15))
    assert parse_rule("freq=daily;interval=2;count=5") == Recurrence("DAILY", 2, (), 5)
    assert parse_rule("FREQ=WEEKLY;UNTIL=20271215T130000Z").until == datetime(
        2027, 12, 15, 13, tzinfo=UTC
    )
    floating = datetime(2027, 12, 15, 14, tzinfo=UTC).replace(tzinfo=None)  # local wall time
    assert parse_rule("FREQ=WEEKLY;UNTIL=20271215T140000").until == floating


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("FREQ=MONTHLY;COUNT=3", "invalid_rule"),
        ("FREQ=WEEKLY", "series_unbounded"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20271215", "invalid_rule"),
        ("FREQ=WEEKLY;BYDAY=1MO;COUNT=3", "invalid_rule"),
        ("FREQ=WEEKLY;BYMONTH=3;COUNT=3", "invalid_rule"),
        ("FREQ=WEEKLY;COUNT=3;COUNT=4", "invalid_rule"),
        ("FREQ=WEEKLY;INTERVAL=0;COUNT=3", "invalid_rule"),
        ("FREQ=WEEKLY;COUNT=201", "series_too_long"),
        ("FREQ=WEEKLY;UNTIL=2027-12-15", "invalid_rule"),
        ("FREQ=WEEKLY;WKST=SU;COUNT=3", "invalid_rule"),
        ("FREQ", "invalid_rule"),
    ],
)
def test_rules_outside_the_subset_are_refused(text: str, code: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text)
    assert caught.value.code == code


def test_every_tuesday_of_a_term() -> None:
    rule = parse_rule("FREQ=WEEKLY;BYDAY=TU;UNTIL=20271215")
    days = expand(rule, date(2027, 9, 8), TWO_PM, PARIS)  # 8 September is a Wednesday
    assert days[0] == date(2027, 9, 14)
    assert days[-1] == date(2027, 12, 14)
    assert len(days) == 14
    assert all(day.weekday() == 1 for day in days)


def test_local_time_survives_the_october_change() -> None:
    rule = parse_rule("FREQ=WEEKLY;BYDAY=TU;COUNT=3")
    days = expand(rule, date(2027, 10, 19), TWO_PM, PARIS)
    instants = [local_to_utc(datetime.combine(d, TWO_PM), PARIS) for d in days]
    assert [i.hour for i in instants] == [12, 12, 13]  # 14:00 CEST, CEST, then CET
    assert all(i.astimezone(PARIS).hour == 14 for i in instants)


def test_exdates_remove_occurrences_after_count() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=5")
    days = expand(rule, date(2027, 3, 1), TWO_PM, PARIS, exdates=[date(2027, 3, 3)])
    assert days == [date(2027, 3, d) for d in (1, 2, 4, 5)]


def test_until_is_inclusive_and_compared_in_local_time() -> None:
    at_two = parse_rule("FREQ=DAILY;UNTIL=20270303T140000")
    assert expand(at_two, date(2027, 3, 1), TWO_PM, PARIS)[-1] == date(2027, 3, 3)
    before_two = parse_rule("FREQ=DAILY;UNTIL=20270303T125959Z")  # 13:59:59 in Paris
    assert expand(before_two, date(2027, 3, 1), TWO_PM, PARIS)[-1] == date(2027, 3, 2)


def test_caps() -> None:
    daily = parse_rule("FREQ=DAILY;UNTIL=20281231")
    with pytest.raises(RuleError) as too_long:
        expand(daily, date(2027, 1, 1), TWO_PM, PARIS)
    assert too_long.value.code == "series_too_long"
    many = parse_rule("FREQ=DAILY;UNTIL=20271231")
    with pytest.raises(RuleError):
        expand(many, date(2027, 3, 1), TWO_PM, PARIS)  # 306 occurrences > 200
    never = parse_rule("FREQ=DAILY;INTERVAL=7;BYDAY=MO;COUNT=3")
    with pytest.raises(RuleError):
        expand(never, date(2027, 3, 2), TWO_PM, PARIS)  # Tuesdays only: never a Monday


WEEKDAY_CONSTANTS = (du.MO, du.TU, du.WE, du.TH, du.FR, du.SA, du.SU)


@settings(max_examples=150, deadline=None)
@given(
    freq=st.sampled_from(["DAILY", "WEEKLY"]),
    interval=st.integers(1, 3),
    byday=st.sets(st.integers(0, 6), max_size=3),
    first=st.dates(date(2026, 1, 1), date(2028, 12, 31)),
    bound=st.one_of(
        st.integers(1, 40).map(lambda n: ("count", n)),
        st.integers(0, 150).map(lambda n: ("until", n)),
    ),
    skip=st.sets(st.integers(0, 60), max_size=4),
)
def test_expansion_matches_dateutil(
    freq: str,
    interval: int,
    byday: set[int],
    first: date,
    bound: tuple[str, int],
    skip: set[int],
) -> None:
    parts = [f"FREQ={freq}", f"INTERVAL={interval}"]
    if byday:
        parts.append(
            "BYDAY="
            + ",".join(("MO", "TU", "WE", "TH", "FR", "SA", "SU")[d] for d in sorted(byday))
        )
    kind, value = bound
    until = first + timedelta(days=value)
    parts.append(f"COUNT={value}" if kind == "count" else f"UNTIL={until:%Y%m%d}")
    exdates = [first + timedelta(days=n) for n in skip]
    try:
        mine = expand(parse_rule(";".join(parts)), first, TWO_PM, PARIS, exdates=exdates)
    except RuleError:
        return  # over the caps: dateutil has none to compare with
    oracle = du.rrule(
        du.DAILY if freq == "DAILY" else du.WEEKLY,
        dtstart=datetime.combine(first, TWO_PM),
        interval=interval,
        wkst=du.MO,
        byweekday=[WEEKDAY_CONSTANTS[d] for d in sorted(byday)] or None,
        count=value if kind == "count" else None,
        until=datetime.combine(until, TWO_PM) if kind == "until" else None,
    )
    expected = [d.date() for d in oracle if d.date() not in set(exdates)]
    assert mine == expected
