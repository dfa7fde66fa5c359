"""Coupons: codes a place offers (a percentage or an amount off), and their uses

Revision ID: 0035
Revises: 0047
Create Date: 2026-12-05 12:40:00.000000

coupon: per place, unique code; validity days, overall and per-person limits, user types and
resources it is restricted to; ``uses`` moves by one conditional UPDATE, within ``max_uses``.
coupon_redemption: one use by a booking's payment (unique), given back when the booking ended
with nothing paid.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0035"
down_revision: str | None = "0047"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coupon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("percent_bp", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("max_uses_per_person", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("user_types", sa.JSON(), nullable=False),
        sa.Column("resource_ids", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(max_uses IS NULL OR max_uses > 0) AND (max_uses_per_person IS NULL OR max_uses_per_person > 0)",
            name="ck_coupon_limits",
        ),
        sa.CheckConstraint("(percent_bp IS NULL) <> (amount_cents IS NULL)", name="ck_coupon_kind"),
        sa.CheckConstraint(
            "amount_cents IS NULL OR (amount_cents > 0 AND amount_cents <= 100000000)",
            name="ck_coupon_amount",
        ),
        sa.CheckConstraint(
            "percent_bp IS NULL OR (percent_bp > 0 AND percent_bp <= 10000)",
            name="ck_coupon_percent",
        ),
        sa.CheckConstraint(
            "uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="ck_coupon_uses"
        ),
        sa.CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until",
            name="ck_coupon_dates",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_coupon_place_id_place"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon")),
        sa.UniqueConstraint("place_id", "code", name="uq_coupon_code"),
    )
    op.create_index(op.f("ix_coupon_place_id"), "coupon", ["place_id"], unique=False)
    op.create_table(
        "coupon_redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("released_at", DateTimeUTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_coupon_redemption_booking_id_booking"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupon.id"],
            name=op.f("fk_coupon_redemption_coupon_id_coupon"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment.id"],
            name=op.f("fk_coupon_redemption_payment_id_payment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_coupon_redemption_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemption")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_coupon_redemption_payment_id")),
    )
    op.create_index(
        op.f("ix_coupon_redemption_coupon_id"), "coupon_redemption", ["coupon_id"], unique=False
    )
    op.create_index(
        op.f("ix_coupon_redemption_user_id"), "coupon_redemption", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_coupon_redemption_user_id"), table_name="coupon_redemption")
    op.drop_index(op.f("ix_coupon_redemption_coupon_id"), table_name="coupon_redemption")
    op.drop_table("coupon_redemption")
    op.drop_index(op.f("ix_coupon_place_id"), table_name="coupon")
    op.drop_table("coupon")
