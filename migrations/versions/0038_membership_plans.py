"""Membership plans, their subscriptions and periods, and what each period is charged

Revision ID: 0038
Revises: 0036
Create Date: 2026-12-05 13:00:00.000000

membership_plan, plan_allowance: what a place (or the platform) offers its members.
plan_subscription, subscription_period: who holds a plan at a place, period by period.
plan_charge: the price and payment of one period; its invoice is a billing_document of the
place's one chain, which now names either a booking's payment or a plan charge.
resource.members_only: only members of the place book it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0038"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYMENT_STATUSES = (
    "status IN ('pending', 'requires_action', 'processing', 'failed', 'succeeded', 'cancelled', "
    "'refunded', 'partially_refunded', 'invoiced', 'awaiting_on_site', 'free')"
)


def _utc(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, DateTimeUTC(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "membership_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("user_types", sa.JSON(), nullable=False),
        sa.Column("for_organisations", sa.Boolean(), nullable=False),
        sa.Column("period", sa.String(length=12), nullable=False),
        sa.Column("school_year_month", sa.Integer(), nullable=False),
        sa.Column("school_year_day", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("vat_kind", sa.String(length=20), nullable=False),
        sa.Column("vat_rate_bp", sa.Integer(), nullable=False),
        sa.Column("vat_mention", sa.String(length=300), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("discount_percent", sa.Integer(), nullable=False),
        sa.Column("members_access", sa.Boolean(), nullable=False),
        sa.Column("extra_horizon_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _utc("created_at"),
        _utc("updated_at"),
        sa.CheckConstraint(
            "period IN ('month', 'year', 'school_year')", name="ck_membership_plan_period"
        ),
        sa.CheckConstraint(
            "vat_kind IN ('taxable', 'exempt', 'franchise', 'out_of_scope')",
            name="ck_membership_plan_vat_kind",
        ),
        sa.CheckConstraint(
            "(vat_kind = 'taxable' AND vat_rate_bp > 0 AND vat_rate_bp < 10000) "
            "OR (vat_kind <> 'taxable' AND vat_rate_bp = 0)",
            name="ck_membership_plan_vat_rate",
        ),
        sa.CheckConstraint(
            "price_cents >= 0 AND price_cents <= 100000000", name="ck_membership_plan_price"
        ),
        sa.CheckConstraint(
            "discount_percent >= 0 AND discount_percent <= 100",
            name="ck_membership_plan_discount",
        ),
        sa.CheckConstraint(
            "extra_horizon_days >= 0 AND extra_horizon_days <= 366",
            name="ck_membership_plan_horizon",
        ),
        sa.CheckConstraint(
            "school_year_month BETWEEN 1 AND 12 AND school_year_day BETWEEN 1 AND 28",
            name="ck_membership_plan_school_year",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_membership_plan_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_plan")),
    )
    op.create_index(
        op.f("ix_membership_plan_place_id"), "membership_plan", ["place_id"], unique=False
    )
    op.create_table(
        "plan_allowance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("resource_kind", sa.String(length=32), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(resource_id IS NULL) <> (resource_kind IS NULL)", name="ck_plan_allowance_target"
        ),
        sa.CheckConstraint("minutes > 0 AND minutes <= 527040", name="ck_plan_allowance_minutes"),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["membership_plan.id"],
            name=op.f("fk_plan_allowance_plan_id_membership_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_plan_allowance_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_allowance")),
    )
    op.create_index(op.f("ix_plan_allowance_plan_id"), "plan_allowance", ["plan_id"], unique=False)
    op.create_table(
        "plan_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("user_type_code", sa.String(length=40), nullable=False),
        sa.Column("payment_method", sa.String(length=20), nullable=False),
        sa.Column("purchase_order", sa.String(length=100), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        _utc("cancelled_at", nullable=True),
        _utc("created_at"),
        sa.CheckConstraint(
            "payment_method IN ('card', 'on_site', 'invoice')",
            name="ck_plan_subscription_method",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_plan_subscription_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_plan_subscription_place_id_place"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["membership_plan.id"],
            name=op.f("fk_plan_subscription_plan_id_membership_plan"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_plan_subscription_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_subscription")),
    )
    op.create_index(
        "ix_plan_subscription_holder", "plan_subscription", ["place_id", "user_id"], unique=False
    )
    op.create_index(
        op.f("ix_plan_subscription_organisation_id"),
        "plan_subscription",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_plan_subscription_plan_id"), "plan_subscription", ["plan_id"], unique=False
    )
    op.create_table(
        "subscription_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _utc("starts_at"),
        _utc("ends_at"),
        sa.Column("status", sa.String(length=12), nullable=False),
        _utc("reminded_at", nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'lapsed', 'cancelled')",
            name="ck_subscription_period_status",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_subscription_period_range"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["plan_subscription.id"],
            name=op.f("fk_subscription_period_subscription_id_plan_subscription"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_period")),
        sa.UniqueConstraint("subscription_id", "sequence", name="uq_subscription_period_sequence"),
    )
    op.create_index(
        op.f("ix_subscription_period_subscription_id"),
        "subscription_period",
        ["subscription_id"],
        unique=False,
    )
    op.create_table(
        "plan_charge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("payer_user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.JSON(), nullable=False),
        sa.Column("intent_id", sa.String(length=255), nullable=True),
        sa.Column("client_secret", sa.String(length=255), nullable=True),
        sa.Column("purchase_order", sa.String(length=100), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        _utc("paid_at", nullable=True),
        _utc("created_at"),
        _utc("updated_at"),
        sa.CheckConstraint(
            "method IN ('card', 'on_site', 'invoice', 'free')", name="ck_plan_charge_method"
        ),
        sa.CheckConstraint(PAYMENT_STATUSES, name="ck_plan_charge_status"),
        sa.CheckConstraint("amount_cents >= 0", name="ck_plan_charge_amount"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_plan_charge_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payer_user_id"],
            ["user_account.id"],
            name=op.f("fk_plan_charge_payer_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["subscription_period.id"],
            name=op.f("fk_plan_charge_period_id_subscription_period"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_plan_charge_place_id_place"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_charge")),
        sa.UniqueConstraint("intent_id", name=op.f("uq_plan_charge_intent_id")),
        sa.UniqueConstraint("period_id", name=op.f("uq_plan_charge_period_id")),
    )
    op.create_index(
        op.f("ix_plan_charge_payer_user_id"), "plan_charge", ["payer_user_id"], unique=False
    )
    op.create_index(op.f("ix_plan_charge_place_id"), "plan_charge", ["place_id"], unique=False)
    # A document bills a booking's payment or a plan charge.
    op.alter_column("billing_document", "booking_id", existing_type=sa.Integer(), nullable=True)
    op.alter_column("billing_document", "payment_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("billing_document", sa.Column("plan_charge_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_billing_document_plan_charge_id_plan_charge"),
        "billing_document",
        "plan_charge",
        ["plan_charge_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index(
        op.f("ix_billing_document_plan_charge_id"),
        "billing_document",
        ["plan_charge_id"],
        unique=False,
    )
    op.create_check_constraint(
        "ck_billing_document_subject",
        "billing_document",
        "(payment_id IS NULL) <> (plan_charge_id IS NULL) "
        "AND (booking_id IS NULL) = (payment_id IS NULL)",
    )
    op.add_column(
        "resource",
        sa.Column("members_only", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("resource", "members_only")
    op.drop_constraint("ck_billing_document_subject", "billing_document", type_="check")
    op.drop_index(op.f("ix_billing_document_plan_charge_id"), table_name="billing_document")
    op.drop_constraint(
        op.f("fk_billing_document_plan_charge_id_plan_charge"),
        "billing_document",
        type_="foreignkey",
    )
    op.drop_column("billing_document", "plan_charge_id")
    # Only documents of bookings can go back (a membership's invoice would be lost: refuse).
    op.alter_column("billing_document", "payment_id", existing_type=sa.Integer(), nullable=False)
    op.alter_column("billing_document", "booking_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("plan_charge")
    op.drop_table("subscription_period")
    op.drop_index(op.f("ix_plan_subscription_plan_id"), table_name="plan_subscription")
    op.drop_index(op.f("ix_plan_subscription_organisation_id"), table_name="plan_subscription")
    op.drop_index("ix_plan_subscription_holder", table_name="plan_subscription")
    op.drop_table("plan_subscription")
    op.drop_index(op.f("ix_plan_allowance_plan_id"), table_name="plan_allowance")
    op.drop_table("plan_allowance")
    op.drop_index(op.f("ix_membership_plan_place_id"), table_name="membership_plan")
    op.drop_table("membership_plan")
