"""Refunds: tier boundaries, after the start, place cancellations, DST weekends, rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.refunds import (
    RefundDecision,
    RefundReason,
    RefundTier,
    refund_cents,
    validate_tiers,
)

PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)
# "100 % up to 48 h before the start, 50 % up to 24 h, nothing after", given unsorted on purpose.
POLICY = [RefundTier.hours(24, 50), RefundTier.hours(48, 100)]
START = datetime(2026, 6, 13, 10, tzinfo=PARIS)


def before(delta: timedelta, start: datetime = START) -> datetime:
    """The instant ``delta`` of real time before ``start``."""
    return (start.astimezone(UTC) - delta).astimezone(PARIS)


def refund(cancelled_at: datetime, paid: int = 10_000, **kwargs: bool) -> RefundDecision:
    return refund_cents(paid, START, cancelled_at, POLICY, **kwargs)


# --- boundaries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "percent", "reason"),
    [
        (30 * 24 * HOUR, 100, RefundReason.TIER),
        (48 * HOUR, 100, RefundReason.TIER),  # boundaries are inclusive
        (48 * HOUR - TICK, 50, RefundReason.TIER),
        (24 * HOUR, 50, RefundReason.TIER),
        (24 * HOUR - TICK, 0, RefundReason.NO_TIER),
        (timedelta(minutes=1), 0, RefundReason.NO_TIER),
        (timedelta(0), 0, RefundReason.STARTED),
        (-HOUR, 0, RefundReason.STARTED),
    ],
)
def test_each_boundary(notice: timedelta, percent: int, reason: RefundReason) -> None:
    decision = refund(before(notice))
    assert (decision.percent, decision.amount_cents, decision.reason) == (
        percent,
        100 * percent,
        reason,
    )


def test_tier_labels_say_which_rule_applied() -> None:
    assert refund(before(48 * HOUR)).tier_label == "100 % jusqu'à 48 h avant le début"
    assert refund(before(30 * HOUR)).tier_label == "50 % jusqu'à 24 h avant le début"
    assert refund(before(HOUR)).tier_label == "hors délai d'annulation"
    assert refund(START).tier_label == "après le début"
    named = [RefundTier.hours(72, 100, label="Annulation gratuite")]
    assert refund_cents(100, START, before(80 * HOUR), named).tier_label == "Annulation gratuite"
    half_hour = RefundTier(timedelta(hours=2, minutes=30), 80)
    assert half_hour.display_label == "80 % jusqu'à 2 h 30 avant le début"


def test_a_zero_hour_tier_means_any_time_before_the_start() -> None:
    tiers = [RefundTier.hours(0, 30)]
    assert refund_cents(1000, START, before(TICK), tiers).amount_cents == 300
    assert refund_cents(1000, START, before(TICK), tiers).tier_label == "30 % jusqu'au début"
    assert refund_cents(1000, START, START, tiers).amount_cents == 0


def test_no_tiers_means_no_refund() -> None:
    decision = refund_cents(1000, START, before(1000 * HOUR), [])
    assert (decision.amount_cents, decision.reason) == (0, RefundReason.NO_TIER)


def test_a_cancellation_by_the_place_always_refunds_everything() -> None:
    for cancelled_at in (before(100 * HOUR), before(HOUR), START + HOUR):
        decision = refund(cancelled_at, paid=4321, by_place=True)
        assert (decision.amount_cents, decision.percent) == (4321, 100)
        assert decision.reason is RefundReason.PLACE_CANCELLED


# --- daylight saving ---------------------------------------------------------------------------


def test_spring_weekend_counts_real_hours() -> None:
    # Friday 10:00 to Sunday 10:00 on the wall clock, but only 47 h: the night lost an hour.
    start = datetime(2026, 3, 29, 10, tzinfo=PARIS)
    friday = datetime(2026, 3, 27, 10, tzinfo=PARIS)
    decision = refund_cents(10_000, start, friday, POLICY)
    assert (decision.percent, decision.amount_cents) == (50, 5000)
    an_hour_earlier = datetime(2026, 3, 27, 9, tzinfo=PARIS)
    assert refund_cents(10_000, start, an_hour_earlier, POLICY).percent == 100


def test_autumn_weekend_counts_real_hours() -> None:
    # Friday 11:00 to Sunday 10:00 looks like 47 h, but 25 October 2026 lasts 25 h: it is 48 h.
    start = datetime(2026, 10, 25, 10, tzinfo=PARIS)
    friday = datetime(2026, 10, 23, 11, tzinfo=PARIS)
    assert refund_cents(10_000, start, friday, POLICY).percent == 100
    just_after = datetime(2026, 10, 23, 11, 0, 1, tzinfo=PARIS)
    assert refund_cents(10_000, start, just_after, POLICY).percent == 50


def test_instants_in_different_zones_compare_as_instants() -> None:
    cancelled_utc = before(48 * HOUR).astimezone(UTC)
    assert refund_cents(100, START, cancelled_utc, POLICY).percent == 100


# --- rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "percent", "expected"),
    [
        (999, 50, 500),  # 499.5 rounds half-up
        (1, 50, 1),  # 0.5 rounds half-up
        (333, 33, 110),  # 109.89
        (1001, 25, 250),  # 250.25
        (0, 100, 0),
        (12_345, 100, 12_345),
        (12_345, 0, 0),
    ],
)
def test_rounding_half_up_of_the_percentage(paid: int, percent: int, expected: int) -> None:
    tiers = [RefundTier.hours(1, percent)]
    assert refund_cents(paid, START, before(2 * HOUR), tiers).amount_cents == expected


@given(st.integers(0, 10**12), st.integers(0, 100), st.integers(-48 * 60, 96 * 60))
def test_never_more_than_paid_and_exactly_half_up(paid: int, percent: int, minutes: int) -> None:
    tiers = [RefundTier.hours(24, percent)]
    decision = refund_cents(paid, START, before(timedelta(minutes=minutes)), tiers)
    assert 0 <= decision.amount_cents <= paid
    if decision.reason is RefundReason.TIER:
        assert decision.amount_cents == (2 * paid * percent + 100) // 200
    else:
        assert decision.amount_cents == 0


@given(
    st.lists(st.integers(0, 24 * 14), min_size=1, max_size=5, unique=True),
    st.integers(0, 24 * 20),
    st.integers(0, 24 * 20),
)
def test_cancelling_earlier_never_refunds_less(hours: list[int], early: int, late: int) -> None:
    ordered = sorted(hours)
    tiers = [RefundTier.hours(h, 100 * (i + 1) // len(ordered)) for i, h in enumerate(ordered)]
    early, late = max(early, late), min(early, late)
    first = refund_cents(10_000, START, before(early * HOUR), tiers)
    second = refund_cents(10_000, START, before(late * HOUR), tiers)
    assert first.amount_cents >= second.amount_cents


# --- validation --------------------------------------------------------------------------------


def test_tiers_are_sorted_for_the_caller() -> None:
    ordered = validate_tiers(POLICY)
    assert [tier.notice for tier in ordered] == [48 * HOUR, 24 * HOUR]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: RefundTier.hours(24, 101), ValueError, "0..100"),
        (lambda: RefundTier.hours(24, -1), ValueError, "0..100"),
        (lambda: RefundTier.hours(24, 50.0), TypeError, "integer"),  # type: ignore[arg-type]
        (lambda: RefundTier.hours(24, True), TypeError, "integer"),
        (lambda: RefundTier.hours(-1, 50), ValueError, "negative"),
        (lambda: RefundTier(-HOUR, 50), ValueError, "negative"),
        (lambda: RefundTier.hours(1.5, 50), TypeError, "integer"),  # type: ignore[arg-type]
        (lambda: RefundTier(48, 100), TypeError, "timedelta"),  # type: ignore[arg-type]
    ],
)
def test_bad_tiers_are_refused(make: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()  # type: ignore[operator]


def test_duplicate_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="share the notice"):
        validate_tiers([RefundTier.hours(24, 50), RefundTier(timedelta(days=1), 80)])


def test_a_longer_notice_may_not_refund_less() -> None:
    with pytest.raises(ValueError, match="refunds less"):
        validate_tiers([RefundTier.hours(48, 50), RefundTier.hours(24, 100)])


def test_bad_inputs_are_refused() -> None:
    naive = datetime(2026, 6, 13, 10)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        refund_cents(100, naive, before(HOUR), POLICY)
    with pytest.raises(ValueError, match="timezone-aware"):
        refund_cents(100, START, naive, POLICY)
    with pytest.raises(ValueError, match="negative"):
        refund_cents(-1, START, before(HOUR), POLICY)
    with pytest.raises(TypeError, match="cents"):
        refund_cents(10.5, START, before(HOUR), POLICY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RefundTier"):
        refund_cents(100, START, before(HOUR), [(48, 100)])  # type: ignore[list-item]
