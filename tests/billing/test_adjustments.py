"""The quote pipeline: included hours, pack hours, member discount, coupon, wallet (pure)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.adjustments import (
    COUPON,
    INCLUDED,
    MEMBER_DISCOUNT,
    PACK,
    Adjustments,
    Benefits,
    CouponTerms,
    PackHours,
    Paid,
    adjusted_quote,
    give_back,
    paid_with,
)
from billing.pricing import QuoteRequestLine, Rate, VatKind, VatRegime, quote, vat_of_base

START = datetime(2026, 6, 2, 7, tzinfo=UTC)
LASER = 7
PRINTER = 8
VAT_20 = VatRegime.taxable()


def line(
    hourly: int,
    minutes: int = 60,
    *,
    vat: VatRegime = VAT_20,
    quantity: int = 1,
    fee: int = 0,
    minimum: int = 0,
    per_unit: bool = False,
    label: str = "Découpeuse laser",
) -> QuoteRequestLine:
    """A request line of ``minutes`` at ``hourly`` cents excl. VAT."""
    rate = Rate(hourly, per_unit=per_unit, flat_fee_cents=fee, minimum_cents=minimum)
    return QuoteRequestLine(label, rate, vat, START, START + timedelta(minutes=minutes), quantity)


# --- examples -----------------------------------------------------------------------------------


def test_nothing_to_apply_is_the_plain_quote() -> None:
    lines = [line(2000, 90), line(500, 30, vat=VatRegime.exempt(), label="Salle")]
    assert adjusted_quote(lines, [LASER, PRINTER]) == quote(lines)


def test_pack_hours_cover_the_laser_and_nothing_is_due() -> None:
    pack = PackHours(pack_id=3, resource_ids=frozenset({LASER}), minutes=600)
    priced = adjusted_quote([line(2000, 120)], [LASER], Adjustments(packs=(pack,)))
    assert priced.total_incl_vat_cents == 0
    assert [(c.source, c.source_id, c.minutes) for c in priced.coverage] == [(PACK, 3, 120)]
    assert paid_with(priced) == Paid(0, 0, {(PACK, 3): 120})


def test_included_hours_come_before_pack_hours_and_the_rest_is_charged_with_its_fee() -> None:
    pack = PackHours(pack_id=3, resource_ids=frozenset({LASER}), minutes=30)
    adjustments = Adjustments(benefits=Benefits(included_minutes={LASER: 60}), packs=(pack,))
    priced = adjusted_quote([line(2000, 120, fee=300)], [LASER], adjustments)
    assert [(c.source, c.minutes) for c in priced.coverage] == [(INCLUDED, 60), (PACK, 30)]
    # 30 minutes at 20.00 EUR/h plus the 3.00 EUR fee, then 20 % VAT.
    assert priced.total_excl_vat_cents == 1000 + 300
    assert priced.total_incl_vat_cents == 1560


def test_a_pack_of_another_resource_covers_nothing() -> None:
    pack = PackHours(pack_id=3, resource_ids=frozenset({PRINTER}), minutes=600)
    priced = adjusted_quote([line(2000, 60)], [LASER], Adjustments(packs=(pack,)))
    assert priced.coverage == ()
    assert priced.total_incl_vat_cents == 2400


def test_per_unit_bookings_spend_unit_hours() -> None:
    pack = PackHours(pack_id=1, resource_ids=frozenset({LASER}), minutes=120)
    priced = adjusted_quote(
        [line(1000, 120, quantity=2, per_unit=True)], [LASER], Adjustments(packs=(pack,))
    )
    # Two seats: the pack's two hours cover one hour of the booking.
    assert [(c.minutes, c.unit_minutes) for c in priced.coverage] == [(60, 120)]
    assert priced.total_excl_vat_cents == 2000


def test_member_discount_then_coupon_reduce_the_vat_base() -> None:
    coupon = CouponTerms(coupon_id=5, code="RENTREE", percent=Decimal(50))
    adjustments = Adjustments(
        benefits=Benefits(discount_percent=Decimal(10)), coupon=coupon, wallet_cents=500
    )
    priced = adjusted_quote([line(2000, 60)], [LASER], adjustments)
    kinds = [(a.kind, a.total_excl_vat_cents, a.vat_cents) for a in priced.adjustments]
    # 20.00 -> 18.00 (-10 %) -> 9.00 (-50 %); VAT 4.00 -> 3.60 -> 1.80.
    assert kinds == [(MEMBER_DISCOUNT, -200, -40), (COUPON, -900, -180)]
    assert priced.breakdown[0].base_cents == 900
    assert priced.total_incl_vat_cents == 1080
    assert priced.wallet_cents == 500
    assert priced.due_cents == 580


def test_an_amount_coupon_only_discounts_its_resources() -> None:
    coupon = CouponTerms(
        coupon_id=5, code="LASER5", amount_cents=600, resource_ids=frozenset({LASER})
    )
    lines = [line(2000, 60), line(1000, 60, label="Imprimante 3D")]
    priced = adjusted_quote(lines, [LASER, PRINTER], Adjustments(coupon=coupon))
    assert priced.total_incl_vat_cents == 2400 + 1200 - 600
    assert [a.total_incl_vat_cents for a in priced.adjustments] == [-600]


def test_an_amount_coupon_never_makes_a_quote_negative() -> None:
    coupon = CouponTerms(coupon_id=5, code="BIG", amount_cents=100_000)
    priced = adjusted_quote([line(2000, 60)], [LASER], Adjustments(coupon=coupon))
    assert priced.total_incl_vat_cents == 0
    assert priced.is_free


def test_the_fingerprint_covers_packs_coupons_and_wallet() -> None:
    lines = [line(2000, 60)]
    pack = PackHours(pack_id=1, resource_ids=frozenset({LASER}), minutes=60)
    fewer = PackHours(pack_id=1, resource_ids=frozenset({LASER}), minutes=30)
    coupon = CouponTerms(coupon_id=5, code="A", percent=Decimal(10))
    prints = {
        adjusted_quote(lines, [LASER], a).fingerprint()
        for a in (
            Adjustments(),
            Adjustments(packs=(pack,)),
            Adjustments(packs=(fewer,)),
            Adjustments(coupon=coupon),
            Adjustments(wallet_cents=100),
        )
    }
    assert len(prints) == 5
    # The plain quote keeps the fingerprint it always had.
    assert adjusted_quote(lines, [LASER]).fingerprint() == quote(lines).fingerprint()


def test_give_back_follows_the_refund_tier_in_each_medium() -> None:
    paid = Paid(money_cents=1001, wallet_cents=333, minutes={(PACK, 1): 90})
    assert give_back(paid, 50) == Paid(501, 167, {(PACK, 1): 45})
    assert give_back(paid, 100) == paid
    assert give_back(paid, 0) == Paid(0, 0, {(PACK, 1): 0})


def test_invalid_terms_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        CouponTerms(coupon_id=1, code="X", percent=Decimal(5), amount_cents=100)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        Benefits(discount_percent=Decimal(101))
    with pytest.raises(ValueError):
        PackHours(pack_id=1, resource_ids=frozenset(), minutes=-1)


# --- properties ---------------------------------------------------------------------------------

VATS = st.sampled_from(
    [
        VatRegime.taxable(),
        VatRegime.taxable("10"),
        VatRegime.taxable("5.5"),
        VatRegime.exempt(),
        VatRegime.out_of_scope(),
    ]
)
RESOURCES = st.sampled_from([1, 2, 3])


@st.composite
def requests(draw: st.DrawFn) -> tuple[list[QuoteRequestLine], list[int]]:
    count = draw(st.integers(1, 3))
    resource_ids = draw(st.lists(RESOURCES, min_size=count, max_size=count, unique=True))
    lines = [
        line(
            draw(st.integers(0, 20_000)),
            draw(st.integers(1, 600)),
            vat=draw(VATS),
            quantity=draw(st.integers(1, 4)),
            fee=draw(st.integers(0, 2_000)),
            minimum=draw(st.integers(0, 5_000)),
            per_unit=draw(st.booleans()),
            label=f"Ressource {r}",
        )
        for r in resource_ids
    ]
    return lines, resource_ids


@st.composite
def adjustments(draw: st.DrawFn) -> Adjustments:
    percents = st.decimals(0, 100, places=2)
    ids = st.frozensets(RESOURCES, min_size=1)
    packs = tuple(
        PackHours(i, draw(ids), draw(st.integers(0, 900))) for i in range(draw(st.integers(0, 3)))
    )
    coupon = draw(
        st.one_of(
            st.none(),
            st.builds(
                CouponTerms,
                coupon_id=st.just(1),
                code=st.just("CODE"),
                percent=percents,
                resource_ids=st.one_of(st.none(), ids),
            ),
            st.builds(
                CouponTerms,
                coupon_id=st.just(1),
                code=st.just("CODE"),
                amount_cents=st.integers(0, 50_000),
                resource_ids=st.one_of(st.none(), ids),
            ),
        )
    )
    return Adjustments(
        benefits=Benefits(
            included_minutes=draw(st.dictionaries(RESOURCES, st.integers(0, 600))),
            discount_percent=draw(percents),
        ),
        packs=packs,
        coupon=coupon,
        wallet_cents=draw(st.integers(0, 30_000)),
    )


@settings(max_examples=300)
@given(requests(), adjustments())
def test_lines_and_adjustments_add_up_to_the_totals_and_vat_per_rate(
    request: tuple[list[QuoteRequestLine], list[int]], applied: Adjustments
) -> None:
    lines, resource_ids = request
    priced = adjusted_quote(lines, resource_ids, applied)

    lines_and_discounts = [
        (x.total_excl_vat_cents, x.vat_cents, x.total_incl_vat_cents) for x in priced.lines
    ] + [(a.total_excl_vat_cents, a.vat_cents, a.total_incl_vat_cents) for a in priced.adjustments]
    assert priced.total_excl_vat_cents == sum(x[0] for x in lines_and_discounts)
    assert priced.total_vat_cents == sum(x[1] for x in lines_and_discounts)
    assert priced.total_incl_vat_cents == sum(x[2] for x in lines_and_discounts)
    per_rate: dict[tuple[VatKind, Decimal], list[int]] = defaultdict(lambda: [0, 0])
    for x in priced.lines:
        per_rate[(x.vat_kind, x.vat_rate)][0] += x.total_excl_vat_cents
        per_rate[(x.vat_kind, x.vat_rate)][1] += x.vat_cents
    for a in priced.adjustments:
        per_rate[(a.vat_kind, a.vat_rate)][0] += a.total_excl_vat_cents
        per_rate[(a.vat_kind, a.vat_rate)][1] += a.vat_cents
    assert {(b.kind, b.rate): [b.base_cents, b.vat_cents] for b in priced.breakdown} == dict(
        per_rate
    )
    for b in priced.breakdown:
        # Each rate's VAT is computed once on its net base, as the invoice states it.
        assert b.vat_cents == vat_of_base(b.base_cents, b.kind, b.rate)
        assert b.base_cents >= 0 and b.vat_cents >= 0


@settings(max_examples=300)
@given(requests(), adjustments())
def test_nothing_is_negative_and_no_source_gives_more_than_it_has(
    request: tuple[list[QuoteRequestLine], list[int]], applied: Adjustments
) -> None:
    lines, resource_ids = request
    priced = adjusted_quote(lines, resource_ids, applied)
    plain = quote(lines)

    assert 0 <= priced.total_incl_vat_cents <= plain.total_incl_vat_cents
    assert all(x.total_excl_vat_cents >= 0 and x.vat_cents >= 0 for x in priced.lines)
    assert all(a.total_excl_vat_cents <= 0 and a.vat_cents <= 0 for a in priced.adjustments)
    assert 0 <= priced.wallet_cents <= min(applied.wallet_cents, priced.total_incl_vat_cents)
    assert priced.due_cents >= 0
    if applied.coupon is not None and applied.coupon.amount_cents is not None:
        taken = -sum(a.total_incl_vat_cents for a in priced.adjustments if a.kind == COUPON)
        assert taken <= applied.coupon.amount_cents + len(lines)
    covered: dict[int, int] = defaultdict(int)
    given_by: dict[tuple[str, int | None], int] = defaultdict(int)
    for c in priced.coverage:
        covered[c.line] += c.minutes
        key = (c.source, c.source_id if c.source == PACK else resource_ids[c.line])
        given_by[key] += c.unit_minutes
        assert c.minutes > 0 and c.units == lines[c.line].quantity
    for index, minutes in covered.items():
        assert minutes <= lines[index].minutes
    for pack in applied.packs:
        assert given_by[(PACK, pack.pack_id)] <= pack.minutes
    for resource_id, minutes in applied.benefits.included_minutes.items():
        assert given_by[(INCLUDED, resource_id)] <= minutes


@given(
    st.integers(0, 10**8),
    st.integers(0, 10**6),
    st.dictionaries(st.tuples(st.just(PACK), st.integers(1, 5)), st.integers(0, 10**5)),
    st.integers(0, 100),
    st.integers(0, 100),
)
def test_a_refund_never_exceeds_what_was_paid_in_each_medium(
    money: int, wallet: int, minutes: dict[tuple[str, int | None], int], low: int, high: int
) -> None:
    low, high = sorted((low, high))
    paid = Paid(money, wallet, minutes)
    less, more = give_back(paid, low), give_back(paid, high)
    for back in (less, more):
        assert 0 <= back.money_cents <= money
        assert 0 <= back.wallet_cents <= wallet
        assert all(0 <= back.minutes[k] <= v for k, v in minutes.items())
    # A better tier never gives back less in any medium.
    assert less.money_cents <= more.money_cents and less.wallet_cents <= more.wallet_cents
    assert all(less.minutes[k] <= more.minutes[k] for k in minutes)
