"""Pure pricing: price lists per user type, quote lines, VAT per rate and totals (no I/O).

Canonical storage: every price is an integer number of cents *excluding* VAT, because an invoice
must show unit prices excluding VAT (CGI annexe II, art. 242 nonies A). Prices typed VAT-included
(what citizens see) go through :func:`excl_vat_cents`, and :func:`incl_vat_cents` shows them back.

Amounts are rounded to the cent at exactly three points:

1. a line total excl. VAT: hourly price x units (if per unit) x exact minutes / 60 + flat fee,
   rounded ``ROUND_HALF_UP`` once, then raised to the line's minimum charge;
2. the VAT of each rate: rate x the sum of the line totals excl. VAT at that rate, rounded
   ``ROUND_HALF_UP`` once (an invoice shows "le total hors taxe par taux d'imposition et la TVA
   correspondante"), so the totals are exactly the sums of the breakdown;
3. each line's share of its rate's VAT: its exact VAT rounded down or up, the leftover cents going
   to the largest fractions, so a line is less than a cent from its exact VAT and the lines of a
   rate add up to that rate's VAT exactly.

Durations are real elapsed time (UTC difference), never wall-clock: across the spring DST change
01:00-04:00 Europe/Paris lasts two hours.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from typing import Any

from billing.ledger import canonical_json

MAX_LINE_CENTS = 100_000_000
"""1,000,000.00 EUR: the largest price or line total accepted; anything above is a typo."""

USER_TYPES = (
    "citizen",
    "student",
    "job_seeker",
    "association",
    "school",
    "company",
    "public_body",
)
"""The standard user types; places may add their own codes (e.g. ``member``)."""

BARE_PREMISES_MENTION = "Exonération de TVA, art. 261 D, 2° du CGI (location de locaux nus)"
"""Letting bare premises (BOI-TVA-CHAMP-30-10-50): not a room let with equipment or services."""
FRANCHISE_MENTION = "TVA non applicable, art. 293 B du CGI"
"""Seller under the VAT franchise (franchise en base), e.g. a small association."""
PUBLIC_BODY_MENTION = "Opération hors champ d'application de la TVA (art. 256 B du CGI)"
"""A public body's non-competitive administrative, social, educational or cultural service."""

