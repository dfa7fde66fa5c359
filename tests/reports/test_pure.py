"""The pure parts of the statistics: periods, shares of a payment, open minutes, bars."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.errors import InvalidInputError
from mutualab.reports.facts import BookingFact, ResourceFact
from mutualab.reports.figures import Statistics, compute, percent, share_out
from mutualab.reports.occupancy import open_minutes
from mutualab.reports.periods import containing, parse
from mutualab.web.charts import BAR_AREA, bar_chart
from resources.schedule import Span


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, 2, hour, minute, tzinfo=UTC)


def test_periods_are_read_and_followed() -> None:
    march = parse("month", "2027-03")
    assert (march.start, march.end, march.key) == (date(2027, 3, 1), date(2027, 4, 1), "2027-03")
    assert (
        march.previous().key == "2027-02" and parse("month", "2027-12").following().key == "2028-01"
    )
    q1 = parse("quarter", "2027-Q1")
    assert (q1.start, q1.end, q1.previous().key) == (date(2027, 1, 1), date(2027, 4, 1), "2026-Q4")
    assert parse("year", "2027").end == date(2028, 1, 1)
    assert containing("quarter", date(2027, 8, 15)).key == "2027-Q3"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("month", "2027-13"),
        ("month", "mars"),
        ("quarter", "2027-Q5"),
        ("year", "1999"),
        ("week", "1"),
    ],
)
def test_a_period_that_cannot_be_read_is_refused_naming_the_field(kind: str, value: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse(kind, value)
    assert refused.value.extra["errors"][0]["field"] in {"at", "period"}


@given(
    st.integers(min_value=0, max_value=10_000_000),
    st.lists(st.integers(min_value=0, max_value=100_000), min_size=1, max_size=6),
)
def test_a_payment_is_shared_out_to_the_cent(total: int, weights: list[int]) -> None:
    shares = share_out(total, weights)
    assert sum(shares) == total and all(share >= 0 for share in shares)


def test_shares_follow_the_weights_and_percents_round_half_up() -> None:
    assert share_out(1000, [1, 1, 1]) == [333, 333, 334]
    assert share_out(1870, [2400, 0]) == [1870, 0]
    assert percent(1, 8) == Decimal("12.5") and percent(1, 16) == Decimal("6.3")
    assert percent(3, 0) is None


def test_open_minutes_leave_out_blackouts_once() -> None:
    spans = [Span(_at(8), _at(12)), Span(_at(13), _at(17))]
    blackouts = [Span(_at(11), _at(14)), Span(_at(11, 30), _at(13, 30))]
    assert open_minutes(spans, blackouts) == 8 * 60 - 60 - 60


def test_bars_are_scaled_to_the_largest_value() -> None:
    chart = bar_chart([("a", 10, "10"), ("b", 5, "5"), ("c", None, "-")])
    assert [bar.width for bar in chart.bars] == [BAR_AREA, BAR_AREA // 2, 0]
    assert bar_chart([("a", 0, "0")]).bars[0].width == 0


def _fact(booking_id: int, status: str, person: int) -> BookingFact:
    return BookingFact(booking_id, 1, person, "citizen", status, _at(10), _at(12), None, ((7, 1),))


def test_no_shows_count_where_they_are_recorded_and_weigh_on_the_rates() -> None:
    facts = [_fact(1, "confirmed", 1), _fact(2, "confirmed", 2), _fact(3, "no_show", 3)]
    facts.append(_fact(4, "cancelled", 4))
    resources = [ResourceFact(7, 1, "Fablab", "Laser", "machine", True, 1)]

    def figures(records: bool) -> Statistics:
        return compute(
            scope="place", place_id=1, period=parse("month", "2027-03"), bookings=facts,
            payments=[], resources=resources, open_minutes={7: 600}, first_days={},
            user_type_labels={}, method_labels={}, records_no_shows=records,
        )  # fmt: skip

    recorded = figures(True)
    assert (recorded.bookings, recorded.no_shows, recorded.booked_minutes) == (2, 1, 240)
    assert recorded.no_show_percent == Decimal("33.3")
    assert recorded.cancellation_percent == Decimal("25.0")  # 1 of 4 due to happen
    assert recorded.occupancy[0].booked_minutes == 240  # a no-show did not use the laser
    assert figures(False).no_shows is None and figures(False).no_show_percent is None
