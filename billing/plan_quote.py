"""The price of one membership period as a charge records it (pure: no I/O).

Same shape as a booking's stored quote (lines, VAT breakdown, totals, mentions), so the
invoice is built the same way; one line, no hours.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.pricing import VatKind, VatRegime, incl_vat_cents


def plan_vat(kind: str, rate_bp: int, mention: str | None, default_mention: str) -> VatRegime:
    """A plan's stored VAT regime."""
    vat_kind = VatKind(kind)
    if vat_kind is VatKind.TAXABLE:
        return VatRegime(vat_kind, Decimal(rate_bp).scaleb(-2))
    return VatRegime(vat_kind, mention=mention or default_mention)


def plan_quote(label: str, price_cents: int, vat: VatRegime) -> dict[str, Any]:
    """One period at ``price_cents`` excl. VAT under ``vat``."""
    total = incl_vat_cents(price_cents, vat)
    tax = total - price_cents
    rate = f"{vat.rate:.2f}"
    return {
        "currency": "EUR",
        "lines": [
            {
                "label": label,
                "quantity": 1,
                "minutes": 0,
                "unit_price_cents": price_cents,
                "per_unit": False,
                "flat_fee_cents": price_cents,
                "minimum_applied": False,
                "free": price_cents == 0,
                "total_excl_vat_cents": price_cents,
                "vat_kind": vat.kind.value,
                "vat_rate": rate,
                "vat_cents": tax,
                "total_incl_vat_cents": total,
                "mention": vat.mention,
            }
        ],
        "breakdown": [
            {"kind": vat.kind.value, "rate": rate, "base_cents": price_cents, "vat_cents": tax}
        ],
        "total_excl_vat_cents": price_cents,
        "total_vat_cents": tax,
        "total_incl_vat_cents": total,
        "mentions": [vat.mention] if vat.mention else [],
    }
