"""Request and response models of the billing API (never table models).

Amounts are integer cents excluding VAT unless a name says ``incl_vat``; VAT rates are decimal
strings in percent ("20.00", "5.50"). Negative or absurd amounts are refused as 422 here.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from billing.ledger_list import InvoiceState
from billing.pricing import MAX_LINE_CENTS
from booking.schemas import BookingRead, Items, Notes, OccurrenceRead, SeriesRead
from kernel.types import UtcDatetime
from resources.schemas import ResourceKind

Cents = Annotated[int, Field(ge=0, le=MAX_LINE_CENTS, description="integer cents")]
UserTypeKey = Annotated[
    str,
    Field(pattern=r"^(\*|[a-z][a-z0-9_-]{1,39})$", description="a user type code, or * for any"),
]
VatKindName = Literal["taxable", "exempt", "franchise", "out_of_scope"]
PayMethod = Literal["card", "on_site", "invoice"]
Fingerprint = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
CouponCodeIn = Annotated[str, Field(min_length=1, max_length=32)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos are reported rather than ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# price lists -------------------------------------------------------------------------
class RateWrite(Strict):
    """The price of the resource(s) for one user type."""

    user_type: UserTypeKey
    hourly_cents: Cents = 0
    per_unit: bool = Field(default=False, description="the hourly price is per unit (seats)")
    flat_fee_cents: Cents = 0
    minimum_cents: Cents = 0
    free: bool = False


class VatWrite(Strict):
    """The VAT regime: taxable at a rate, exempt, franchise or outside the scope of VAT."""

    kind: VatKindName = "taxable"
    rate: Annotated[Decimal, Field(gt=0, lt=100, decimal_places=2)] | None = Field(
        default=None, description="percent, taxable only (default 20)"
    )
    mention: Annotated[str, Field(min_length=3, max_length=300)] | None = Field(
        default=None, description="the legal mention (default: the usual article of the CGI)"
    )


class PriceListWrite(Strict):
    """The price list of one resource, or of every resource of a kind at the place."""

    resource_id: int | None = None
    resource_kind: ResourceKind | None = None
    vat: VatWrite = Field(default_factory=VatWrite)
    amounts_include_vat: bool = Field(
        default=False, description="the amounts are typed VAT included (stored excluding VAT)"
    )
    rates: Annotated[list[RateWrite], Field(min_length=1, max_length=60)]


class RateRead(BaseModel):
    """A rate, excluding and including VAT."""

    user_type: str
    hourly_cents: int
    hourly_incl_vat_cents: int
    per_unit: bool
    flat_fee_cents: int
    flat_fee_incl_vat_cents: int
    minimum_cents: int
    minimum_incl_vat_cents: int
    free: bool


class VatRead(BaseModel):
    """A VAT regime."""

    kind: VatKindName
    rate: str
    mention: str | None


class PriceListRead(BaseModel):
    """A stored price list."""

    id: int
    place_id: int
    resource_id: int | None
    resource_kind: str | None
    vat: VatRead
    rates: list[RateRead]
    updated_at: datetime


# settings -------------------------------------------------------------------------------
class RefundTierIO(Strict):
    """Refund ``percent`` of the amount paid when cancelling at least ``hours`` before."""

    hours: Annotated[int, Field(ge=0, le=24 * 90)]
    percent: Annotated[int, Field(ge=0, le=100)]
    label: Annotated[str, Field(max_length=100)] = ""


class BillingSettingsWrite(Strict):
    """How a place bills."""

    invoice_prefix: Annotated[
        str, Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z][A-Z0-9]*)*$", max_length=17)
    ]
    seller_vat_number: Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9A-Z]{2,13}$")] | None = None
    seller_legal_mention: Annotated[str, Field(max_length=300)] = ""
    # No max_length on the dict itself: Litestar would then document it as an array.
    payment_methods: dict[UserTypeKey, Annotated[list[PayMethod], Field(max_length=3)]] = Field(
        description='user type (or "*") -> methods it may use (60 entries at most)'
    )
    refund_tiers: Annotated[list[RefundTierIO], Field(max_length=10)]
    hold_minutes: Annotated[int, Field(ge=5, le=1440)] = 15
    payment_terms_days: Annotated[int, Field(ge=0, le=60)] = Field(
        default=30, description="days from an invoice's issue to its due date"
    )
    invoice_period: Literal["booking", "month", "quarter"] = Field(
        default="booking",
        description="bookings paid on invoice: one invoice per booking, or per purchase order "
        "and calendar month or quarter of the sessions",
    )
    invoice_issue: Literal["at_booking", "period_start", "period_end"] = Field(
        default="at_booking",
        description="when an invoice is issued: at booking, on the first day of its period (of "
        "the session, per booking), or on the day after its period ends",
    )

    @field_validator("payment_methods")
    @classmethod
    def _few_user_types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) > 60:
            raise ValueError("at most 60 user types")
        return value


class BillingSettingsRead(BillingSettingsWrite):
    """The billing settings of a place (defaults until a manager saves them)."""

    model_config = ConfigDict(extra="ignore")

    place_id: int
    card_payments_available: bool


# quotes and checkout ---------------------------------------------------------------------
class QuoteRequest(Strict):
    """What to price: resources, quantities and a time range, for whom."""

    items: Items
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    organisation_id: int | None = Field(default=None, description="book for this organisation")
    user_type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$")] | None = Field(
        default=None, description="the rate to show (default: yours)"
    )
    coupon_code: CouponCodeIn | None = Field(default=None, description="a coupon of the place")
    use_wallet: bool = Field(default=False, description="pay what it can from my wallet there")
    use_packs: bool = Field(
        default=True, description="cover the time with my packs of prepaid hours there first"
    )


class QuoteLineRead(BaseModel):
    """A priced line."""

    resource_id: int
    label: str
    quantity: int
    minutes: int
    hours: str
    unit_price_cents: int
    unit_price_incl_vat_cents: int = Field(
        description="the hourly price as a person sees it, VAT included (per unit if per_unit)"
    )
    per_unit: bool
    flat_fee_cents: int
    flat_fee_incl_vat_cents: int = Field(description="the fee per booking, VAT included")
    minimum_applied: bool
    free: bool
    total_excl_vat_cents: int
    vat_kind: VatKindName
    vat_rate: str
    vat_cents: int
    total_incl_vat_cents: int
    mention: str | None


class VatBreakdownRead(BaseModel):
    """The base and VAT of one regime and rate."""

    kind: VatKindName
    rate: str
    base_cents: int
    vat_cents: int


class AdjustmentRead(BaseModel):
    """A discount line of one VAT rate (member discount, coupon): amounts negative."""

    kind: Literal["member_discount", "coupon"]
    label: str
    vat_kind: str
    vat_rate: str
    total_excl_vat_cents: int
    vat_cents: int
    total_incl_vat_cents: int


class CoverageRead(BaseModel):
    """Time of a line paid before money: a membership's included hours (or a pack's)."""

    resource_id: int
    source: Literal["included", "pack"]
    source_id: int | None
    # The booking's minutes covered; units x minutes is what the source gives.
    minutes: int
    units: int
    hours: str
    label: str


class QuoteRead(BaseModel):
    """Lines, VAT and totals: exactly what checkout charges if the fingerprint still matches."""

    place_id: int
    user_type: str
    currency: str
    lines: list[QuoteLineRead]
    # Before the lines' prices: the time covered otherwise (the lines charge the rest).
    coverage: list[CoverageRead] = []
    # After the lines: the discounts, which the breakdown and totals are net of.
    adjustments: list[AdjustmentRead] = []
    coupon_code: str | None = None
    # Of the total, what the wallet pays, and what is left to pay by the method.
    wallet_cents: int = 0
    due_cents: int
    breakdown: list[VatBreakdownRead]
    total_excl_vat_cents: int
    total_vat_cents: int
    total_incl_vat_cents: int
    mentions: list[str]
    # "incl_vat" for persons (they see VAT-included prices), "both" for organisations.
    display: Literal["incl_vat", "both"]
    payment_methods: list[str]
    fingerprint: str


class CheckoutRequest(Strict):
    """Book and pay in one step, at the quoted price."""

    items: Items
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    organisation_id: int | None = None
    notes: Notes = ""
    method: PayMethod = "card"
    quote_fingerprint: Fingerprint
    purchase_order: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    coupon_code: CouponCodeIn | None = Field(default=None, description="the quote's coupon")
    use_wallet: bool = Field(default=False, description="as in the quote")
    use_packs: bool = Field(default=True, description="as in the quote")


class RefundRead(BaseModel):
    """A refund of a payment."""

    id: int
    amount_cents: int
    percent: int
    reason: str
    detail: str
    status: str
    credit_note_id: int | None
    created_at: datetime
    completed_at: datetime | None


class DocumentSummary(BaseModel):
    """An invoice or credit note, without its content."""

    id: int
    kind: Literal["invoice", "credit_note"]
    number: str
    issued_at: datetime
    # A booking's document names its booking and payment; a membership's, its plan charge.
    booking_id: int | None
    payment_id: int | None
    total_incl_vat_cents: int
    corrects_id: int | None
    plan_charge_id: int | None = None
    # A grouped invoice: the period it bills (``mars 2027``) and its sessions; else None, 1.
    period: str | None = None
    sessions: int = 1
    due_on: date | None = None


class PaymentRead(BaseModel):
    """A payment, its refunds and documents; ``status_reason`` tells the payer what happened."""

    id: int
    booking_id: int
    place_id: int
    method: str
    status: str
    amount_cents: int
    refunded_cents: int
    # Paid from the wallet, and given back to it since.
    wallet_cents: int = 0
    wallet_refunded_cents: int = 0
    currency: str
    attempt: int
    intent_id: str | None
    # Only shown to the payer: Stripe.js confirms the card payment with it.
    client_secret: str | None
    publishable_key: str | None
    purchase_order: str | None
    due_on: date | None
    on_site_means: str | None
    failure_code: str | None
    failure_message: str | None
    status_reason: str | None
    status_detail: str | None
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    refunds: list[RefundRead]
    documents: list[DocumentSummary]


class CheckoutRead(BaseModel):
    """The booking made at checkout and how it is being paid."""

    booking: BookingRead
    payment: PaymentRead
    quote: QuoteRead


class RecordPayment(Strict):
    """A manager records money received at the place or by bank transfer."""

    means: Literal["cash", "cheque", "card_terminal", "transfer"]


class CancellationRefund(BaseModel):
    """What cancelling the booking now would give back, by the place's refund tiers."""

    # refund: money paid goes back; less_to_pay: an unpaid invoice is reduced by a credit note;
    # nothing_paid: nothing was paid yet, so nothing comes back (and nothing is owed).
    outcome: Literal["refund", "less_to_pay", "nothing_paid"]
    amount_cents: int
    percent: int
    reason: Literal["tier", "no_tier", "started", "place_cancelled", "nothing_paid"]
    tier: str
    # What goes back to the wallet the booking was partly or wholly paid from.
    wallet_cents: int = 0
    # Minutes given back to the packs of prepaid hours the booking used (by the same tier).
    pack_minutes: int = 0
    # Minutes of prepaid hours the booking used (what the policy keeps: used - given back).
    pack_minutes_used: int = 0


