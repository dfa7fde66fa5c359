"""Invoices of bookings partly paid by a membership's included hours (a line charged for less
time than it lasts, its label saying how much was included) pass the EN 16931 rules, with and
without the member discount, and so do their credit notes."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.adjustments import Adjustments, Benefits
from billing.facturx import facturx_xml
from billing.invoicing import seller_of
from billing.pricing import QuoteRequestLine
from tests.billing.facturx_rules import assert_valid
from tests.billing.test_facturx import (
    billing,
    buyer,
    credit_note_content,
    invoice_content,
    place,
    request_lines,
)
from tests.billing.test_facturx_adjustments import charged


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=request_lines(),
    included=st.integers(0, 600),
    member=st.decimals(0, 50, places=0),
    buyer_kind=st.sampled_from(["person", "school", "chorus"]),
    credit=st.one_of(st.none(), st.floats(0, 1)),
)
def test_invoices_with_included_hours_pass_the_en16931_rules(
    lines: list[QuoteRequestLine],
    included: int,
    member: Decimal,
    buyer_kind: str,
    credit: float | None,
) -> None:
    benefits = Benefits(
        included_minutes={i: included for i in range(1, len(lines) + 1)}, discount_percent=member
    )
    quote = charged(lines, Adjustments(benefits=benefits))
    invoice = invoice_content(
        quote, buyer=buyer(buyer_kind), seller=seller_of(place(), billing()), paid=True
    )
    assert_valid(facturx_xml(invoice))
    total = invoice["total_incl_vat_cents"]
    if credit is not None and total > 0:
        amount = max(1, int(Decimal(str(credit)) * total))
        assert_valid(facturx_xml(credit_note_content(invoice, amount)))
