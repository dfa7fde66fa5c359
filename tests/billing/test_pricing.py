"""Pricing: rates per user type, pooled units, fees, VAT per rate, mentions, DST, fingerprints."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.pricing import (
    BARE_PREMISES_MENTION,
    FRANCHISE_MENTION,
    MAX_LINE_CENTS,
    PUBLIC_BODY_MENTION,
    USER_TYPES,
    NoRateError,
    PriceList,
    Quote,
    QuoteRequestLine,
    Rate,
    VatKind,
    VatRegime,
    excl_vat_cents,
    incl_vat_cents,
    quote,
)

PARIS = ZoneInfo("Europe/Paris")
VAT_20 = VatRegime.taxable()
VAT_10 = VatRegime.taxable("10")
VAT_5_5 = VatRegime.taxable("5.5")
START = datetime(2026, 6, 2, 9, tzinfo=PARIS)


def line(
    rate: Rate,
    *,
    minutes: int = 60,
    vat: VatRegime = VAT_20,
    quantity: int = 1,
    label: str = "Imprimante 3D",
    start: datetime = START,
) -> QuoteRequestLine:
    """A request line lasting ``minutes`` of real time from ``start``."""
    return QuoteRequestLine(label, rate, vat, start, later(start, minutes), quantity)


def later(instant: datetime, minutes: int) -> datetime:
    """``minutes`` of real elapsed time after ``instant``, in the same zone."""
    # Aware datetime + timedelta is wall-clock arithmetic in Python: add in UTC instead.
    return (instant.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(instant.tzinfo)


def half_up(value: Fraction) -> int:
    """Independent oracle: round a non-negative exact value half-up."""
    return int(value + Fraction(1, 2))


# --- price lists -------------------------------------------------------------------------------


def test_each_user_type_gets_its_own_rate() -> None:
    hourly = {user_type: 500 + 100 * i for i, user_type in enumerate(USER_TYPES)}
    hourly["member"] = 250
    prices = PriceList({t: Rate(hourly_cents=c) for t, c in hourly.items()})

    totals = {
        user_type: quote([line(prices.rate_for(user_type), minutes=120)]).total_excl_vat_cents
        for user_type in hourly
    }

    assert totals == {user_type: 2 * cents for user_type, cents in hourly.items()}
    assert totals["citizen"] == 1000
    assert totals["public_body"] == 2200
    assert totals["member"] == 500


def test_unlisted_user_type_gets_the_default_or_no_rate() -> None:
    listed = PriceList({"citizen": Rate(hourly_cents=500)})
    with pytest.raises(NoRateError, match="company"):
        listed.rate_for("company")
    with_default = PriceList({"citizen": Rate(hourly_cents=500)}, default=Rate(hourly_cents=900))
    assert with_default.rate_for("company") == Rate(hourly_cents=900)
    assert with_default.rate_for("citizen") == Rate(hourly_cents=500)


def test_price_list_is_not_changed_by_its_source_dict() -> None:
    source = {"citizen": Rate(hourly_cents=500)}
    prices = PriceList(source)
    source["citizen"] = Rate(hourly_cents=1)
    assert prices.rate_for("citizen").hourly_cents == 500


@pytest.mark.parametrize("user_type", ["", "Citizen", "job seeker", "1school", "x" * 33])
def test_user_type_codes_are_checked(user_type: str) -> None:
    with pytest.raises(ValueError, match="user type"):
        PriceList({user_type: Rate()})


# --- lines -------------------------------------------------------------------------------------


def test_pooled_seats_are_priced_per_unit() -> None:
    seats = Rate(hourly_cents=150, per_unit=True)
    result = quote([line(seats, minutes=120, quantity=12, label="Postes CAO")])
    (priced,) = result.lines
    assert (priced.quantity, priced.hours, priced.unit_price_cents) == (12, Decimal(2), 150)
    assert priced.total_excl_vat_cents == 3600  # 12 seats x 2 h x 1.50 EUR
    assert (result.total_vat_cents, result.total_incl_vat_cents) == (720, 4320)


def test_a_rate_not_per_unit_ignores_the_quantity() -> None:
    room = Rate(hourly_cents=1500)
    assert quote([line(room, minutes=120, quantity=12)]).total_excl_vat_cents == 3000


def test_flat_fee_is_added_and_minimum_charge_raises_the_line() -> None:
    laser = Rate(hourly_cents=1200, flat_fee_cents=500, minimum_cents=2000)

    short = quote([line(laser, minutes=30)]).lines[0]
    assert short.total_excl_vat_cents == 2000  # 6.00 + 5.00 = 11.00, raised to 20.00
    assert short.minimum_applied
    assert short.flat_fee_cents == 500

    long = quote([line(laser, minutes=120)]).lines[0]
    assert long.total_excl_vat_cents == 2900  # 24.00 + 5.00
    assert not long.minimum_applied


def test_flat_fee_is_per_booking_even_for_pooled_units() -> None:
    seats = Rate(hourly_cents=100, per_unit=True, flat_fee_cents=300)
    assert quote([line(seats, quantity=5)]).total_excl_vat_cents == 800


def test_free_rate_gives_a_listed_zero_line_and_a_free_quote() -> None:
    free = Rate(hourly_cents=1200, flat_fee_cents=500, minimum_cents=2000, free=True)
    result = quote([line(free, label="Atelier réparation")])
    (priced,) = result.lines
    assert priced.label == "Atelier réparation"
    assert priced.free
    assert (priced.unit_price_cents, priced.total_incl_vat_cents) == (0, 0)
    assert result.is_free
    assert result.total_incl_vat_cents == 0


def test_zero_price_is_free_and_a_paid_line_is_not() -> None:
    assert quote([line(Rate())]).is_free
    assert not quote([line(Rate(free=True)), line(Rate(hourly_cents=1))]).is_free


def test_line_total_rounds_half_up_once() -> None:
    # 10.01 EUR/h for 30 min = 500.5 cents: half-up gives 501 (half-even would give 500).
    assert quote([line(Rate(hourly_cents=1001), minutes=30)]).total_excl_vat_cents == 501
    # 0.01 EUR/h for 20 min = 0.333 cent, rounded once on the line, not per minute.
    assert quote([line(Rate(hourly_cents=1), minutes=20)]).total_excl_vat_cents == 0
    assert quote([line(Rate(hourly_cents=1), minutes=30)]).total_excl_vat_cents == 1


def test_hours_are_exact_on_usual_grids_and_rounded_otherwise() -> None:
    rate = Rate(hourly_cents=1200)
    assert quote([line(rate, minutes=90)]).lines[0].hours == Decimal("1.5")
    assert quote([line(rate, minutes=15)]).lines[0].hours == Decimal("0.25")
    twenty = quote([line(rate, minutes=20)]).lines[0]
    assert twenty.hours == Decimal("0.3333")
    # The amount uses the exact 20 minutes, not the rounded hours.
    assert twenty.total_excl_vat_cents == 400


# --- time --------------------------------------------------------------------------------------


def test_spring_dst_night_is_priced_on_real_elapsed_time() -> None:
    # 01:00-04:00 on the wall clock, but 02:00 does not exist on 29 March 2026 in Paris.
    request = QuoteRequestLine(
        "Salle de nuit",
        Rate(hourly_cents=1000),
        VAT_20,
        datetime(2026, 3, 29, 1, tzinfo=PARIS),
        datetime(2026, 3, 29, 4, tzinfo=PARIS),
    )
    priced = quote([request]).lines[0]
    assert (priced.minutes, priced.hours, priced.total_excl_vat_cents) == (120, Decimal(2), 2000)


def test_autumn_dst_night_is_priced_on_real_elapsed_time() -> None:
    # 01:00-04:00 on 25 October 2026 lives 02:00-03:00 twice: four hours.
    request = QuoteRequestLine(
        "Salle de nuit",
        Rate(hourly_cents=1000),
        VAT_20,
        datetime(2026, 10, 25, 1, tzinfo=PARIS),
        datetime(2026, 10, 25, 4, tzinfo=PARIS),
    )
    assert quote([request]).lines[0].minutes == 240


def test_same_instants_in_different_zones_cost_the_same() -> None:
    start = datetime(2026, 3, 29, 0, tzinfo=UTC)
    paris_line = line(Rate(hourly_cents=1000), start=start.astimezone(PARIS), minutes=150)
    utc_line = line(Rate(hourly_cents=1000), start=start, minutes=150)
    assert quote([paris_line]).fingerprint() == quote([utc_line]).fingerprint()


# --- VAT ---------------------------------------------------------------------------------------


def test_mixed_vat_rates_give_exact_cents_per_rate() -> None:
    result = quote(
        [
            line(Rate(hourly_cents=103), label="Imprimante 3D A"),
            line(Rate(hourly_cents=103), label="Imprimante 3D B"),
            line(Rate(hourly_cents=300), vat=VAT_5_5, label="Billet conférence"),
            line(Rate(hourly_cents=2050), vat=VAT_10, minutes=30, label="Atelier"),
        ]
    )

    by_rate = {(b.kind, b.rate): (b.base_cents, b.vat_cents) for b in result.breakdown}
    assert by_rate == {
        # 2.06 x 20 % = 0.412 -> 0.41 on the rate (rounding each line, 2 x 0.21, would give 0.42).
        (VatKind.TAXABLE, Decimal(20)): (206, 41),
        # 3.00 x 5.5 % = 0.165 -> 0.17 (half-even would give 0.16).
        (VatKind.TAXABLE, Decimal("5.5")): (300, 17),
        # 10.25 x 10 % = 1.025 -> 1.03 (half-even would give 1.02).
        (VatKind.TAXABLE, Decimal(10)): (1025, 103),
    }
    assert [b.rate for b in result.breakdown] == [Decimal(20), Decimal(10), Decimal("5.5")]
    assert [pl.vat_cents for pl in result.lines] == [21, 20, 17, 103]
    assert result.total_excl_vat_cents == 1531
    assert result.total_vat_cents == 161
    assert result.total_incl_vat_cents == 1692
    assert result.mentions == ()


def test_exempt_and_out_of_scope_lines_carry_their_mentions() -> None:
    result = quote(
        [
            line(Rate(hourly_cents=2000), vat=VatRegime.exempt(), label="Salle nue"),
            line(Rate(hourly_cents=800), vat=VatRegime.out_of_scope(), label="Médiation"),
            line(Rate(hourly_cents=1000), label="Découpeuse laser"),
        ]
    )
    assert result.mentions == (BARE_PREMISES_MENTION, PUBLIC_BODY_MENTION)
    assert "261 D, 2° du CGI" in BARE_PREMISES_MENTION
    assert "art. 256 B du CGI" in PUBLIC_BODY_MENTION
    exempt, outside, taxable = result.lines
    assert (exempt.vat_kind, exempt.vat_cents, exempt.mention) == (
        VatKind.EXEMPT,
        0,
        BARE_PREMISES_MENTION,
    )
    assert (outside.vat_kind, outside.vat_cents) == (VatKind.OUT_OF_SCOPE, 0)
    assert taxable.mention is None
    assert [(b.kind, b.base_cents, b.vat_cents) for b in result.breakdown] == [
        (VatKind.TAXABLE, 1000, 200),
        (VatKind.EXEMPT, 2000, 0),
        (VatKind.OUT_OF_SCOPE, 800, 0),
    ]
    assert result.total_incl_vat_cents == 4000


def test_franchise_quote_has_its_mention_and_no_vat() -> None:
    result = quote([line(Rate(hourly_cents=1000), vat=VatRegime.franchise())])
    assert result.mentions == (FRANCHISE_MENTION,)
    assert FRANCHISE_MENTION == "TVA non applicable, art. 293 B du CGI"
    assert (result.total_vat_cents, result.total_incl_vat_cents) == (0, 1000)


def test_franchise_cannot_be_mixed_with_taxable_lines() -> None:
    with pytest.raises(ValueError, match="293 B"):
        quote(
            [
                line(Rate(hourly_cents=1000), vat=VatRegime.franchise()),
                line(Rate(hourly_cents=1000)),
            ]
        )


def test_display_helpers_convert_between_excl_and_incl_vat() -> None:
    assert incl_vat_cents(417, VAT_20) == 500  # 5.004 EUR
    assert excl_vat_cents(500, VAT_20) == 417
    assert incl_vat_cents(100, VAT_5_5) == 106  # 1.055 rounds half-up
    assert excl_vat_cents(106, VAT_5_5) == 100
    # No excl. price shows as 6.03 at 20 %: the helper never shows more than what was typed.
    assert excl_vat_cents(603, VAT_20) == 502
    assert incl_vat_cents(502, VAT_20) == 602
    assert incl_vat_cents(503, VAT_20) == 604
    assert incl_vat_cents(1234, VatRegime.exempt()) == 1234
    assert excl_vat_cents(1234, VatRegime.out_of_scope()) == 1234


@given(
    st.integers(0, MAX_LINE_CENTS // 2),
    st.sampled_from(["20", "10", "5.5", "2.1", "8.5", "0.9"]),
)
def test_display_helpers_round_trip(cents: int, rate: str) -> None:
    vat = VatRegime.taxable(rate)
    assert excl_vat_cents(incl_vat_cents(cents, vat), vat) == cents
    shown = incl_vat_cents(excl_vat_cents(cents, vat), vat)
    assert cents - 1 <= shown <= cents


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"hourly_cents": -1}, ValueError),
        ({"flat_fee_cents": -500}, ValueError),
        ({"minimum_cents": MAX_LINE_CENTS + 1}, ValueError),
        ({"hourly_cents": 12.5}, TypeError),
        ({"hourly_cents": Decimal(1250)}, TypeError),
        ({"hourly_cents": True}, TypeError),
    ],
)
def test_negative_absurd_or_non_integer_prices_are_refused(
    fields: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error, match="cents"):
        Rate(**fields)  # type: ignore[arg-type]


def test_a_line_above_the_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="cap"):
        quote([line(Rate(hourly_cents=MAX_LINE_CENTS), minutes=61)])


@pytest.mark.parametrize("rate", ["0", "100", "-5", "5.555", "NaN"])
def test_bad_vat_rates_are_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="VAT rate"):
        VatRegime.taxable(rate)


def test_float_vat_rate_and_missing_mention_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        VatRegime.taxable(5.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="legal mention"):
        VatRegime(VatKind.EXEMPT)
    with pytest.raises(ValueError, match="no exemption mention"):
        VatRegime(VatKind.TAXABLE, Decimal(20), "TVA non applicable")


def test_bad_request_lines_are_refused() -> None:
    rate = Rate(hourly_cents=100)
    naive = datetime(2026, 6, 2, 9)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        QuoteRequestLine("x", rate, VAT_20, naive, naive + timedelta(hours=1))
    with pytest.raises(ValueError, match="ends before"):
        line(rate, minutes=0)
    with pytest.raises(ValueError, match="quantity"):
        line(rate, quantity=0)
    with pytest.raises(ValueError, match="label"):
        line(rate, label=" ")
    with pytest.raises(ValueError, match="whole minutes"):
        QuoteRequestLine("x", rate, VAT_20, START, START + timedelta(seconds=90))
    with pytest.raises(ValueError, match="at least one line"):
        quote([])


# --- fingerprint -------------------------------------------------------------------------------


def test_fingerprint_is_stable_and_independent_of_the_decimal_context() -> None:
    lines = [line(Rate(hourly_cents=1001), minutes=30), line(Rate(hourly_cents=300), vat=VAT_5_5)]
    reference = quote(lines)
    with localcontext() as context:
        context.prec = 3  # someone else's setting must not change our amounts
        assert quote(lines) == reference
    assert quote(lines).fingerprint() == reference.fingerprint()
    assert len(reference.fingerprint()) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"hourly_cents": 1201},
        {"flat_fee_cents": 501},
        {"minimum_cents": 3001},
        {"free": True},
        {"per_unit": True},
    ],
)
def test_fingerprint_changes_with_any_price(change: dict[str, object]) -> None:
    rate = Rate(hourly_cents=1200, flat_fee_cents=500, minimum_cents=3000)
    before = quote([line(rate, quantity=2)]).fingerprint()
    after = quote([line(dataclasses.replace(rate, **change), quantity=2)]).fingerprint()  # type: ignore[arg-type]
    assert before != after


def test_fingerprint_changes_with_vat_duration_and_quantity() -> None:
    rate = Rate(hourly_cents=1200, per_unit=True)
    before = quote([line(rate)]).fingerprint()
    assert quote([line(rate, vat=VAT_10)]).fingerprint() != before
    assert quote([line(rate, minutes=90)]).fingerprint() != before
    assert quote([line(rate, quantity=2)]).fingerprint() != before


# --- properties --------------------------------------------------------------------------------

VATS = [VAT_20, VAT_10, VAT_5_5, VatRegime.taxable("2.1"), VatRegime.exempt()]
VATS.append(VatRegime.out_of_scope())
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPRING = int((datetime(2026, 3, 29, 1, tzinfo=UTC) - EPOCH).total_seconds()) // 60
AUTUMN = int((datetime(2026, 10, 25, 1, tzinfo=UTC) - EPOCH).total_seconds()) // 60

rates = st.builds(
    Rate,
    hourly_cents=st.integers(0, 50_000),
    per_unit=st.booleans(),
    flat_fee_cents=st.integers(0, 20_000) | st.just(0),
    minimum_cents=st.integers(0, 20_000) | st.just(0),
    free=st.integers(0, 9).map(lambda n: n == 0),
)


@st.composite
def request_lines(draw: st.DrawFn) -> QuoteRequestLine:
    """A line starting on any minute of 2026 in Paris, often on a DST night."""
    offset = draw(
        st.integers(0, 365 * 24 * 60)
        | st.integers(SPRING - 12 * 60, SPRING + 6 * 60)
        | st.integers(AUTUMN - 12 * 60, AUTUMN + 6 * 60)
    )
    start = (EPOCH + timedelta(minutes=offset)).astimezone(PARIS)
    return QuoteRequestLine(
        draw(st.sampled_from(["Imprimante 3D", "Découpeuse laser", "Salle", "Postes CAO"])),
        draw(rates),
        draw(st.sampled_from(VATS)),
        start,
        later(start, draw(st.integers(1, 24 * 60))),
        draw(st.integers(1, 20)),
    )


line_lists = st.lists(request_lines(), min_size=1, max_size=8)


@given(line_lists)
def test_totals_equal_the_sum_of_the_breakdown(lines: list[QuoteRequestLine]) -> None:
    result = quote(lines)
    assert result.total_excl_vat_cents == sum(b.base_cents for b in result.breakdown)
    assert result.total_vat_cents == sum(b.vat_cents for b in result.breakdown)
    assert result.total_incl_vat_cents == result.total_excl_vat_cents + result.total_vat_cents
    assert result.total_excl_vat_cents == sum(pl.total_excl_vat_cents for pl in result.lines)
    assert result.total_vat_cents == sum(pl.vat_cents for pl in result.lines)
    assert result.total_incl_vat_cents == sum(pl.total_incl_vat_cents for pl in result.lines)
    for priced in result.lines:
        assert priced.total_incl_vat_cents == priced.total_excl_vat_cents + priced.vat_cents
    amounts = [result.total_excl_vat_cents, result.total_vat_cents]
    amounts += [pl.total_excl_vat_cents for pl in result.lines]
    amounts += [pl.vat_cents for pl in result.lines]
    assert all(isinstance(amount, int) and amount >= 0 for amount in amounts)
    assert result.is_free == (result.total_incl_vat_cents == 0)


@given(line_lists)
def test_amounts_match_an_exact_fraction_oracle(lines: list[QuoteRequestLine]) -> None:
    result = quote(lines)
    bases: dict[tuple[VatKind, Decimal], int] = {}
    for request, priced in zip(lines, result.lines, strict=True):
        rate = request.rate
        minutes = int((request.end.timestamp() - request.start.timestamp()) // 60)
        units = request.quantity if rate.per_unit else 1
        exact = Fraction(rate.hourly_cents * units * minutes, 60) + rate.flat_fee_cents
        expected = 0 if rate.free else max(half_up(exact), rate.minimum_cents)
        assert priced.total_excl_vat_cents == expected
        key = (request.vat.kind, request.vat.rate)
        bases[key] = bases.get(key, 0) + expected
        # Each line's VAT is less than a cent from its exact VAT.
        exact_vat = Fraction(expected) * Fraction(request.vat.rate) / 100
        assert abs(priced.vat_cents - exact_vat) < 1
    for entry in result.breakdown:
        assert entry.base_cents == bases[(entry.kind, entry.rate)]
        assert entry.vat_cents == half_up(Fraction(entry.base_cents) * Fraction(entry.rate) / 100)


@given(line_lists, st.integers(-100_000, 100_000))
def test_fingerprint_ignores_when_the_slot_is(lines: list[QuoteRequestLine], shift: int) -> None:
    moved = [
        dataclasses.replace(
            request,
            start=later(request.start, shift),
            end=later(request.end, shift),
        )
        for request in lines
    ]
    assert quote(moved).fingerprint() == quote(lines).fingerprint()


@given(
    line_lists,
    st.data(),
    st.sampled_from(["hourly_cents", "flat_fee_cents", "minimum_cents"]),
    st.integers(1, 1000),
)
def test_fingerprint_changes_exactly_when_an_amount_changes(
    lines: list[QuoteRequestLine], data: st.DataObject, field: str, bump: int
) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    target = lines[index]
    bumped_rate = dataclasses.replace(target.rate, **{field: getattr(target.rate, field) + bump})
    changed = [*lines[:index], dataclasses.replace(target, rate=bumped_rate), *lines[index + 1 :]]
    before, after = quote(lines), quote(changed)

    assert (before.fingerprint() == after.fingerprint()) == (
        before.canonical() == after.canonical()
    )
    if not target.rate.free and field != "minimum_cents":
        # The hourly price or the fee is printed on the line: a change always shows.
        assert before.fingerprint() != after.fingerprint()
    if before.fingerprint() == after.fingerprint():
        assert before.total_incl_vat_cents == after.total_incl_vat_cents


def test_quote_is_a_plain_value() -> None:
    result = quote([line(Rate(hourly_cents=100))])
    assert isinstance(result, Quote)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total_excl_vat_cents = 0  # type: ignore[misc]
