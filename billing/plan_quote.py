"""The price of one membership period as a charge records it (pure: no I/O).

Priced by the quote pipeline (:func:`billing.adjustments.adjusted_quote`), as a booking is: one
line at the plan's price, then a coupon (a discount line per VAT rate reducing its base) and the
share the wallet pays (a means of payment, not a discount). Stored in the same shape as a
booking's quote (lines, adjustments, VAT breakdown, totals, mentions), so the invoice is built
the same way; a period is not time: its line shows no hours.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing.adjustments import NOTHING, Adjustments, CouponTerms, adjusted_quote
from billing.coupons import stored_terms
from billing.prices import DEFAULT_MENTIONS
from billing.pricing import Quote, QuoteRequestLine, Rate, VatKind, VatRegime

# The pipeline prices a span of time; a period's line is a flat price over a nominal minute.
_NOMINAL = timedelta(minutes=1)


def plan_vat(kind: str, rate_bp: int, mention: str | None) -> VatRegime:
    """The stored VAT regime of a plan, a pack or a session's tickets (an exemption without a
    mention of its own takes the usual one)."""
    vat_kind = VatKind(kind)
    if vat_kind is VatKind.TAXABLE:
        return VatRegime(vat_kind, Decimal(rate_bp).scaleb(-2))
    return VatRegime(vat_kind, mention=mention or DEFAULT_MENTIONS.get(vat_kind, ""))


def period_quote(
    label: str,
    price_cents: int,
    vat: VatRegime,
    starts_at: datetime,
    adjustments: Adjustments = NOTHING,
) -> Quote:
    """One period at ``price_cents`` excl. VAT under ``vat``, after a coupon and the wallet."""
    line = QuoteRequestLine(
        label, Rate(flat_fee_cents=price_cents), vat, starts_at, starts_at + _NOMINAL
    )
    # Resource id 0: a plan's coupon names no resource (it is checked against the plan).
    priced = adjusted_quote([line], [0], adjustments)
    return replace(
        priced,
        lines=tuple(
            replace(
                q,
                minutes=0,
                hours=Decimal(0),
                unit_price_cents=q.flat_fee_cents,
                free=price_cents == 0,
            )
            for q in priced.lines
        ),
    )


def stored_period_quote(priced: Quote, coupon: CouponTerms | None = None) -> dict[str, Any]:
    """A period's quote as its charge keeps it (the invoice's source), with its coupon."""
    stored: dict[str, Any] = {**priced.canonical(), "mentions": list(priced.mentions)}
    if coupon is not None:
        stored["coupon"] = stored_terms(coupon)
    return stored


def plan_quote(label: str, price_cents: int, vat: VatRegime, starts_at: datetime) -> dict[str, Any]:
    """One period at ``price_cents`` excl. VAT under ``vat``, nothing taken off (a renewal)."""
    return stored_period_quote(period_quote(label, price_cents, vat, starts_at))