class BookingBilling(BaseModel):
    """What a booking costs and how it was paid, refunded and invoiced."""

    booking_id: int
    payment: PaymentRead | None
    documents: list[DocumentSummary]
    if_cancelled_now: CancellationRefund | None = Field(
        default=None, description="what the booker gets back by cancelling now (active bookings)"
    )


class DocumentRead(DocumentSummary):
    """An issued document with its canonical content and chain hashes."""

    place_id: int
    previous_hash: str
    hash: str
    content: dict[str, Any]


class DocumentPage(BaseModel):
    """A page of documents."""

    items: list[DocumentSummary]
    total: int
    limit: int
    offset: int


class LedgerEntry(DocumentSummary):
    """A document in its place's list: whom it bills, its purchase order, where it stands
    (``paid``, ``unpaid``, ``overdue``, ``credited``: cancelled by a credit note;
    ``credit_note``)."""

    client: str
    email: str
    purchase_order: str | None
    state: InvoiceState


class LedgerPage(BaseModel):
    """A page of a place's documents, as its list shows them."""

    items: list[LedgerEntry]
    total: int
    limit: int
    offset: int


class WebhookAck(BaseModel):
    """What the webhook endpoint did with an event."""

    received: bool
    event_id: str
    outcome: str


# series ------------------------------------------------------------------------------------
class SeriesQuoteRequest(Strict):
    """A recurring booking to price: the same resources at the same local time on every date."""

    items: Items
    rule: Annotated[
        str,
        Field(
            min_length=8,
            max_length=500,
            examples=["FREQ=WEEKLY;BYDAY=TU;UNTIL=20271215"],
            description="RFC 5545 RRULE subset: FREQ=WEEKLY|DAILY, INTERVAL, BYDAY, UNTIL|COUNT",
        ),
    ]
    first_date: date = Field(description="local date the series starts from")
    start_time: time = Field(description="local wall-clock start time, e.g. 14:00")
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    exdates: Annotated[list[date], Field(max_length=200)] = Field(
        default_factory=list, description="local dates to skip (RFC 5545 EXDATE)"
    )
    organisation_id: int | None = Field(default=None, description="book for this organisation")
    notes: Notes = ""


