"""Membership plans and who holds them: a person's (or an organisation's) standing at a place.

A plan is what a place (or, with no place, the whole platform) offers its members: who may
subscribe, the period, the price (charged by billing, :mod:`billing.memberships`), whether it
renews, and its benefits. A subscription holds a plan at one place over consecutive periods;
a period counts as membership while it is ``active`` (paid, or due on site or on invoice).
The standing lives here, beside certifications and rate grants, because the booking rules read
it (members-only resources, a longer horizon) and booking sits below billing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column

PLAN_PERIODS = ("month", "year", "school_year")
PLAN_VAT_KINDS = ("taxable", "exempt", "franchise", "out_of_scope")
PLAN_PAYMENT_METHODS = ("card", "on_site", "invoice")


class PeriodStatus(StrEnum):
    """A subscription period's standing."""

    PENDING = "pending"  # card: not paid yet, no benefits
    ACTIVE = "active"  # paid, or due on site or on invoice: the benefits apply
    LAPSED = "lapsed"  # never paid: no benefits
    CANCELLED = "cancelled"  # withdrawn before it started


PERIOD_STATUSES: tuple[str, ...] = tuple(s.value for s in PeriodStatus)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MembershipPlan(SQLModel, table=True):
    """A plan offered by a place (``place_id``) or by the platform (``place_id`` NULL)."""

    __tablename__ = "membership_plan"
    __table_args__ = (
        CheckConstraint(_in("period", PLAN_PERIODS), name="ck_membership_plan_period"),
        CheckConstraint(_in("vat_kind", PLAN_VAT_KINDS), name="ck_membership_plan_vat_kind"),
        CheckConstraint(
            "(vat_kind = 'taxable' AND vat_rate_bp > 0 AND vat_rate_bp < 10000) "
            "OR (vat_kind <> 'taxable' AND vat_rate_bp = 0)",
            name="ck_membership_plan_vat_rate",
        ),
        CheckConstraint(
            "price_cents >= 0 AND price_cents <= 100000000", name="ck_membership_plan_price"
        ),
        CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100",
            name="ck_membership_plan_discount",
        ),
        CheckConstraint(
            "extra_horizon_days >= 0 AND extra_horizon_days <= 366",
            name="ck_membership_plan_horizon",
        ),
        CheckConstraint(
            "school_year_month BETWEEN 1 AND 12 AND school_year_day BETWEEN 1 AND 28",
            name="ck_membership_plan_school_year",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int | None = Field(
        default=None, foreign_key="place.id", ondelete="CASCADE", index=True
    )
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    # Who may subscribe: these user types (empty: every type), and organisations or not.
    user_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    for_organisations: bool = False
    period: str = Field(max_length=12)
    # A school year starts on this day each year, in the place's zone (1 September).
    school_year_month: int = 9
    school_year_day: int = 1
    # The price of one period excl. VAT, and its VAT regime (as a price list's).
    price_cents: int = 0
    vat_kind: str = Field(default="taxable", max_length=20)
    vat_rate_bp: int = 2000
    vat_mention: str | None = Field(default=None, max_length=300)
    auto_renew: bool = True
    # Benefits.
    discount_percent: int = 0
    members_access: bool = False
    extra_horizon_days: int = 0
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class PlanAllowance(SQLModel, table=True):
    """Minutes a plan includes per period on one resource, or on every resource of a kind."""

    __tablename__ = "plan_allowance"
    __table_args__ = (
        CheckConstraint(
            "(resource_id IS NULL) <> (resource_kind IS NULL)", name="ck_plan_allowance_target"
        ),
        CheckConstraint("minutes > 0 AND minutes <= 527040", name="ck_plan_allowance_minutes"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="membership_plan.id", ondelete="CASCADE", index=True)
    resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="CASCADE")
    resource_kind: str | None = Field(default=None, max_length=32)
    minutes: int


class PlanSubscription(SQLModel, table=True):
    """A person (or an organisation, through a member) holding a plan at a place."""

    __tablename__ = "plan_subscription"
    __table_args__ = (
        CheckConstraint(
            _in("payment_method", PLAN_PAYMENT_METHODS), name="ck_plan_subscription_method"
        ),
        Index("ix_plan_subscription_holder", "place_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="membership_plan.id", ondelete="RESTRICT", index=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT")
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="CASCADE", index=True
    )
    # The subscriber's rate when subscribing (the invoice states it).
    user_type_code: str = Field(max_length=40)
    payment_method: str = Field(max_length=20)
    purchase_order: str | None = Field(default=None, max_length=100)
    auto_renew: bool = False
    # Cancelled: no period after the current one (cancellation at period end).
    cancelled_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = created_at_field()


class SubscriptionPeriod(SQLModel, table=True):
    """One period of a subscription: [starts_at, ends_at) in UTC, local boundaries."""

    __tablename__ = "subscription_period"
    __table_args__ = (
        CheckConstraint(_in("status", PERIOD_STATUSES), name="ck_subscription_period_status"),
        CheckConstraint("ends_at > starts_at", name="ck_subscription_period_range"),
        UniqueConstraint("subscription_id", "sequence", name="uq_subscription_period_sequence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="plan_subscription.id", ondelete="CASCADE", index=True)
    sequence: int
    starts_at: datetime = utc_column()
    ends_at: datetime = utc_column()
    status: str = Field(max_length=12)
    # The renewal reminder was queued for this period (once).
    reminded_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()

    def covers(self, at: datetime) -> bool:
        """Whether ``at`` falls in this period."""
        return self.starts_at <= at < self.ends_at
