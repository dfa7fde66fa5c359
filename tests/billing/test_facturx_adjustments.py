"""Factur-X of invoices with a discount (a coupon, a member discount) or a wallet's share: every
XML still passes the EN 16931 XSD and schematrons (BR-27: a discount is a negative quantity at a
positive price), and what the wallet paid is the prepaid amount."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from billing.adjustments import Adjustments, Benefits, CouponTerms, adjusted_quote
from billing.facturx import facturx_xml
from billing.facturx.cii import NSMAP
from billing.invoicing import seller_of
from billing.pricing import QuoteRequestLine, Rate, VatRegime
from tests.billing.facturx_rules import assert_valid
from tests.billing.test_facturx import (
    START,
    billing,
    buyer,
    credit_note_content,
    invoice_content,
    place,
    request_lines,
)


def charged(lines: list[QuoteRequestLine], adjustments: Adjustments) -> dict[str, Any]:
    """A quote through the pipeline, as a payment stores it."""
    priced = adjusted_quote(lines, list(range(1, len(lines) + 1)), adjustments)
    return {**priced.canonical(), "mentions": list(priced.mentions)}


END = START + timedelta(hours=2)
COUPONS = st.one_of(
    st.builds(
        CouponTerms,
        coupon_id=st.just(1),
        code=st.just("RENTREE"),
        percent=st.decimals(1, 100, places=0),
    ),
    st.builds(
        CouponTerms,
        coupon_id=st.just(1),
        code=st.just("CINQ"),
        amount_cents=st.integers(1, 20_000),
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=request_lines(),
    coupon=COUPONS,
    member=st.decimals(0, 50, places=0),
    buyer_kind=st.sampled_from(["person", "school", "chorus"]),
    credit=st.one_of(st.none(), st.floats(0, 1)),
)
def test_discounted_invoices_and_their_credit_notes_pass_the_en16931_rules(
    lines: list[QuoteRequestLine],
    coupon: CouponTerms,
    member: Decimal,
    buyer_kind: str,
    credit: float | None,
) -> None:
    quote = charged(lines, Adjustments(benefits=Benefits(discount_percent=member), coupon=coupon))
    invoice = invoice_content(
        quote, buyer=buyer(buyer_kind), seller=seller_of(place(), billing()), paid=True
    )
    assert_valid(facturx_xml(invoice))
    total = invoice["total_incl_vat_cents"]
    if credit is not None and total > 0:
        amount = max(1, int(Decimal(str(credit)) * total))
        assert_valid(facturx_xml(credit_note_content(invoice, amount)))


def test_what_the_wallet_paid_is_prepaid_and_the_rest_is_due() -> None:
    # Two hours at 15.00 EUR excl. VAT (36.00 EUR with VAT), 5.00 EUR of it from the wallet.
    lines = [
        QuoteRequestLine(
            "Découpeuse laser", Rate(hourly_cents=1500), VatRegime.taxable(), START, END
        )
    ]
    quote = charged(lines, Adjustments(wallet_cents=500))
    invoice = invoice_content(quote, buyer=buyer("person"), seller=seller_of(place(), billing()))
    invoice["payment"]["wallet_cents"] = 500
    xml = facturx_xml(invoice)
    assert_valid(xml)
    root = etree.fromstring(xml)

    def amount(name: str) -> Decimal:
        found = root.xpath(f"//ram:{name}/text()", namespaces=NSMAP)
        return Decimal(str(found[0]))

    assert amount("GrandTotalAmount") == Decimal("36.00")
    assert amount("TotalPrepaidAmount") == Decimal("5.00")
    assert amount("DuePayableAmount") == Decimal("31.00")
