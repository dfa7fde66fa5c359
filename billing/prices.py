"""Price lists, billing settings and quotes: the one computation that both shows and charges.

A resource's own price list wins over the list of its kind at the place; within a list the rate
of the user type wins over its ``*`` rate. A list without either refuses the booking
(``no_rate``): the resource is not offered to that user type. A resource without any list is
free. The quote is :func:`billing.pricing.quote` over these rates; checkout recomputes it and
compares fingerprints, so what the user saw is what is charged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from accounts.verification import booking_rates
from billing.adjustments import (
    Adjustments,
    Benefits,
    CouponTerms,
    PackHours,
    adjusted_quote,
)
from billing.coupon_repository import CouponRepository
from billing.coupons import Coupons
from billing.invoice_periods import grouped
from billing.models import PlaceBilling, PriceList, PriceRate
from billing.pack_holdings import PackLedger
from billing.pack_repository import PackRepository
from billing.pricing import (
    BARE_PREMISES_MENTION,
    FRANCHISE_MENTION,
    PUBLIC_BODY_MENTION,
    Quote,
    QuoteRequestLine,
    Rate,
    VatKind,
    VatRegime,
    excl_vat_cents,
    incl_vat_cents,
    quote,
)
from billing.refunds import RefundTier, validate_tiers
from billing.repository import BillingRepository
from billing.schemas import (
    AdjustmentRead,
    BillingSettingsRead,
    BillingSettingsWrite,
    CoverageRead,
    PriceListRead,
    PriceListWrite,
    QuoteLineRead,
    QuoteRead,
    RateRead,
    RefundTierIO,
    VatBreakdownRead,
    VatRead,
    VatWrite,
)
from billing.wallet_repository import WalletRepository
from billing.wallets import Wallets
from booking.schemas import ItemRequest
from kernel.auth.actor import Actor
from kernel.auth.rates import EMAIL_NOT_VERIFIED, Rates
from kernel.errors import ConflictError, EmailNotVerifiedError, InvalidInputError
from resources.models import Place, Resource
from resources.service import CatalogueService

ANY_TYPE = "*"
DEFAULT_METHODS: dict[str, list[str]] = {ANY_TYPE: ["card"]}
DEFAULT_TIERS: list[dict[str, Any]] = [
    {"hours": 48, "percent": 100, "label": ""},
    {"hours": 24, "percent": 50, "label": ""},
]
DEFAULT_MENTIONS = {
    VatKind.EXEMPT: BARE_PREMISES_MENTION,
    VatKind.FRANCHISE: FRANCHISE_MENTION,
    VatKind.OUT_OF_SCOPE: PUBLIC_BODY_MENTION,
}
FREE = Rate(free=True)
COVERAGE_LABELS = {"included": "Heures incluses (adhésion)", "pack": "Heures prépayées"}
DEFAULT_VAT = VatRegime.taxable(20)


def regime_of(written: VatWrite) -> VatRegime:
    """The VAT regime a request gives (taxable at 20 % by default); ``422 invalid_vat``."""
    try:
        if written.kind == "taxable":
            return VatRegime.taxable(written.rate if written.rate is not None else 20)
        if written.rate is not None:
            raise ValueError(f"a {written.kind} regime has no VAT rate")
        kind = VatKind(written.kind)
        return VatRegime(kind, mention=written.mention or DEFAULT_MENTIONS[kind])
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="vat", code="invalid_vat") from exc


async def check_user_types(repository: BillingRepository, codes: Sequence[str]) -> None:
    """``422 unknown_user_type`` naming the first code that is not a user type."""
    known = await repository.user_type_codes()
    for index, code in enumerate(codes):
        if code not in known:
            raise InvalidInputError(
                f"Unknown user type {code!r}.",
                field=f"user_types[{index}]",
                code="unknown_user_type",
            )


def vat_of(row: PriceList) -> VatRegime:
    """The VAT regime stored on a price list."""
    kind = VatKind(row.vat_kind)
    if kind is VatKind.TAXABLE:
        return VatRegime(kind, Decimal(row.vat_rate_bp).scaleb(-2))
    return VatRegime(kind, mention=row.vat_mention or DEFAULT_MENTIONS[kind])


def rate_of(row: PriceRate) -> Rate:
    """The pure rate of a stored row."""
    return Rate(
        hourly_cents=row.hourly_cents,
        per_unit=row.per_unit,
        flat_fee_cents=row.flat_fee_cents,
        minimum_cents=row.minimum_cents,
        free=row.free,
    )


def _incl(cents: int, kind: VatKind, rate: Decimal) -> int:
    """A quoted line's price excl. VAT as a person sees it: VAT included where it is charged."""
    return incl_vat_cents(cents, VatRegime(kind, rate)) if kind is VatKind.TAXABLE else cents


