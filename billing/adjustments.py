"""The quote pipeline (pure, no I/O): what covers a booking before money, and how money is paid.

One computation, in the order a person reads it on the quote and the invoice:

1. **included hours** of a membership (:class:`Benefits`), per resource;
2. **pack hours** (prepaid), per pack, in the order given (the caller puts the pack that
   expires first first);
3. the **member discount** (a percentage of every line, :class:`Benefits`);
4. a **coupon** (a percentage or an amount including VAT, maybe restricted to resources);
5. the money due, of which the **wallet** pays what it can.

Covered time is taken off a line's charged minutes before it is priced (its fee and minimum apply
to what is charged; a line wholly covered costs nothing). Discounts are lines of their own per
VAT regime and rate: they reduce the VAT base of that rate, and their VAT is what the rate's VAT
loses (each rate's VAT is computed once on its net base, as the invoice states it). The wallet
is a means of payment, not a discount: it changes neither the lines nor the VAT.

Rounding: a percentage discount is ``ROUND_HALF_UP`` per line; an amount is shared over its
lines by their totals incl. VAT (leftover cents to the largest fractions), each share brought
back excl. VAT half-up, never more than the line. Nothing is ever negative: a discount never
exceeds what it discounts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Context, Decimal

from billing.pricing import (
    AdjustmentLine,
    Coverage,
    Quote,
    QuoteRequestLine,
    VatBreakdownLine,
    VatKind,
    quote,
    vat_of_base,
)

_CONTEXT = Context(prec=40, rounding=ROUND_HALF_UP)
_HUNDRED = Decimal(100)

INCLUDED = "included"
PACK = "pack"
MEMBER_DISCOUNT = "member_discount"
COUPON = "coupon"


def percent_text(value: Decimal) -> str:
    """A percentage as French labels write it: ``25``, ``12,5``."""
    return f"{value.normalize():f}".replace(".", ",")


def _percent(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, got {value!r}")
    if not Decimal(0) <= value <= _HUNDRED:
        raise ValueError(f"{name} must be within 0..100, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Benefits:
    """What a membership gives at a place: minutes included per resource, a discount.

    Empty by default (no membership): plans fill it (``included_minutes`` is what is left of
    the period's hours, per resource id).
    """

    included_minutes: Mapping[int, int] = field(default_factory=dict)
    discount_percent: Decimal = Decimal(0)
    label: str = "Remise adhérent"

    def __post_init__(self) -> None:
        _percent("discount_percent", self.discount_percent)
        for resource_id, minutes in self.included_minutes.items():
            if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
                raise ValueError(f"included minutes of {resource_id} must be an int >= 0")
        object.__setattr__(self, "included_minutes", dict(self.included_minutes))


@dataclass(frozen=True, slots=True)
class PackHours:
    """Prepaid minutes of one pack, for the resources it covers."""

    pack_id: int
    resource_ids: frozenset[int]
    minutes: int

    def __post_init__(self) -> None:
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int):
            raise TypeError(f"minutes must be an integer, got {self.minutes!r}")
        if self.minutes < 0:
            raise ValueError(f"minutes must not be negative, got {self.minutes}")


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """A coupon as the quote applies it: a percentage or an amount incl. VAT, maybe for some
    resources only (``None``: every resource)."""

    coupon_id: int
    code: str
    percent: Decimal | None = None
    amount_cents: int | None = None
    resource_ids: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.amount_cents is None):
            raise ValueError("a coupon is a percentage or an amount, not both")
        if self.percent is not None:
            _percent("percent", self.percent)
        if self.amount_cents is not None and (
            isinstance(self.amount_cents, bool)
            or not isinstance(self.amount_cents, int)
            or self.amount_cents < 0
        ):
            raise ValueError(f"amount_cents must be an int >= 0, got {self.amount_cents!r}")

    @property
    def label(self) -> str:
        """The discount line's label."""
        return f"Code promo {self.code}"

    def applies_to(self, resource_id: int) -> bool:
        """Whether the coupon discounts a line of this resource."""
        return self.resource_ids is None or resource_id in self.resource_ids


@dataclass(frozen=True, slots=True)
class Adjustments:
    """Everything that may pay for a booking before money, and the wallet's balance."""

    benefits: Benefits = field(default_factory=Benefits)
    packs: tuple[PackHours, ...] = ()
    coupon: CouponTerms | None = None
    wallet_cents: int = 0

    def __post_init__(self) -> None:
        if (
            isinstance(self.wallet_cents, bool)
            or not isinstance(self.wallet_cents, int)
            or self.wallet_cents < 0
        ):
            raise ValueError(f"wallet_cents must be an int >= 0, got {self.wallet_cents!r}")

    @property
    def none(self) -> bool:
        """Nothing to apply: the plain quote."""
        return (
            not self.benefits.included_minutes
            and not self.benefits.discount_percent
            and not self.packs
            and self.coupon is None
            and not self.wallet_cents
        )


NOTHING = Adjustments()


def _coverage(
    lines: Sequence[QuoteRequestLine], resource_ids: Sequence[int], adjustments: Adjustments
) -> tuple[list[int], list[Coverage]]:
    """The minutes left to charge per line, and what covered the rest (included, then packs)."""
    included = dict(adjustments.benefits.included_minutes)
    packs = {p.pack_id: p.minutes for p in adjustments.packs}
    charged: list[int] = []
    covered: list[Coverage] = []
    for index, (line, resource_id) in enumerate(zip(lines, resource_ids, strict=True)):
        left = line.minutes
        units = line.quantity
        rate = line.rate
        if rate.free or not (rate.hourly_cents or rate.flat_fee_cents or rate.minimum_cents):
            charged.append(left)  # nothing to pay: no hour is spent on it
            continue
        sources: list[tuple[str, int | None, int]] = [
            (INCLUDED, None, included.get(resource_id, 0))
        ]
        sources += [
            (PACK, p.pack_id, packs[p.pack_id])
            for p in adjustments.packs
            if resource_id in p.resource_ids
        ]
        for source, source_id, available in sources:
            minutes = min(left, available // units)
            if minutes <= 0:
                continue
            left -= minutes
            if source == INCLUDED:
                included[resource_id] -= minutes * units
            else:
                assert source_id is not None
                packs[source_id] -= minutes * units
            covered.append(Coverage(index, source, source_id, minutes, units))
            if not left:
                break
        charged.append(left)
    return charged, covered


def _share(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` shared in proportion to ``weights`` (leftover cents to the largest fractions,
    earliest on ties); all zero weights share nothing."""
    whole = sum(weights)
    if not whole:
        return [0] * len(weights)
    floors = [amount * w // whole for w in weights]
    remainders = [amount * w % whole for w in weights]
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[: amount - sum(floors)]:
        floors[i] += 1
    return floors


def _percent_off(base: int, percent: Decimal) -> int:
    exact = _CONTEXT.divide(_CONTEXT.multiply(Decimal(base), percent), _HUNDRED)
    return min(base, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_CONTEXT)))


def _incl(base: int, kind: VatKind, rate: Decimal) -> int:
    return base + vat_of_base(base, kind, rate)


def _excl(incl: int, kind: VatKind, rate: Decimal) -> int:
    if kind is not VatKind.TAXABLE:
        return incl
    exact = _CONTEXT.divide(_CONTEXT.multiply(Decimal(incl), _HUNDRED), _HUNDRED + rate)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_CONTEXT))


def adjusted_quote(
    lines: Sequence[QuoteRequestLine],
    resource_ids: Sequence[int],
    adjustments: Adjustments = NOTHING,
) -> Quote:
    """The quote of ``lines`` (one resource id each) after coverage, discounts and the wallet.

    With nothing to apply it is exactly :func:`billing.pricing.quote`.
    """
    if len(resource_ids) != len(lines):
        raise ValueError("one resource id per line")
    if adjustments.none:
        return quote(lines)
    charged, covered = _coverage(lines, resource_ids, adjustments)
    base = quote(lines, charged)
    net = [line.total_excl_vat_cents for line in base.lines]
    groups = [(line.vat_kind, line.vat_rate) for line in base.lines]

    steps: list[tuple[str, str, list[int]]] = []
    percent = adjustments.benefits.discount_percent
    if percent:
        off = [_percent_off(n, percent) for n in net]
        steps.append(
            (MEMBER_DISCOUNT, f"{adjustments.benefits.label} ({percent_text(percent)} %)", off)
        )
        net = [n - o for n, o in zip(net, off, strict=True)]
    coupon = adjustments.coupon
    if coupon is not None:
        eligible = [coupon.applies_to(r) for r in resource_ids]
        if coupon.percent is not None:
            off = [
                _percent_off(n, coupon.percent) if e else 0
                for n, e in zip(net, eligible, strict=True)
            ]
            label = f"{coupon.label} ({percent_text(coupon.percent)} %)"
        else:
            assert coupon.amount_cents is not None
            incl = [
                _incl(n, kind, rate) if e else 0
                for n, e, (kind, rate) in zip(net, eligible, groups, strict=True)
            ]
            shares = _share(min(coupon.amount_cents, sum(incl)), incl)
            off = [
                min(n, _excl(s, kind, rate))
                for n, s, (kind, rate) in zip(net, shares, groups, strict=True)
            ]
            label = coupon.label
        steps.append((COUPON, label, off))
        net = [n - o for n, o in zip(net, off, strict=True)]

    order = [(b.kind, b.rate) for b in base.breakdown]
    gross = {key: 0 for key in order}
    for key, line in zip(groups, base.lines, strict=True):
        gross[key] += line.total_excl_vat_cents
    adjustment_lines: list[AdjustmentLine] = []
    current = dict(gross)
    for kind_name, label, off in steps:
        for key in order:
            taken = sum(o for o, g in zip(off, groups, strict=True) if g == key)
            if not taken:
                continue
            before = current[key]
            after = before - taken
            vat = vat_of_base(after, *key) - vat_of_base(before, *key)
            adjustment_lines.append(
                AdjustmentLine(kind_name, label, key[0], key[1], -taken, vat, vat - taken)
            )
            current[key] = after
    breakdown = tuple(
        VatBreakdownLine(
            kind, rate, current[(kind, rate)], vat_of_base(current[(kind, rate)], kind, rate)
        )
        for kind, rate in order
    )
    total_excl = sum(b.base_cents for b in breakdown)
    total_vat = sum(b.vat_cents for b in breakdown)
    total = total_excl + total_vat
    return replace(
        base,
        breakdown=breakdown,
        total_excl_vat_cents=total_excl,
        total_vat_cents=total_vat,
        total_incl_vat_cents=total,
        adjustments=tuple(adjustment_lines),
        coverage=tuple(covered),
        wallet_cents=min(adjustments.wallet_cents, total),
    )


@dataclass(frozen=True, slots=True)
class Paid:
    """What a booking was paid with, in each medium."""

    money_cents: int = 0
    wallet_cents: int = 0
    # Per source (``included``/``pack``, its id): unit-minutes given.
    minutes: Mapping[tuple[str, int | None], int] = field(default_factory=dict)


def give_back(paid: Paid, percent: int) -> Paid:
    """What a cancellation at ``percent`` gives back in each medium: money and wallet cents
    half-up, minutes rounded down (an hour is not given back for a minute's rounding); never
    more than was paid in any medium."""
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ValueError(f"percent must be an int within 0..100, got {percent!r}")
    share = Decimal(percent)
    return Paid(
        money_cents=_percent_off(paid.money_cents, share),
        wallet_cents=_percent_off(paid.wallet_cents, share),
        minutes={key: minutes * percent // 100 for key, minutes in paid.minutes.items()},
    )


def paid_with(priced: Quote) -> Paid:
    """The media a quote is paid with, as checkout charges it."""
    minutes: dict[tuple[str, int | None], int] = {}
    for c in priced.coverage:
        minutes[(c.source, c.source_id)] = minutes.get((c.source, c.source_id), 0) + c.unit_minutes
    return Paid(money_cents=priced.due_cents, wallet_cents=priced.wallet_cents, minutes=minutes)