class SeriesCheckoutRequest(SeriesQuoteRequest):
    """Book the free occurrences of a quoted series and bill each one (conflicts are skipped)."""

    method: Literal["invoice", "on_site"] = "invoice"
    quote_fingerprint: Fingerprint
    purchase_order: Annotated[str, Field(min_length=1, max_length=100)] | None = None


# ``date`` is a field's name in the model below.
LocalDay = date


class SeriesOccurrenceQuote(BaseModel):
    """One date of a series: free (with its price) or in conflict (with the reason code)."""

    date: date
    starts_at: datetime
    ends_at: datetime
    local_starts_at: datetime
    # "pending": beyond the booking horizon, booked (and billed) when the horizon reaches it.
    status: Literal["free", "conflict", "pending"]
    reason: str | None
    detail: str | None
    resource_id: int | None
    # A pending date: the local day its booking opens.
    bookable_from: LocalDay | None = None
    lines: list[QuoteLineRead]
    # A member's included time and discount on this date (as in a booking's quote).
    coverage: list[CoverageRead] = []
    adjustments: list[AdjustmentRead] = []
    total_excl_vat_cents: int
    total_vat_cents: int
    total_incl_vat_cents: int


class SeriesQuoteRead(BaseModel):
    """The whole series priced: one line set per free date, VAT and totals over them."""

    place_id: int
    user_type: str
    currency: str
    occurrences: list[SeriesOccurrenceQuote]
    free_count: int
    conflict_count: int
    # Dates beyond the horizon: priced on their rows, not in the totals (billed when booked).
    pending_count: int = 0
    breakdown: list[VatBreakdownRead]
    total_excl_vat_cents: int
    total_vat_cents: int
    total_incl_vat_cents: int
    mentions: list[str]
    display: Literal["incl_vat", "both"]
    payment_methods: list[str]
    # The organisation booked for pays on purchase orders: checkout on invoice needs its number.
    purchase_order_required: bool
    fingerprint: str