def _rate_text(rate: Decimal) -> str:
    return f"{rate:.2f}"


def adjustment_reads(quote: Quote) -> list[AdjustmentRead]:
    """A quote's discount lines (coupon, member discount) as the API shows them."""
    return [
        AdjustmentRead(
            kind="coupon" if a.kind == "coupon" else "member_discount",
            label=a.label,
            vat_kind=a.vat_kind.value,
            vat_rate=_rate_text(a.vat_rate),
            total_excl_vat_cents=a.total_excl_vat_cents,
            vat_cents=a.vat_cents,
            total_incl_vat_cents=a.total_incl_vat_cents,
        )
        for a in quote.adjustments
    ]


def breakdown_reads(quote: Quote) -> list[VatBreakdownRead]:
    """A quote's VAT per kind and rate as the API shows it."""
    return [
        VatBreakdownRead(
            kind=b.kind.value,
            rate=_rate_text(b.rate),
            base_cents=b.base_cents,
            vat_cents=b.vat_cents,
        )
        for b in quote.breakdown
    ]


def _hours_text(minutes: int) -> str:
    """Minutes as hours, as the quote's lines show them ("1", "1.5")."""
    return format((Decimal(minutes) / 60).quantize(Decimal("0.01")).normalize(), "f")


def default_settings(place_id: int) -> PlaceBilling:
    """The settings of a place that never saved any."""
    return PlaceBilling(
        place_id=place_id,
        invoice_prefix=f"F{place_id}",
        payment_methods=DEFAULT_METHODS,
        refund_tiers=DEFAULT_TIERS,
    )


def tiers_of(settings: PlaceBilling) -> list[RefundTier]:
    """The cancellation policy of a place as pure refund tiers."""
    return [
        RefundTier.hours(int(t["hours"]), int(t["percent"]), str(t.get("label", "")))
        for t in settings.refund_tiers
    ]


def methods_for(settings: PlaceBilling, user_type: str) -> list[str]:
    """The payment methods a user type may use at a place."""
    methods = settings.payment_methods
    chosen = methods.get(user_type, methods.get(ANY_TYPE, []))
    return [str(m) for m in chosen]


def refuse_unverified_invoice(
    method: str, settings: PlaceBilling, user_type: str, refusal: str | None
) -> None:
    """409 ``email_not_verified`` when paying on invoice, which the place offers to the user
    type, waits only for the booker to prove their address (``Rates.invoice_refusal``)."""
    if (
        method == "invoice"
        and refusal == EMAIL_NOT_VERIFIED
        and "invoice" in methods_for(settings, user_type)
    ):
        raise EmailNotVerifiedError(
            "Confirm your e-mail address (the link we mailed you) before paying on invoice."
        )


@dataclass(frozen=True, slots=True)
class Priced:
    """A quote and what it was computed from."""

    place: Place
    user_type: str
    resources: list[Resource]
    quote: Quote
    lines: list[QuoteRequestLine]
    # Paying on invoice is for verified people, and verified organisations only.
    may_invoice: bool = False
    # Why not, when not (kernel.auth.rates.Rates.invoice_refusal).
    invoice_refusal: str | None = None
    # The coupon the quote applies (kept with the payment, so a move keeps the discount).
    coupon: CouponTerms | None = None
    # The packs held the quote may take minutes from (checkout re-quotes with them).
    packs: tuple[PackHours, ...] = ()


