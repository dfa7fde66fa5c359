"""Packs of prepaid hours: the products a place sells, the packs held, their movements

Revision ID: 0037
Revises: 0040
Create Date: 2026-12-05 16:00:00.000000

pack: prepaid minutes for one resource or every resource of a kind, a price (VAT regime as a
price list's), a validity (days from purchase, or a last day), who may buy.
pack_holding: a pack bought, with the terms it was bought with, its balance (never negative:
check constraint, taken by one conditional UPDATE) and its expiry.
pack_movement: every movement (bought, used, given back, expired) with the balance it left.
plan_charge.pack_holding_id: a pack's purchase is charged (and invoiced, in the place's one
chain) as a membership period is; a charge is a period's or a pack's.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0037"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, DateTimeUTC(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "pack",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("resource_kind", sa.String(length=32), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("vat_kind", sa.String(length=20), nullable=False),
        sa.Column("vat_rate_bp", sa.Integer(), nullable=False),
        sa.Column("vat_mention", sa.String(length=300), nullable=True),
        sa.Column("validity_days", sa.Integer(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("user_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _utc("created_at"),
        _utc("updated_at"),
        sa.CheckConstraint(
            "(resource_id IS NULL) <> (resource_kind IS NULL)", name="ck_pack_target"
        ),
        sa.CheckConstraint("minutes > 0 AND minutes <= 527040", name="ck_pack_minutes"),
        sa.CheckConstraint("price_cents >= 0 AND price_cents <= 100000000", name="ck_pack_price"),
        sa.CheckConstraint(
            "(vat_kind = 'taxable' AND vat_rate_bp > 0 AND vat_rate_bp < 10000) "
            "OR (vat_kind <> 'taxable' AND vat_rate_bp = 0)",
            name="ck_pack_vat_rate",
        ),
        sa.CheckConstraint(
            "(validity_days IS NULL) <> (valid_until IS NULL)", name="ck_pack_validity"
        ),
        sa.CheckConstraint(
            "validity_days IS NULL OR (validity_days > 0 AND validity_days <= 3660)",
            name="ck_pack_validity_days",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_pack_place_id_place"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_pack_resource_id_resource"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack")),
    )
    op.create_index(op.f("ix_pack_place_id"), "pack", ["place_id"], unique=False)
    op.create_table(
        "pack_holding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("resource_kind", sa.String(length=32), nullable=True),
        sa.Column("balance_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _utc("expires_at"),
        _utc("created_at"),
        _utc("updated_at"),
        sa.CheckConstraint("balance_minutes >= 0", name="ck_pack_holding_balance"),
        sa.CheckConstraint("balance_minutes <= minutes", name="ck_pack_holding_most"),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'expired', 'cancelled')",
            name="ck_pack_holding_status",
        ),
        sa.CheckConstraint(
            "(resource_id IS NULL) <> (resource_kind IS NULL)", name="ck_pack_holding_target"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_pack_holding_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"], ["pack.id"], name=op.f("fk_pack_holding_pack_id_pack"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_pack_holding_place_id_place"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_pack_holding_resource_id_resource"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_pack_holding_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_holding")),
    )
    op.create_index(
        "ix_pack_holding_holder", "pack_holding", ["place_id", "user_id", "status"], unique=False
    )
    op.create_index(
        op.f("ix_pack_holding_organisation_id"), "pack_holding", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_pack_holding_pack_id"), "pack_holding", ["pack_id"], unique=False)
    op.create_index(op.f("ix_pack_holding_user_id"), "pack_holding", ["user_id"], unique=False)
    op.create_table(
        "pack_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holding_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("balance_after_minutes", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        _utc("created_at"),
        sa.CheckConstraint(
            "kind IN ('bought', 'used', 'given_back', 'expired')", name="ck_pack_movement_kind"
        ),
        sa.CheckConstraint("minutes <> 0", name="ck_pack_movement_minutes"),
        sa.CheckConstraint("balance_after_minutes >= 0", name="ck_pack_movement_balance"),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_pack_movement_booking_id_booking"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["holding_id"],
            ["pack_holding.id"],
            name=op.f("fk_pack_movement_holding_id_pack_holding"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_movement")),
    )
    op.create_index(
        op.f("ix_pack_movement_booking_id"), "pack_movement", ["booking_id"], unique=False
    )
    op.create_index(
        op.f("ix_pack_movement_holding_id"), "pack_movement", ["holding_id"], unique=False
    )
    # A charge is a membership period's, a registration's ticket (0040) or a pack's.
    op.add_column("plan_charge", sa.Column("pack_holding_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_plan_charge_pack_holding_id_pack_holding"),
        "plan_charge",
        "pack_holding",
        ["pack_holding_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_unique_constraint(
        op.f("uq_plan_charge_pack_holding_id"), "plan_charge", ["pack_holding_id"]
    )
    op.drop_constraint("ck_plan_charge_subject", "plan_charge", type_="check")
    op.create_check_constraint(
        "ck_plan_charge_subject",
        "plan_charge",
        "num_nonnulls(period_id, registration_id, pack_holding_id) = 1",
    )


def downgrade() -> None:
    # A pack's charge (and its invoice) would be lost: refuse rather than drop it silently.
    op.drop_constraint("ck_plan_charge_subject", "plan_charge", type_="check")
    op.drop_constraint(op.f("uq_plan_charge_pack_holding_id"), "plan_charge", type_="unique")
    op.drop_constraint(
        op.f("fk_plan_charge_pack_holding_id_pack_holding"), "plan_charge", type_="foreignkey"
    )
    op.drop_column("plan_charge", "pack_holding_id")
    op.create_check_constraint(
        "ck_plan_charge_subject", "plan_charge", "(period_id IS NULL) <> (registration_id IS NULL)"
    )
    op.drop_index(op.f("ix_pack_movement_holding_id"), table_name="pack_movement")
    op.drop_index(op.f("ix_pack_movement_booking_id"), table_name="pack_movement")
    op.drop_table("pack_movement")
    op.drop_index(op.f("ix_pack_holding_user_id"), table_name="pack_holding")
    op.drop_index(op.f("ix_pack_holding_pack_id"), table_name="pack_holding")
    op.drop_index(op.f("ix_pack_holding_organisation_id"), table_name="pack_holding")
    op.drop_index("ix_pack_holding_holder", table_name="pack_holding")
    op.drop_table("pack_holding")
    op.drop_index(op.f("ix_pack_place_id"), table_name="pack")
    op.drop_table("pack")
