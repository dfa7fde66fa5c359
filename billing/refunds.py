"""Pure cancellation policy: how much of a paid booking is refunded (no I/O, no clock).

A policy is a list of tiers such as "100 % up to 48 h before the start, 50 % up to 24 h, then
nothing". Boundaries are inclusive: cancelling exactly 48 h before the start is in the 100 % tier.
Notice is real elapsed time (UTC difference), so a DST weekend neither gives nor takes an hour.
A cancellation at or after the start refunds nothing, even with a "0 h" tier (which therefore
means "any time before the start"); a cancellation by the place always refunds everything.
The amount is ``paid x percent / 100`` rounded half-up to the cent, never more than was paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from itertools import pairwise

_CONTEXT = Context(prec=40, rounding=ROUND_HALF_UP)
_ZERO = timedelta(0)


class RefundReason(StrEnum):
    """Stable codes of why a refund is what it is."""

    TIER = "tier"
    NO_TIER = "no_tier"
    STARTED = "started"
    PLACE_CANCELLED = "place_cancelled"


@dataclass(frozen=True, slots=True)
class RefundTier:
    """Refund ``percent`` when cancelling at least ``notice`` before the start."""

    notice: timedelta
    percent: int
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.notice, timedelta):
            raise TypeError(f"notice must be a timedelta, got {self.notice!r}")
        if self.notice < _ZERO:
            raise ValueError(f"notice must not be negative, got {self.notice}")
        if isinstance(self.percent, bool) or not isinstance(self.percent, int):
            raise TypeError(f"percent must be an integer, got {self.percent!r}")
        if not 0 <= self.percent <= 100:
            raise ValueError(f"percent must be within 0..100, got {self.percent}")
        if not isinstance(self.label, str):
            raise TypeError(f"label must be a string, got {self.label!r}")

    @classmethod
    def hours(cls, hours: int, percent: int, label: str = "") -> RefundTier:
        """A tier with its notice in whole hours."""
        if isinstance(hours, bool) or not isinstance(hours, int):
            raise TypeError(f"hours must be an integer, got {hours!r}")
        if hours < 0:
            raise ValueError(f"hours must not be negative, got {hours}")
        return cls(timedelta(hours=hours), percent, label)

    @property
    def display_label(self) -> str:
        """The label given, else a French default such as "100 % jusqu'à 48 h avant le début"."""
        if self.label:
            return self.label
        if not self.notice:
            return f"{self.percent} % jusqu'au début"
        hours, rest = divmod(self.notice, timedelta(hours=1))
        notice = f"{hours} h" if not rest else f"{hours} h {rest // timedelta(minutes=1):02d}"
        return f"{self.percent} % jusqu'à {notice} avant le début"


@dataclass(frozen=True, slots=True)
class RefundDecision:
    """How much to refund, at what percentage, and which rule decided it."""

    amount_cents: int
    percent: int
    tier_label: str
    reason: RefundReason


def validate_tiers(tiers: Sequence[RefundTier]) -> tuple[RefundTier, ...]:
    """The tiers sorted from the longest notice, refusing duplicates and non-monotonic refunds."""
    for tier in tiers:
        if not isinstance(tier, RefundTier):
            raise TypeError(f"tiers must be RefundTier, got {tier!r}")
    ordered = tuple(sorted(tiers, key=lambda tier: tier.notice, reverse=True))
    for longer, shorter in pairwise(ordered):
        if longer.notice == shorter.notice:
            raise ValueError(f"two tiers share the notice {longer.notice}")
        if longer.percent < shorter.percent:
            # Cancelling earlier must never cost the booker more than cancelling later.
            raise ValueError(
                f"a longer notice refunds less ({longer.percent} % at {longer.notice}) than a "
                f"shorter one ({shorter.percent} % at {shorter.notice})"
            )
    return ordered


def refund_cents(
    paid_cents: int,
    starts_at: datetime,
    cancelled_at: datetime,
    tiers: Sequence[RefundTier],
    *,
    by_place: bool = False,
) -> RefundDecision:
    """The refund of a booking paid ``paid_cents``, cancelled at ``cancelled_at``."""
    if isinstance(paid_cents, bool) or not isinstance(paid_cents, int):
        raise TypeError(f"paid_cents must be an integer number of cents, got {paid_cents!r}")
    if paid_cents < 0:
        raise ValueError(f"paid_cents must not be negative, got {paid_cents}")
    for name, instant in (("starts_at", starts_at), ("cancelled_at", cancelled_at)):
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, got {instant!r}")
    ordered = validate_tiers(tiers)

    if by_place:
        return _decide(paid_cents, 100, "annulation par le lieu", RefundReason.PLACE_CANCELLED)
    notice = starts_at.astimezone(UTC) - cancelled_at.astimezone(UTC)
    if notice <= _ZERO:
        return _decide(paid_cents, 0, "après le début", RefundReason.STARTED)
    for tier in ordered:
        if notice >= tier.notice:
            return _decide(paid_cents, tier.percent, tier.display_label, RefundReason.TIER)
    return _decide(paid_cents, 0, "hors délai d'annulation", RefundReason.NO_TIER)


def _decide(paid_cents: int, percent: int, label: str, reason: RefundReason) -> RefundDecision:
    exact = _CONTEXT.divide(_CONTEXT.multiply(Decimal(paid_cents), Decimal(percent)), 100)
    amount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_CONTEXT))
    return RefundDecision(min(amount, paid_cents), percent, label, reason)
