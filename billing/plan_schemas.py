"""Request and response models of membership plans and memberships (never table models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from billing.schemas import (
    AdjustmentRead,
    Cents,
    CouponCodeIn,
    DocumentSummary,
    Fingerprint,
    Strict,
    UserTypeKey,
    VatBreakdownRead,
    VatRead,
    VatWrite,
)
from resources.schemas import ResourceKind

PeriodKind = Literal["month", "year", "school_year"]
PlanMethod = Literal["card", "on_site", "invoice"]
ReceiptMeans = Literal["cash", "cheque", "card_terminal", "transfer"]
MembershipState = Literal["pending", "active", "renewing", "ended", "lapsed", "cancelled"]


class AllowanceWrite(Strict):
    """Minutes included per period on one resource, or on every resource of a kind."""

    resource_id: int | None = None
    resource_kind: ResourceKind | None = None
    minutes: Annotated[int, Field(gt=0, le=527040, description="minutes per period")]


class PlanWrite(Strict):
    """A membership plan: who may subscribe, its period, price and benefits."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: Annotated[str, Field(max_length=2000)] = ""
    user_types: Annotated[list[UserTypeKey], Field(max_length=20)] = Field(
        default_factory=list, description="who may subscribe (empty: every user type)"
    )
    for_organisations: bool = Field(default=False, description="organisations may subscribe")
    period: PeriodKind
    school_year_month: Annotated[int, Field(ge=1, le=12)] = 9
    school_year_day: Annotated[int, Field(ge=1, le=28)] = 1
    price_cents: Cents = Field(description="the price of one period, excl. VAT")
    vat: VatWrite = Field(default_factory=VatWrite)
    auto_renew: bool = Field(default=True, description="subscribers may have it renew itself")
    discount_percent: Annotated[int, Field(ge=0, le=100)] = 0
    members_access: bool = Field(default=False, description="books members-only resources")
    extra_horizon_days: Annotated[int, Field(ge=0, le=366)] = 0
    allowances: Annotated[list[AllowanceWrite], Field(max_length=20)] = Field(default_factory=list)
    active: bool = True


class AllowanceRead(BaseModel):
    """Minutes included per period."""

    resource_id: int | None
    resource_kind: str | None
    minutes: int


class PlanRead(BaseModel):
    """A membership plan (``place_id`` null: offered by the platform at every place)."""

    id: int
    place_id: int | None
    name: str
    description: str
    user_types: list[str]
    for_organisations: bool
    period: PeriodKind
    school_year_month: int
    school_year_day: int
    price_cents: int
    price_incl_vat_cents: int
    vat: VatRead
    auto_renew: bool
    discount_percent: int
    members_access: bool
    extra_horizon_days: int
    allowances: list[AllowanceRead]
    active: bool


class PlanQuoteRequest(Strict):
    """The price of a plan's first period for me (or an organisation I administer)."""

    place_id: int | None = Field(
        default=None, description="where to hold a platform-wide plan (the plan's place else)"
    )
    organisation_id: int | None = None
    coupon_code: CouponCodeIn | None = Field(
        default=None, description="a code of the place naming this plan (first period only)"
    )
    use_wallet: bool = Field(
        default=False, description="pay first from my wallet at the place (not for organisations)"
    )


class SubscribeRequest(PlanQuoteRequest):
    """Subscribe to a plan, for oneself or for an organisation one administers."""

    payment_method: PlanMethod = Field(
        description="pays what the wallet does not (ignored when nothing is left to pay)"
    )
    purchase_order: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    auto_renew: bool = False
    quote_fingerprint: Fingerprint | None = Field(
        default=None,
        description=(
            "the quote's fingerprint (POST /api/plans/{id}/quote); required with a coupon or "
            "the wallet: 409 price_changed if the price moved since"
        ),
    )


class PlanQuoteRead(BaseModel):
    """The first period's price: the plan's line, the coupon's discount lines, VAT, totals,
    and what the wallet pays; exactly what subscribing charges if the fingerprint matches."""

    plan_id: int
    place_id: int
    user_type: str
    currency: str
    label: str
    first_day: date
    last_day: date
    price_excl_vat_cents: int
    price_incl_vat_cents: int
    adjustments: list[AdjustmentRead]
    coupon_code: str | None
    breakdown: list[VatBreakdownRead]
    total_excl_vat_cents: int
    total_vat_cents: int
    total_incl_vat_cents: int
    # Of the total, what the wallet pays, and what is left to pay by the method.
    wallet_cents: int
    due_cents: int
    mentions: list[str]
    fingerprint: str


class ReceiveRequest(Strict):
    """Money received at the place for the period due."""

    means: ReceiptMeans


class ChargeRead(BaseModel):
    """What a period costs and how it is paid."""

    id: int
    method: str
    status: str
    amount_cents: int
    # Paid from the holder's wallet, besides ``amount_cents`` by the method.
    wallet_cents: int = 0
    currency: str
    due_on: date | None
    paid_at: datetime | None
    client_secret: str | None
    documents: list[DocumentSummary]


class PeriodRead(BaseModel):
    """One period: its local days, its instants and its standing."""

    id: int
    sequence: int
    starts_at: datetime
    ends_at: datetime
    first_day: date
    last_day: date
    status: str
    charge: ChargeRead | None


class MembershipRead(BaseModel):
    """A plan held at a place, period by period."""

    id: int
    plan: PlanRead
    place_id: int
    user_id: int
    organisation_id: int | None
    # Who holds it, as a manager reads it: the organisation's name, else the person's.
    holder_name: str
    payment_method: str
    auto_renew: bool
    cancelled_at: datetime | None
    state: MembershipState
    # Whether the member may take the next period now (POST .../renew).
    renewable: bool = False
    periods: list[PeriodRead]
