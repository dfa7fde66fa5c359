"""Billing tables: price lists, place billing settings, payments, refunds, Stripe events, and the
invoices and credit notes with their per-series counters.

Money is integer cents (EUR). VAT rates are integer hundredths of a percent (``2000`` = 20.00 %)
so that no float and no database-specific decimal type is involved. Issued documents
(``billing_document``) are never updated: migration 0004 adds triggers that refuse UPDATE and
DELETE on both databases, and ``mutualab invoices verify`` recomputes their hash chain.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column

VAT_KINDS = ("taxable", "exempt", "franchise", "out_of_scope")
PAYMENT_METHODS = ("card", "on_site", "invoice", "free", "wallet")


class PaymentStatus(StrEnum):
    """A payment's status, one spelling each. ``cancelled`` is spelled as for bookings (migration
    0008 renamed the stored ``canceled``); Stripe's own ``canceled`` is read where Stripe's
    objects are (``billing/payments.py``), never stored as is."""

    PENDING = "pending"  # card: awaiting the PaymentIntent or the card holder
    REQUIRES_ACTION = "requires_action"  # card: 3-D Secure to complete
    PROCESSING = "processing"
    FAILED = "failed"  # the last attempt was declined; the card holder may try again until expiry
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    INVOICED = "invoiced"  # pay on invoice: due by ``due_on``
    AWAITING_ON_SITE = "awaiting_on_site"
    FREE = "free"


# The statuses of a payment whose money came in (whatever was given back since).
PAID = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    MANUAL = "manual"


PAYMENT_STATUSES: tuple[str, ...] = tuple(s.value for s in PaymentStatus)
REFUND_STATUSES: tuple[str, ...] = tuple(s.value for s in RefundStatus)
DOCUMENT_KINDS = ("invoice", "credit_note")
INVOICE_PERIODS = ("booking", "month", "quarter")
INVOICE_ISSUES = ("at_booking", "period_start", "period_end")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class PriceList(SQLModel, table=True):
    """The rates of one resource, or of every resource of a kind at a place, and its VAT regime.

    ``scope`` is ``resource:<id>`` or ``kind:<kind>``: a resource's own list wins over its kind's.
    """

    __tablename__ = "price_list"
    __table_args__ = (
        UniqueConstraint("place_id", "scope", name="uq_price_list_scope"),
        CheckConstraint(_in("vat_kind", VAT_KINDS), name="ck_price_list_vat_kind"),
        CheckConstraint(
            "(vat_kind = 'taxable' AND vat_rate_bp > 0 AND vat_rate_bp < 10000) "
            "OR (vat_kind <> 'taxable' AND vat_rate_bp = 0)",
            name="ck_price_list_vat_rate",
        ),
        CheckConstraint(
            "(resource_id IS NULL) <> (resource_kind IS NULL)", name="ck_price_list_target"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    scope: str = Field(max_length=60)
    resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="CASCADE")
    resource_kind: str | None = Field(default=None, max_length=32)
    vat_kind: str = Field(default="taxable", max_length=20)
    vat_rate_bp: int = 2000
    vat_mention: str | None = Field(default=None, max_length=300)
    updated_at: datetime = created_at_field()


class PriceRate(SQLModel, table=True):
    """The rate of a price list for one user type (``*``: every type not listed)."""

    __tablename__ = "price_rate"
    __table_args__ = (
        UniqueConstraint("price_list_id", "user_type_code", name="uq_price_rate_type"),
        CheckConstraint(
            "hourly_cents >= 0 AND hourly_cents <= 100000000", name="ck_price_rate_hourly"
        ),
        CheckConstraint(
            "flat_fee_cents >= 0 AND flat_fee_cents <= 100000000", name="ck_price_rate_fee"
        ),
        CheckConstraint(
            "minimum_cents >= 0 AND minimum_cents <= 100000000", name="ck_price_rate_minimum"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    price_list_id: int = Field(foreign_key="price_list.id", ondelete="CASCADE", index=True)
    # Not a foreign key: "*" stands for every other type.
    user_type_code: str = Field(max_length=40)
    hourly_cents: int = 0
    per_unit: bool = False
    flat_fee_cents: int = 0
    minimum_cents: int = 0
    free: bool = False


class PlaceBilling(SQLModel, table=True):
    """How a place bills: seller details, payment methods per user type, refunds, holds."""

    __tablename__ = "place_billing"
    __table_args__ = (
        CheckConstraint("hold_minutes >= 5 AND hold_minutes <= 1440", name="ck_place_billing_hold"),
        CheckConstraint(
            "payment_terms_days >= 0 AND payment_terms_days <= 60", name="ck_place_billing_terms"
        ),
        CheckConstraint(_in("invoice_period", INVOICE_PERIODS), name="ck_place_billing_period"),
        CheckConstraint(_in("invoice_issue", INVOICE_ISSUES), name="ck_place_billing_issue"),
    )

    place_id: int = Field(primary_key=True, foreign_key="place.id", ondelete="CASCADE")
    invoice_prefix: str = Field(max_length=20)
    seller_vat_number: str | None = Field(default=None, max_length=20)
    seller_legal_mention: str = Field(default="", max_length=300)
    # {"citizen": ["card", "on_site"], "school": ["invoice"], "*": ["card"]}
    payment_methods: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    # [{"hours": 48, "percent": 100}, {"hours": 24, "percent": 50}]
    refund_tiers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    hold_minutes: int = 15
    payment_terms_days: int = 30
    # Bookings paid on invoice: what one invoice covers and when it is issued
    # (billing.invoice_periods; migration 0026).
    invoice_period: str = Field(
        default="booking", max_length=10, sa_column_kwargs={"server_default": "booking"}
    )
    invoice_issue: str = Field(
        default="at_booking", max_length=20, sa_column_kwargs={"server_default": "at_booking"}
    )
    updated_at: datetime = created_at_field()


class Payment(SQLModel, table=True):
    """How a booking is paid: one row per booking (a new card attempt keeps the row)."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint(_in("method", PAYMENT_METHODS), name="ck_payment_method"),
        CheckConstraint(_in("status", PAYMENT_STATUSES), name="ck_payment_status"),
        CheckConstraint("amount_cents >= 0", name="ck_payment_amount"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="ck_payment_refunded"
        ),
        CheckConstraint(
            "wallet_refunded_cents >= 0 AND wallet_refunded_cents <= wallet_cents",
            name="ck_payment_wallet",
        ),
        CheckConstraint("included_kept_minutes >= 0", name="ck_payment_included_kept"),
        Index("ix_payment_cancel_pending", "cancel_pending"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", ondelete="RESTRICT", unique=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT", index=True)
    payer_user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="RESTRICT"
    )
    user_type_code: str = Field(max_length=40)
    method: str = Field(max_length=20)
    status: str = Field(max_length=20)
    # What the method pays (the quote's total less the wallet's share).
    amount_cents: int
    refunded_cents: int = 0
    # The quote's share paid from the person's wallet at the place, and given back since
    # (migration 0036).
    wallet_cents: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    wallet_refunded_cents: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Of the minutes a membership included, those a cancellation kept by the refund tiers: the
    # allowance still counts them as used (migration 0045).
    included_kept_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    currency: str = Field(default="EUR", max_length=3)
    quote_fingerprint: str = Field(max_length=64)
    # The quote as charged (canonical form plus line labels): the invoice is built from it.
    quote: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempt: int = 1
    intent_id: str | None = Field(default=None, max_length=255, unique=True)
    client_secret: str | None = Field(default=None, max_length=255)
    # The PaymentIntent must be cancelled at Stripe (after commit): hold expired, cancelled.
    cancel_pending: bool = False
    purchase_order: str | None = Field(default=None, max_length=100)
    due_on: date | None = None
    on_site_means: str | None = Field(default=None, max_length=20)
    failure_code: str | None = Field(default=None, max_length=100)
    failure_message: str | None = Field(default=None, max_length=500)
    # Why the payment ended as it did, for the payer (e.g. paid after the hold expired).
    status_reason: str | None = Field(default=None, max_length=60)
    status_detail: str | None = Field(default=None, max_length=500)
    paid_at: datetime | None = utc_column(nullable=True)
    # The start the booking was paid for (at checkout). The cancellation tier is counted from
    # the earlier of this and the booking's start, so moving a booking later never buys a
    # better refund (migration 0014).
    paid_starts_at: datetime = utc_column()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Refund(SQLModel, table=True):
    """Money given back on a payment: by Stripe (card) or by the place itself (``manual``)."""

    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint(_in("status", REFUND_STATUSES), name="ck_refund_status"),
        CheckConstraint("amount_cents > 0", name="ck_refund_amount"),
        CheckConstraint(
            "(payment_id IS NULL) <> (plan_charge_id IS NULL)", name="ck_refund_subject"
        ),
        Index("ix_refund_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Of a booking's payment, or of a charge (a registration's ticket).
    payment_id: int | None = Field(
        default=None, foreign_key="payment.id", ondelete="RESTRICT", index=True
    )
    plan_charge_id: int | None = Field(
        default=None, foreign_key="plan_charge.id", ondelete="RESTRICT", index=True
    )
    amount_cents: int
    percent: int = 100
    reason: str = Field(max_length=60)
    detail: str = Field(default="", max_length=300)
    status: str = Field(max_length=20)
    idempotency_key: str = Field(max_length=100, unique=True)
    provider_ref: str | None = Field(default=None, max_length=255)
    failure_message: str | None = Field(default=None, max_length=500)
    credit_note_id: int | None = Field(
        default=None, foreign_key="billing_document.id", ondelete="RESTRICT"
    )
    created_at: datetime = created_at_field()
    completed_at: datetime | None = utc_column(nullable=True)


RECEIPT_MEANS = ("cash", "cheque", "card_terminal", "transfer")


class PaymentReceipt(SQLModel, table=True):
    """Money a place's manager received for a payment (cash, cheque, card terminal, transfer).

    Never changed: a mistaken receipt is corrected by a reversal, a receipt of the opposite
    amount naming it (``reverses_id``; once each).
    """

    __tablename__ = "payment_receipt"
    __table_args__ = (
        CheckConstraint(_in("means", RECEIPT_MEANS), name="ck_payment_receipt_means"),
        CheckConstraint(
            "(reverses_id IS NULL AND amount_cents > 0) "
            "OR (reverses_id IS NOT NULL AND amount_cents < 0)",
            name="ck_payment_receipt_amount",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", ondelete="RESTRICT", index=True)
    amount_cents: int
    means: str = Field(max_length=20)
    # The cheque's number, the transfer's label, the terminal's ticket.
    reference: str = Field(default="", max_length=100)
    received_on: date
    recorded_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    reverses_id: int | None = Field(
        default=None, foreign_key="payment_receipt.id", ondelete="RESTRICT", unique=True
    )
    note: str = Field(default="", max_length=300)
    created_at: datetime = created_at_field()


class PlanCharge(SQLModel, table=True):
    """What one period of a membership, one session's ticket or one pack of prepaid hours costs
    and how it is paid (one row per period, registration or pack bought)."""

    __tablename__ = "plan_charge"
    __table_args__ = (
        CheckConstraint(_in("method", PAYMENT_METHODS), name="ck_plan_charge_method"),
        CheckConstraint(_in("status", PAYMENT_STATUSES), name="ck_plan_charge_status"),
        CheckConstraint("amount_cents >= 0", name="ck_plan_charge_amount"),
        CheckConstraint(
            "num_nonnulls(period_id, registration_id, pack_holding_id) = 1",
            name="ck_plan_charge_subject",
        ),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents",
            name="ck_plan_charge_refunded",
        ),
        CheckConstraint(
            "wallet_refunded_cents >= 0 AND wallet_refunded_cents <= wallet_cents",
            name="ck_plan_charge_wallet",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # What is charged: one period of a membership, the ticket of a registration, or a pack of
    # prepaid hours bought.
    period_id: int | None = Field(
        default=None, foreign_key="subscription_period.id", ondelete="RESTRICT", unique=True
    )
    registration_id: int | None = Field(
        default=None, foreign_key="programme_registration.id", ondelete="RESTRICT", unique=True
    )
    pack_holding_id: int | None = Field(
        default=None, foreign_key="pack_holding.id", ondelete="RESTRICT", unique=True
    )
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT", index=True)
    payer_user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="RESTRICT"
    )
    method: str = Field(max_length=20)
    status: str = Field(max_length=20)
    # What the method pays: the period's total less the wallet's share.
    amount_cents: int
    # The share paid from the holder's wallet at the place, and given back since (a period
    # that ended unpaid; migration 0043).
    wallet_cents: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    wallet_refunded_cents: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    currency: str = Field(default="EUR", max_length=3)
    # The plan's price as charged (lines, VAT breakdown, totals, mentions): the invoice's source.
    quote: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    intent_id: str | None = Field(default=None, max_length=255, unique=True)
    client_secret: str | None = Field(default=None, max_length=255)
    purchase_order: str | None = Field(default=None, max_length=100)
    due_on: date | None = None
    paid_at: datetime | None = utc_column(nullable=True)
    # Given back so far (credit notes of a cancelled ticket).
    refunded_cents: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    # When the cancellation of a ticket was settled (credit note, refund): exactly once.
    settled_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class StripeEvent(SQLModel, table=True):
    """A verified webhook event, stored by id so a replay changes nothing."""

    __tablename__ = "stripe_event"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    intent_id: str | None = Field(default=None, max_length=255, index=True)
    outcome: str = Field(max_length=60)
    received_at: datetime = created_at_field()


class DocumentSeries(SQLModel, table=True):
    """The counter of one numbering series (a place, a kind of document, a year).

    Issuing locks this row (``FOR UPDATE``), so
    numbers are consecutive with no gap and no duplicate, and each document chains to
    ``last_hash``.
    """

    __tablename__ = "document_series"
    __table_args__ = (
        UniqueConstraint("place_id", "kind", "year", name="uq_document_series"),
        CheckConstraint(_in("kind", DOCUMENT_KINDS), name="ck_document_series_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT")
    kind: str = Field(max_length=20)
    year: int
    prefix: str = Field(max_length=30)
    last_sequence: int = 0
    # The previous year's last hash (or the genesis hash): the first link of this series.
    genesis_hash: str = Field(max_length=64)
    last_hash: str = Field(max_length=64)


class BillingDocument(SQLModel, table=True):
    """An issued invoice or credit note: its canonical content and its two chain hashes."""

    __tablename__ = "billing_document"
    __table_args__ = (
        UniqueConstraint("series_id", "sequence", name="uq_billing_document_sequence"),
        UniqueConstraint("place_id", "number", name="uq_billing_document_number"),
        CheckConstraint(_in("kind", DOCUMENT_KINDS), name="ck_billing_document_kind"),
        CheckConstraint(
            "(payment_id IS NULL) <> (plan_charge_id IS NULL) "
            "AND (booking_id IS NULL) = (payment_id IS NULL)",
            name="ck_billing_document_subject",
        ),
        Index("ix_billing_document_booking", "booking_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="document_series.id", ondelete="RESTRICT")
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT", index=True)
    kind: str = Field(max_length=20)
    number: str = Field(max_length=40)
    sequence: int
    issued_at: datetime = utc_column()
    # A booking's document names its booking and payment; a membership's, its plan charge
    # (migration 0038).
    booking_id: int | None = Field(default=None, foreign_key="booking.id", ondelete="RESTRICT")
    payment_id: int | None = Field(
        default=None, foreign_key="payment.id", ondelete="RESTRICT", index=True
    )
    plan_charge_id: int | None = Field(
        default=None, foreign_key="plan_charge.id", ondelete="RESTRICT", index=True
    )
    buyer_user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="RESTRICT", index=True
    )
    corrects_id: int | None = Field(
        default=None, foreign_key="billing_document.id", ondelete="RESTRICT"
    )
    total_incl_vat_cents: int
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class InvoiceLine(SQLModel, table=True):
    """A session billed by a grouped invoice: the payment (and booking) it invoices.

    A payment is invoiced by one grouped invoice at most (``uq_invoice_line_payment``): the
    issuing job run twice, or twice at once, issues each invoice once. The document's own
    ``booking_id``/``payment_id`` name its first session.
    """

    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("payment_id", name="uq_invoice_line_payment"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="billing_document.id", ondelete="RESTRICT", index=True)
    payment_id: int = Field(foreign_key="payment.id", ondelete="RESTRICT")
    booking_id: int = Field(foreign_key="booking.id", ondelete="RESTRICT", index=True)
    position: int
    total_incl_vat_cents: int