def with_adjustments(priced: Priced, adjustments: Adjustments) -> Priced:
    """The same request quoted through the pipeline (coverage, discounts, wallet)."""
    resource_ids = [r.id or 0 for r in priced.resources]
    return replace(
        priced,
        quote=adjusted_quote(priced.lines, resource_ids, adjustments),
        coupon=adjustments.coupon,
        packs=adjustments.packs,
    )


def _line_ids(priced: Priced) -> list[int]:
    """The resource of each line (0: a line of no resource, a session's ticket)."""
    return [r.id or 0 for r in priced.resources] or [0] * len(priced.quote.lines)


class PriceService:
    """Price lists, billing settings and quotes of places."""

    def __init__(
        self, repository: BillingRepository, catalogue: CatalogueService, card_available: bool
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.card_available = card_available
        self.coupons = Coupons(CouponRepository(repository.session), repository, catalogue)
        self.wallets = Wallets(WalletRepository(repository.session), catalogue)
        self.packs = PackLedger(PackRepository(repository.session))

    # settings ------------------------------------------------------------------
    async def settings_of(self, place_id: int) -> PlaceBilling:
        """The billing settings of a place (defaults if never saved)."""
        return await self.repo.place_billing(place_id) or default_settings(place_id)

    def _settings_read(self, row: PlaceBilling) -> BillingSettingsRead:
        return BillingSettingsRead(
            place_id=row.place_id,
            invoice_prefix=row.invoice_prefix,
            seller_vat_number=row.seller_vat_number,
            seller_legal_mention=row.seller_legal_mention,
            payment_methods=row.payment_methods,
            refund_tiers=[RefundTierIO.model_validate(t) for t in row.refund_tiers],
            hold_minutes=row.hold_minutes,
            payment_terms_days=row.payment_terms_days,
            invoice_period=row.invoice_period,
            invoice_issue=row.invoice_issue,
            card_payments_available=self.card_available,
        )

    async def get_settings(self, actor: Actor, place_id: int) -> BillingSettingsRead:
        """The billing settings of a place its managers see."""
        await self.catalogue.managed_place(actor, place_id)
        return self._settings_read(await self.settings_of(place_id))

    async def set_settings(
        self, actor: Actor, place_id: int, data: BillingSettingsWrite, now: datetime
    ) -> BillingSettingsRead:
        """Replace the billing settings of a place."""
        await self.catalogue.managed_place(actor, place_id)
        codes = await self.repo.user_type_codes()
        for user_type in data.payment_methods:
            if user_type != ANY_TYPE and user_type not in codes:
                raise InvalidInputError(
                    f"Unknown user type {user_type!r}.",
                    field=f"payment_methods.{user_type}",
                    code="unknown_user_type",
                )
        try:
            tiers = [RefundTier.hours(t.hours, t.percent, t.label) for t in data.refund_tiers]
            validate_tiers(tiers)
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="refund_tiers", code="invalid_tiers") from exc
        if (
            grouped(data.invoice_period, data.invoice_issue)
            and not data.seller_vat_number
            and any(vat_of(p).rate > 0 for p in await self.repo.price_lists_of(place_id))
        ):
            # A grouped invoice charging VAT is refused without it: say so when choosing.
            raise InvalidInputError(
                "This place charges VAT: its invoices must state its VAT number.",
                field="seller_vat_number",
                code="seller_vat_number_required",
            )
        row = await self.repo.place_billing(place_id) or PlaceBilling(
            place_id=place_id, invoice_prefix=data.invoice_prefix
        )
        row.invoice_prefix = data.invoice_prefix
        row.seller_vat_number = data.seller_vat_number
        row.seller_legal_mention = data.seller_legal_mention
        row.payment_methods = {k: sorted(set(v)) for k, v in data.payment_methods.items()}
        row.refund_tiers = [t.model_dump() for t in data.refund_tiers]
        row.hold_minutes = data.hold_minutes
        row.payment_terms_days = data.payment_terms_days
        row.invoice_period = data.invoice_period
        row.invoice_issue = data.invoice_issue
        row.updated_at = now
        await self.repo.add(row)
        return self._settings_read(row)

    # price lists -------------------------------------------------------------------
    async def _read(self, rows: Sequence[PriceList]) -> list[PriceListRead]:
        rates = await self.repo.rates_of([r.id for r in rows if r.id is not None])
        result = []
        for row in rows:
            assert row.id is not None
            vat = vat_of(row)
            result.append(
                PriceListRead(
                    id=row.id,
                    place_id=row.place_id,
                    resource_id=row.resource_id,
                    resource_kind=row.resource_kind,
                    vat=VatRead(
                        kind=vat.kind.value, rate=_rate_text(vat.rate), mention=vat.mention
                    ),
                    rates=[
                        RateRead(
                            user_type=r.user_type_code,
                            hourly_cents=r.hourly_cents,
                            hourly_incl_vat_cents=incl_vat_cents(r.hourly_cents, vat),
                            per_unit=r.per_unit,
                            flat_fee_cents=r.flat_fee_cents,
                            flat_fee_incl_vat_cents=incl_vat_cents(r.flat_fee_cents, vat),
                            minimum_cents=r.minimum_cents,
                            minimum_incl_vat_cents=incl_vat_cents(r.minimum_cents, vat),
                            free=r.free,
                        )
                        for r in rates[row.id]
                    ],
                    updated_at=row.updated_at,
                )
            )
        return result

    async def price_lists(self, place_id: int) -> list[PriceListRead]:
        """Every price list of an active place (public)."""
        await self.catalogue.active_place(place_id)
        return await self._read(await self.repo.price_lists_of(place_id))

    async def managed_price_lists(self, actor: Actor, place_id: int) -> list[PriceListRead]:
        """Every price list of a place, for its managers (hidden places included)."""
        await self.catalogue.managed_place(actor, place_id)
        return await self._read(await self.repo.price_lists_of(place_id))

    async def set_price_list(
        self, actor: Actor, place_id: int, data: PriceListWrite, now: datetime
    ) -> PriceListRead:
        """Create or replace the price list of a resource or of a kind of resources."""
        await self.catalogue.managed_place(actor, place_id)
        if (data.resource_id is None) == (data.resource_kind is None):
            raise InvalidInputError(
                "Give either resource_id or resource_kind.",
                field="resource_id",
                code="price_list_target",
            )
        if data.resource_id is not None:
            resource = await self.catalogue.require_resource(data.resource_id)
            if resource.place_id != place_id:
                raise InvalidInputError(
                    f"Resource {data.resource_id} is not a resource of this place.",
                    field="resource_id",
                    code="resource_not_found",
                )
            scope = f"resource:{data.resource_id}"
        else:
            scope = f"kind:{data.resource_kind}"
        vat = regime_of(data.vat)
        codes = await self.repo.user_type_codes()
        seen: set[str] = set()
        rates: list[PriceRate] = []
        for index, rate in enumerate(data.rates):
            if rate.user_type in seen:
                raise InvalidInputError(
                    "Each user type may appear once.",
                    field=f"rates[{index}].user_type",
                    code="duplicate_user_type",
                )
            seen.add(rate.user_type)
            if rate.user_type != ANY_TYPE and rate.user_type not in codes:
                raise InvalidInputError(
                    f"Unknown user type {rate.user_type!r}.",
                    field=f"rates[{index}].user_type",
                    code="unknown_user_type",
                )

            def stored(cents: int) -> int:
                return excl_vat_cents(cents, vat) if data.amounts_include_vat else cents

            rates.append(
                PriceRate(
                    price_list_id=0,
                    user_type_code=rate.user_type,
                    hourly_cents=stored(rate.hourly_cents),
                    per_unit=rate.per_unit,
                    flat_fee_cents=stored(rate.flat_fee_cents),
                    minimum_cents=stored(rate.minimum_cents),
                    free=rate.free,
                )
            )
        row = await self.repo.price_list(place_id, scope, lock=True) or PriceList(
            place_id=place_id,
            scope=scope,
            resource_id=data.resource_id,
            resource_kind=data.resource_kind,
        )
        row.vat_kind = vat.kind.value
        row.vat_rate_bp = int(vat.rate.scaleb(2))
        row.vat_mention = vat.mention
        row.updated_at = now
        await self.repo.add(row)
        assert row.id is not None
        for rate_row in rates:
            rate_row.price_list_id = row.id
        await self.repo.replace_rates(row.id, rates)
        return (await self._read([row]))[0]

    # quotes ---------------------------------------------------------------------------
    async def user_type_for(
        self, actor: Actor, organisation_id: int | None, requested: str | None
    ) -> Rates | str:
        """Whose rate applies: an organisation's (members only, once verified), a requested
        one (quotes), or yours (at the place of the booking)."""
        if organisation_id is None and requested is not None:
            if requested not in await self.repo.user_type_codes():
                raise InvalidInputError(
                    f"Unknown user type {requested!r}.", field="user_type", code="unknown_user_type"
                )
            return requested
        return await booking_rates(self.repo.session, actor, organisation_id)

    async def price(
        self,
        items: Sequence[ItemRequest],
        start: datetime,
        end: datetime,
        booker_rates: Rates | str,
    ) -> Priced:
        """Price resources of one place for a user type (the booker's there) over [start, end)."""
        if end <= start:
            raise InvalidInputError(
                "The end must be after the start.", field="ends_at", code="end_before_start"
            )
        seen: set[int] = set()
        for index, item in enumerate(items):
            if item.quantity <= 0:
                raise InvalidInputError(
                    f"The quantity must be at least 1, not {item.quantity}.",
                    field=f"items[{index}].quantity",
                    code="invalid_quantity",
                )
            if item.resource_id in seen:
                raise InvalidInputError(
                    "Each resource may appear once; add up the quantities.",
                    field=f"items[{index}].resource_id",
                    code="duplicate_resource",
                )
            seen.add(item.resource_id)
        ordered = sorted(items, key=lambda i: i.resource_id)
        resources = await self.catalogue.bookable_resources([i.resource_id for i in ordered])
        places = {r.place_id for r in resources}
        if len(places) != 1:
            raise InvalidInputError(
                "All the resources of a booking must belong to the same place.",
                field="items",
                code="mixed_places",
            )
        place = await self.catalogue.active_place(places.pop())
        assert place.id is not None
        if isinstance(booker_rates, str):
            # A quote at a requested rate shows every method; a booker's, only theirs.
            user_type, refusal = booker_rates, None
        else:
            user_type = booker_rates.at(place.id)
            refusal = booker_rates.invoice_refusal(place.id)
        lists = {row.scope: row for row in await self.repo.price_lists_of(place.id)}
        rates = await self.repo.rates_of([r.id for r in lists.values() if r.id is not None])
        lines: list[QuoteRequestLine] = []
        for item, resource in zip(ordered, resources, strict=True):
            chosen = lists.get(f"resource:{resource.id}") or lists.get(f"kind:{resource.kind}")
            if chosen is None:
                rate, vat = FREE, DEFAULT_VAT
            else:
                assert chosen.id is not None
                by_type = {r.user_type_code: r for r in rates[chosen.id]}
                found = by_type.get(user_type) or by_type.get(ANY_TYPE)
                if found is None:
                    raise ConflictError(
                        f"{resource.name} is not offered to the user type {user_type!r}.",
                        code="no_rate",
                        extra={"resource_id": resource.id, "user_type": user_type},
                    )
                rate, vat = rate_of(found), vat_of(chosen)
            try:
                lines.append(QuoteRequestLine(resource.name, rate, vat, start, end, item.quantity))
            except ValueError as exc:
                raise InvalidInputError(str(exc), field="ends_at", code="invalid_range") from exc
        try:
            priced = quote(lines)
        except ValueError as exc:
            raise ConflictError(str(exc), code="unpriceable") from exc
        return Priced(place, user_type, resources, priced, lines, refusal is None, refusal)

    async def adjust(
        self,
        priced: Priced,
        *,
        coupon_code: str | None,
        use_wallet: bool,
        user_id: int | None,
        now: datetime,
        strict: bool,
        benefits: Benefits | None = None,
        use_packs: bool = False,
        organisation_id: int | None = None,
    ) -> Priced:
        """The quote with a membership's ``benefits``, the packs of prepaid hours held
        (``use_packs``), a coupon of its place and the share the person's wallet there pays.

        ``strict`` refuses a code that cannot be used (a quote); otherwise it is left out
        (checkout: the price then changed).
        """
        assert priced.place.id is not None
        terms = None
        if coupon_code is not None and coupon_code.strip():
            terms = await self.coupons.terms(
                coupon_code,
                priced.place,
                priced.user_type,
                user_id,
                [r.id or 0 for r in priced.resources],
                now,
                strict=strict,
            )
        wallet = await self.wallets.balance(priced.place.id, user_id) if use_wallet else 0
        # Packs held by the booker (or the organisation booked for), valid at the start.
        packs = (
            await self.packs.hours_for(
                priced.place.id,
                user_id,
                organisation_id,
                priced.resources,
                priced.lines[0].start,
            )
            if use_packs and priced.lines
            else ()
        )
        adjustments = Adjustments(
            benefits=benefits or Benefits(), packs=packs, coupon=terms, wallet_cents=wallet
        )
        return priced if adjustments.none else with_adjustments(priced, adjustments)

    async def quote_read(self, priced: Priced) -> QuoteRead:
        """A priced request as the API shows it."""
        assert priced.place.id is not None
        settings = await self.settings_of(priced.place.id)
        user_type = await self.repo.user_type(priced.user_type)
        methods = [
            m
            for m in methods_for(settings, priced.user_type)
            if (m != "card" or self.card_available) and (m != "invoice" or priced.may_invoice)
        ]
        return QuoteRead(
            place_id=priced.place.id,
            user_type=priced.user_type,
            currency=priced.quote.currency,
            lines=[
                QuoteLineRead(
                    resource_id=resource_id,
                    label=line.label,
                    quantity=line.quantity,
                    minutes=line.minutes,
                    hours=str(line.hours),
                    unit_price_cents=line.unit_price_cents,
                    unit_price_incl_vat_cents=_incl(
                        line.unit_price_cents, line.vat_kind, line.vat_rate
                    ),
                    per_unit=line.per_unit,
                    flat_fee_cents=line.flat_fee_cents,
                    flat_fee_incl_vat_cents=_incl(
                        line.flat_fee_cents, line.vat_kind, line.vat_rate
                    ),
                    minimum_applied=line.minimum_applied,
                    free=line.free,
                    total_excl_vat_cents=line.total_excl_vat_cents,
                    vat_kind=line.vat_kind.value,
                    vat_rate=_rate_text(line.vat_rate),
                    vat_cents=line.vat_cents,
                    total_incl_vat_cents=line.total_incl_vat_cents,
                    mention=line.mention,
                )
                for line, resource_id in zip(priced.quote.lines, _line_ids(priced), strict=True)
            ],
            coverage=[
                CoverageRead(
                    resource_id=priced.resources[c.line].id or 0,
                    source="included" if c.source == "included" else "pack",
                    source_id=c.source_id,
                    minutes=c.minutes,
                    units=c.units,
                    hours=_hours_text(c.minutes),
                    label=COVERAGE_LABELS.get(c.source, c.source),
                )
                for c in priced.quote.coverage
            ],
            adjustments=adjustment_reads(priced.quote),
            coupon_code=priced.coupon.code if priced.coupon is not None else None,
            wallet_cents=priced.quote.wallet_cents,
            due_cents=priced.quote.due_cents,
            breakdown=breakdown_reads(priced.quote),
            total_excl_vat_cents=priced.quote.total_excl_vat_cents,
            total_vat_cents=priced.quote.total_vat_cents,
            total_incl_vat_cents=priced.quote.total_incl_vat_cents,
            mentions=list(priced.quote.mentions),
            display="both" if user_type is not None and user_type.for_organisations else "incl_vat",
            payment_methods=(
                ["free"]
                if priced.quote.is_free
                else ["wallet"]
                if not priced.quote.due_cents
                else methods
            ),
            fingerprint=priced.quote.fingerprint(),
        )