class SeriesOccurrenceBilling(BaseModel):
    """A booking of a series, its payment and its documents."""

    booking_id: int
    reference: str
    status: str
    starts_at: datetime
    local_starts_at: datetime
    amount_cents: int
    payment_status: str | None
    documents: list[DocumentSummary]


class SeriesBillingRead(BaseModel):
    """How a series is billed: its purchase order, each booking's invoice, the total."""

    series_id: int
    place_id: int
    organisation_id: int | None
    organisation_name: str | None
    method: str | None
    purchase_order: str | None
    currency: str
    occurrences: list[SeriesOccurrenceBilling]
    # Every invoice and credit note of the series once (a grouped invoice bills several dates).
    documents: list[DocumentSummary] = Field(default_factory=list)
    # How the place invoices what is paid on invoice (its billing settings).
    invoice_period: Literal["booking", "month", "quarter"] = "booking"
    invoice_issue: Literal["at_booking", "period_start", "period_end"] = "at_booking"
    payment_terms_days: int = 30
    # What stays due: invoiced amounts less credit notes, over the series' bookings.
    total_incl_vat_cents: int


class SeriesCheckoutRead(BaseModel):
    """The series booked, each date's outcome, and how it is billed."""

    series: SeriesRead
    occurrences: list[OccurrenceRead]
    billing: SeriesBillingRead