# Our own context: the thread's default context may have been changed by anyone.
_CONTEXT = Context(prec=40, rounding=ROUND_HALF_UP)
_CENT = Decimal(1)
_HUNDRED = Decimal(100)
_MINUTE = timedelta(minutes=1)
_HOURS_PLACES = Decimal("0.0001")
_RATE_PLACES = Decimal("0.01")
_USER_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _check_cents(name: str, value: object) -> int:
    """An amount in cents within 0..MAX_LINE_CENTS, refusing floats, bools and other types."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer number of cents, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value} cents")
    if value > MAX_LINE_CENTS:
        raise ValueError(
            f"{name} of {value} cents exceeds the cap of {MAX_LINE_CENTS} cents (1,000,000.00 EUR)"
        )
    return value


def _round_cents(value: Decimal) -> int:
    """Round a Decimal amount of cents half-up to an integer number of cents."""
    return int(value.quantize(_CENT, rounding=ROUND_HALF_UP, context=_CONTEXT))


@dataclass(frozen=True, slots=True)
class Rate:
    """The price of a resource for one user type; amounts in cents excl. VAT."""

    hourly_cents: int = 0
    per_unit: bool = False
    # Per booking, whatever the number of units.
    flat_fee_cents: int = 0
    # Applies to the whole line, time and fee together.
    minimum_cents: int = 0
    # Wins over the amounts, which are kept so that a place can end a free period in one click.
    free: bool = False

    def __post_init__(self) -> None:
        _check_cents("hourly_cents", self.hourly_cents)
        _check_cents("flat_fee_cents", self.flat_fee_cents)
        _check_cents("minimum_cents", self.minimum_cents)
        if not isinstance(self.per_unit, bool) or not isinstance(self.free, bool):
            raise TypeError("per_unit and free must be booleans")


class NoRateError(LookupError):
    """A price list has no rate for this user type (the resource is not offered to them)."""


@dataclass(frozen=True, slots=True)
class PriceList:
    """The rates of one resource per user type, with an optional rate for unlisted types."""

    rates: Mapping[str, Rate]
    default: Rate | None = None

    def __post_init__(self) -> None:
        for user_type, rate in self.rates.items():
            check_user_type(user_type)
            if not isinstance(rate, Rate):
                raise TypeError(f"rate of {user_type!r} must be a Rate, got {rate!r}")
        if self.default is not None and not isinstance(self.default, Rate):
            raise TypeError(f"default must be a Rate or None, got {self.default!r}")
        # A frozen copy: a caller mutating its dict must not change a price list in use.
        object.__setattr__(self, "rates", dict(self.rates))

    def rate_for(self, user_type: str) -> Rate:
        """The rate of a user type, else the default; NoRateError when there is neither."""
        check_user_type(user_type)
        rate = self.rates.get(user_type, self.default)
        if rate is None:
            raise NoRateError(f"no rate for user type {user_type!r}")
        return rate


def check_user_type(user_type: str) -> str:
    """A user type code: lowercase letters, digits and underscores, starting with a letter."""
    if not isinstance(user_type, str) or _USER_TYPE_RE.fullmatch(user_type) is None:
        raise ValueError(f"user type must match {_USER_TYPE_RE.pattern}, got {user_type!r}")
    return user_type


class VatKind(StrEnum):
    """How VAT applies to a line."""

    TAXABLE = "taxable"
    EXEMPT = "exempt"
    FRANCHISE = "franchise"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class VatRegime:
    """The VAT regime of a resource: a taxable rate in percent, or a regime with a legal mention."""

    kind: VatKind
    rate: Decimal = Decimal(0)
    mention: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, VatKind):
            raise TypeError(f"kind must be a VatKind, got {self.kind!r}")
        if not isinstance(self.rate, Decimal):
            raise TypeError(f"VAT rate must be a Decimal percent, got {self.rate!r}")
        if self.kind is VatKind.TAXABLE:
            if (
                not self.rate.is_finite()
                or not Decimal(0) < self.rate < _HUNDRED
                or self.rate != self.rate.quantize(_RATE_PLACES, context=_CONTEXT)
            ):
                raise ValueError(
                    f"a taxable VAT rate is a percent above 0 and below 100 with at most two "
                    f"decimals, got {self.rate}"
                )
            if self.mention is not None:
                raise ValueError("a taxable line carries no exemption mention")
        else:
            if self.rate != 0:
                raise ValueError(f"a {self.kind} line has no VAT rate, got {self.rate}")
            if not isinstance(self.mention, str) or not self.mention.strip():
                raise ValueError(f"a {self.kind} line needs its legal mention on the invoice")

    @classmethod
    def taxable(cls, rate: Decimal | str | int = 20) -> VatRegime:
        """Taxable at a rate in percent (20, 10, 5.5, 2.1 in mainland France)."""
        if isinstance(rate, float):
            raise TypeError("give VAT rates as Decimal or str, never float")
        return cls(VatKind.TAXABLE, Decimal(rate))

    @classmethod
    def exempt(cls, mention: str = BARE_PREMISES_MENTION) -> VatRegime:
        """Exempt, with the provision to cite (default: bare premises, art. 261 D, 2°)."""
        return cls(VatKind.EXEMPT, mention=mention)

    @classmethod
    def franchise(cls) -> VatRegime:
        """Seller under the franchise en base (art. 293 B): no VAT on any line."""
        return cls(VatKind.FRANCHISE, mention=FRANCHISE_MENTION)

    @classmethod
    def out_of_scope(cls, mention: str = PUBLIC_BODY_MENTION) -> VatRegime:
        """Outside the scope of VAT (a public body's non-competitive service, art. 256 B)."""
        return cls(VatKind.OUT_OF_SCOPE, mention=mention)


def incl_vat_cents(excl_cents: int, vat: VatRegime) -> int:
    """The VAT-included display of a price stored excl. VAT, rounded half-up."""
    _check_cents("price", excl_cents)
    if vat.kind is not VatKind.TAXABLE:
        return excl_cents
    with localcontext(_CONTEXT):
        return _round_cents(Decimal(excl_cents) * (_HUNDRED + vat.rate) / _HUNDRED)


def excl_vat_cents(incl_cents: int, vat: VatRegime) -> int:
    """The price to store for a VAT-included price: the largest whose display does not exceed it."""
    # Cents excl. VAT cannot reach every VAT-included amount (at 20 % no excl. price shows as
    # 6.03 EUR: 5.02 shows 6.02 and 5.03 shows 6.04); the result then shows one cent less than
    # typed, never more, and the caller shows the manager incl_vat_cents() of it.
    _check_cents("price", incl_cents)
    if vat.kind is not VatKind.TAXABLE:
        return incl_cents
    with localcontext(_CONTEXT):
        guess = int(
            (Decimal(incl_cents) * _HUNDRED / (_HUNDRED + vat.rate)).to_integral_value(ROUND_FLOOR)
        )
    # The floor of the exact quotient always fits; the next cent may still round down to it.
    if guess < MAX_LINE_CENTS and incl_vat_cents(guess + 1, vat) <= incl_cents:
        return guess + 1
    return guess


@dataclass(frozen=True, slots=True)
class QuoteRequestLine:
    """One resource to price: label, rate, VAT regime, aware start and end, units booked."""

    label: str
    rate: Rate
    vat: VatRegime
    start: datetime
    end: datetime
    quantity: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError("a quote line needs a label")
        if not isinstance(self.rate, Rate) or not isinstance(self.vat, VatRegime):
            raise TypeError("a quote line needs a Rate and a VatRegime")
        for name, instant in (("start", self.start), ("end", self.end)):
            if not isinstance(instant, datetime) or instant.utcoffset() is None:
                raise ValueError(f"{name} of {self.label!r} must be a timezone-aware datetime")
        # In UTC: Python compares two datetimes of one zone by wall clock, which is wrong in
        # the repeated autumn hour (02:33 CEST is before 02:00 CET).
        if self.end.astimezone(UTC) <= self.start.astimezone(UTC):
            raise ValueError(f"{self.label!r} ends before it starts: {self.start} - {self.end}")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise TypeError(f"quantity must be an integer, got {self.quantity!r}")
        if self.quantity < 1:
            raise ValueError(f"quantity must be at least 1, got {self.quantity}")
        if self.duration % _MINUTE:
            raise ValueError(f"{self.label!r} must last whole minutes, got {self.duration}")

    @property
    def duration(self) -> timedelta:
        """Real elapsed time: computed in UTC, so DST changes count as they are lived."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    @property
    def minutes(self) -> int:
        """The elapsed whole minutes."""
        return self.duration // _MINUTE


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """A priced line: what an invoice line shows, amounts in cents."""

    label: str
    quantity: int
    minutes: int
    # Display only: exact for multiples of 3 minutes (Decimal("1.5")), else to 4 decimals; the
    # amount is computed from the exact minutes.
    hours: Decimal
    # The hourly price excl. VAT, per unit when per_unit; fee and raised minimum shown apart.
    unit_price_cents: int
    per_unit: bool
    flat_fee_cents: int
    minimum_applied: bool
    free: bool
    total_excl_vat_cents: int
    vat_kind: VatKind
    vat_rate: Decimal
    vat_cents: int
    total_incl_vat_cents: int
    mention: str | None


@dataclass(frozen=True, slots=True)
class VatBreakdownLine:
    """The base excl. VAT and the VAT of one regime and rate across the quote."""

    kind: VatKind
    rate: Decimal
    base_cents: int
    vat_cents: int


@dataclass(frozen=True, slots=True)
class AdjustmentLine:
    """A discount of one VAT regime and rate (a member discount, a coupon): amounts negative.

    The discount reduces the VAT base of its rate; its VAT is what the rate's VAT loses.
    """

    kind: str
    label: str
    vat_kind: VatKind
    vat_rate: Decimal
    total_excl_vat_cents: int
    vat_cents: int
    total_incl_vat_cents: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """Time of a quote line paid by something other than money: included hours, a pack."""

    line: int
    source: str
    source_id: int | None
    # Minutes of the booking's time covered; ``units`` x that is what the source gives.
    minutes: int
    units: int

    @property
    def unit_minutes(self) -> int:
        """What the source gives: covered time x units booked."""
        return self.minutes * self.units


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced request: lines, VAT per regime and rate, totals and legal mentions.

    ``lines`` are priced on the minutes left after ``coverage``; ``adjustments`` (discounts)
    follow them, and the breakdown and totals are net of both. ``wallet_cents`` of the total
    is paid from the wallet, the rest (:attr:`due_cents`) by the payment method.
    """

    lines: tuple[QuoteLine, ...]
    breakdown: tuple[VatBreakdownLine, ...]
    total_excl_vat_cents: int
    total_vat_cents: int
    total_incl_vat_cents: int
    mentions: tuple[str, ...]
    currency: str = "EUR"
    adjustments: tuple[AdjustmentLine, ...] = ()
    coverage: tuple[Coverage, ...] = ()
    wallet_cents: int = 0

    @property
    def is_free(self) -> bool:
        """Whether nothing is to be paid (free rates, or zero prices)."""
        return self.total_incl_vat_cents == 0

    @property
    def due_cents(self) -> int:
        """What the payment method pays: the total less what the wallet covers."""
        return self.total_incl_vat_cents - self.wallet_cents

    def canonical(self) -> dict[str, Any]:
        """What the fingerprint covers: labels, quantities, durations, prices, VAT and totals,
        and the coverage, discounts and wallet share when there are any."""
        # Not the start and end: moving a booking at the same price is not a price change.
        # A quote without coverage, discount or wallet keeps the form (and fingerprint) it had.
        extra: dict[str, Any] = {}
        if self.coverage:
            extra["coverage"] = [
                {
                    "line": c.line,
                    "source": c.source,
                    "source_id": c.source_id,
                    "minutes": c.minutes,
                    "units": c.units,
                }
                for c in self.coverage
            ]
        if self.adjustments:
            extra["adjustments"] = [
                {
                    "kind": a.kind,
                    "label": a.label,
                    "vat_kind": str(a.vat_kind),
                    "vat_rate": f"{a.vat_rate:.2f}",
                    "total_excl_vat_cents": a.total_excl_vat_cents,
                    "vat_cents": a.vat_cents,
                    "total_incl_vat_cents": a.total_incl_vat_cents,
                }
                for a in self.adjustments
            ]
        if self.wallet_cents:
            extra["wallet_cents"] = self.wallet_cents
        return {
            **extra,
            "currency": self.currency,
            "lines": [
                {
                    "label": line.label,
                    "quantity": line.quantity,
                    "minutes": line.minutes,
                    "unit_price_cents": line.unit_price_cents,
                    "per_unit": line.per_unit,
                    "flat_fee_cents": line.flat_fee_cents,
                    "minimum_applied": line.minimum_applied,
                    "free": line.free,
                    "total_excl_vat_cents": line.total_excl_vat_cents,
                    "vat_kind": str(line.vat_kind),
                    "vat_rate": f"{line.vat_rate:.2f}",
                    "vat_cents": line.vat_cents,
                    "total_incl_vat_cents": line.total_incl_vat_cents,
                    "mention": line.mention,
                }
                for line in self.lines
            ],
            "breakdown": [
                {
                    "kind": str(entry.kind),
                    "rate": f"{entry.rate:.2f}",
                    "base_cents": entry.base_cents,
                    "vat_cents": entry.vat_cents,
                }
                for entry in self.breakdown
            ],
            "total_excl_vat_cents": self.total_excl_vat_cents,
            "total_vat_cents": self.total_vat_cents,
            "total_incl_vat_cents": self.total_incl_vat_cents,
        }

    def fingerprint(self) -> str:
        """SHA-256 hex of :meth:`canonical`, to refuse a booking whose price moved since quoting."""
        return hashlib.sha256(canonical_json(self.canonical())).hexdigest()


@dataclass(frozen=True, slots=True)
class _Priced:
    """A line priced excl. VAT, before VAT is spread."""

    request: QuoteRequestLine
    minutes: int
    total_excl: int
    minimum_applied: bool


def _price_line(request: QuoteRequestLine, charged: int | None = None) -> _Priced:
    rate = request.rate
    minutes = request.minutes
    if rate.free:
        return _Priced(request, minutes, 0, minimum_applied=False)
    if charged is not None and charged < minutes:
        if charged <= 0:
            # Wholly covered (included hours, a pack): no fee, no minimum, nothing to pay.
            return _Priced(request, minutes, 0, minimum_applied=False)
        minutes = charged
    units = request.quantity if rate.per_unit else 1
    with localcontext(_CONTEXT):
        exact = Decimal(rate.hourly_cents * units * minutes) / 60 + rate.flat_fee_cents
    rounded = _round_cents(exact)
    total = max(rounded, rate.minimum_cents)
    if total > MAX_LINE_CENTS:
        raise ValueError(
            f"{request.label!r} would cost {total} cents excl. VAT, above the cap of "
            f"{MAX_LINE_CENTS} cents per line"
        )
    return _Priced(request, request.minutes, total, minimum_applied=total > rounded)


def _spread(total: int, bases: Sequence[int], rate: Decimal) -> list[int]:
    """Share ``total`` cents of VAT over lines, each its exact VAT rounded down or up."""
    # The largest fractions take the leftover cents (earliest on ties): every share is less than
    # a cent from its exact VAT and the shares add up to the rate's VAT.
    # A rate has at most two decimals: rate x 100 is an integer and the arithmetic stays exact.
    rate_hundredths = int(_CONTEXT.multiply(rate, _HUNDRED))
    floors = [base * rate_hundredths // 10_000 for base in bases]
    remainders = [base * rate_hundredths % 10_000 for base in bases]
    leftover = total - sum(floors)
    # |total - exact sum| <= 0.5 cent, hence 0 <= leftover <= number of lines.
    assert 0 <= leftover <= len(bases), (total, bases, rate)
    by_remainder = sorted(range(len(bases)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:leftover]:
        floors[i] += 1
    return floors


def _breakdown_order(key: tuple[VatKind, Decimal]) -> tuple[int, Decimal]:
    """Taxable rates first, highest rate first, then exempt, franchise, out of scope."""
    kind, rate = key
    return (list(VatKind).index(kind), -rate)


def vat_of_base(base_cents: int, kind: VatKind, rate: Decimal) -> int:
    """The VAT of a base at one regime and rate, rounded half-up once."""
    if kind is not VatKind.TAXABLE:
        return 0
    with localcontext(_CONTEXT):
        return _round_cents(Decimal(base_cents) * rate / _HUNDRED)


def quote(lines: Sequence[QuoteRequestLine], charged_minutes: Sequence[int] | None = None) -> Quote:
    """Price request lines: line totals, VAT per regime and rate, totals and legal mentions.

    ``charged_minutes`` (one per line) prices a line on fewer minutes than it lasts, the rest
    being covered otherwise (:mod:`billing.adjustments`); its fee and minimum apply to what is
    charged, and a line charged nothing costs nothing.
    """
    if not lines:
        raise ValueError("a quote needs at least one line")
    if charged_minutes is not None and len(charged_minutes) != len(lines):
        raise ValueError("charged_minutes needs one value per line")
    kinds = {line.vat.kind for line in lines}
    if VatKind.FRANCHISE in kinds and VatKind.TAXABLE in kinds:
        # The franchise is the seller's status, not a resource's: it cannot also charge VAT.
        raise ValueError("a seller under the VAT franchise (art. 293 B) charges no VAT on any line")

    priced = [
        _price_line(line, None if charged_minutes is None else charged_minutes[i])
        for i, line in enumerate(lines)
    ]
    groups: dict[tuple[VatKind, Decimal], list[int]] = {}
    for index, line in enumerate(priced):
        groups.setdefault((line.request.vat.kind, line.request.vat.rate), []).append(index)

    line_vat = [0] * len(priced)
    breakdown: list[VatBreakdownLine] = []
    for kind, vat_rate in sorted(groups, key=_breakdown_order):
        members = groups[(kind, vat_rate)]
        base = sum(priced[i].total_excl for i in members)
        vat = vat_of_base(base, kind, vat_rate)
        if kind is VatKind.TAXABLE:
            shares = _spread(vat, [priced[i].total_excl for i in members], vat_rate)
            for i, share in zip(members, shares, strict=True):
                line_vat[i] = share
        breakdown.append(VatBreakdownLine(kind, vat_rate, base, vat))

    quote_lines: list[QuoteLine] = []
    mentions: list[str] = []
    for line, vat_cents in zip(priced, line_vat, strict=True):
        request = line.request
        rate = request.rate
        mention = request.vat.mention
        if mention is not None and mention not in mentions:
            mentions.append(mention)
        with localcontext(_CONTEXT):
            hours = Decimal(line.minutes) / 60
        if line.minutes % 3:
            hours = hours.quantize(_HOURS_PLACES, rounding=ROUND_HALF_UP, context=_CONTEXT)
        quote_lines.append(
            QuoteLine(
                label=request.label,
                quantity=request.quantity,
                minutes=line.minutes,
                hours=hours,
                unit_price_cents=0 if rate.free else rate.hourly_cents,
                per_unit=rate.per_unit,
                flat_fee_cents=0 if rate.free else rate.flat_fee_cents,
                minimum_applied=line.minimum_applied,
                free=rate.free,
                total_excl_vat_cents=line.total_excl,
                vat_kind=request.vat.kind,
                vat_rate=request.vat.rate,
                vat_cents=vat_cents,
                total_incl_vat_cents=line.total_excl + vat_cents,
                mention=mention,
            )
        )

    total_excl = sum(entry.base_cents for entry in breakdown)
    total_vat = sum(entry.vat_cents for entry in breakdown)
    return Quote(
        lines=tuple(quote_lines),
        breakdown=tuple(breakdown),
        total_excl_vat_cents=total_excl,
        total_vat_cents=total_vat,
        total_incl_vat_cents=total_excl + total_vat,
        mentions=tuple(mentions),
    )


def credit_breakdown(
    breakdown: Sequence[VatBreakdownLine], amount_incl_cents: int
) -> tuple[VatBreakdownLine, ...]:
    """The VAT breakdown of a credit note of ``amount_incl_cents`` against an invoice's breakdown.

    The amount is shared over the invoice's regimes and rates in proportion to their totals
    including VAT (leftover cents to the largest fractions, earliest on ties), then each share is
    split into base and VAT at its rate, half-up. Crediting the whole invoice gives back its
    breakdown exactly; the shares always add up to ``amount_incl_cents``.
    """
    _check_cents("credit", amount_incl_cents)
    totals = [entry.base_cents + entry.vat_cents for entry in breakdown]
    whole = sum(totals)
    if amount_incl_cents > whole:
        raise ValueError(f"a credit of {amount_incl_cents} cents exceeds the invoice's {whole}")
    if amount_incl_cents == whole:
        return tuple(breakdown)
    floors = [amount_incl_cents * total // whole for total in totals]
    remainders = [amount_incl_cents * total % whole for total in totals]
    for i in sorted(range(len(totals)), key=lambda i: (-remainders[i], i))[
        : amount_incl_cents - sum(floors)
    ]:
        floors[i] += 1
    result = []
    for entry, share in zip(breakdown, floors, strict=True):
        if entry.kind is VatKind.TAXABLE:
            with localcontext(_CONTEXT):
                base = _round_cents(Decimal(share) * _HUNDRED / (_HUNDRED + entry.rate))
            result.append(VatBreakdownLine(entry.kind, entry.rate, base, share - base))
        else:
            result.append(VatBreakdownLine(entry.kind, entry.rate, share, 0))
    return tuple(result)
