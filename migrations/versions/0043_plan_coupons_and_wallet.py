"""Memberships paid with a coupon restricted to plans and with the wallet

Revision ID: 0043
Revises: 0039
Create Date: 2026-12-05 16:00:00.000000

coupon.plan_ids: the plans a coupon discounts (empty: it is for bookings, not plans).
coupon_redemption: a use names a booking's payment or a plan charge (exactly one).
wallet_movement.plan_charge_id: a membership period the wallet paid (or was given back for).
plan_charge.wallet_cents / wallet_refunded_cents: the period's share paid from the wallet, and
given back since; plan_charge method 'wallet' when the wallet pays the whole period.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHODS_BEFORE = "method IN ('card', 'on_site', 'invoice', 'free')"
METHODS_AFTER = "method IN ('card', 'on_site', 'invoice', 'free', 'wallet')"
SUBJECT = (
    "(payment_id IS NULL) <> (plan_charge_id IS NULL) "
    "AND (booking_id IS NULL) = (payment_id IS NULL)"
)


def upgrade() -> None:
    op.add_column("coupon", sa.Column("plan_ids", sa.JSON(), server_default="[]", nullable=False))
    op.alter_column("coupon_redemption", "booking_id", existing_type=sa.Integer(), nullable=True)
    op.alter_column("coupon_redemption", "payment_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("coupon_redemption", sa.Column("plan_charge_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_coupon_redemption_plan_charge_id_plan_charge"),
        "coupon_redemption",
        "plan_charge",
        ["plan_charge_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_unique_constraint(
        op.f("uq_coupon_redemption_plan_charge_id"), "coupon_redemption", ["plan_charge_id"]
    )
    op.create_check_constraint("ck_coupon_redemption_subject", "coupon_redemption", SUBJECT)
    op.add_column("wallet_movement", sa.Column("plan_charge_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_wallet_movement_plan_charge_id_plan_charge"),
        "wallet_movement",
        "plan_charge",
        ["plan_charge_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.add_column(
        "plan_charge", sa.Column("wallet_cents", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "plan_charge",
        sa.Column("wallet_refunded_cents", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_check_constraint(
        "ck_plan_charge_wallet",
        "plan_charge",
        "wallet_refunded_cents >= 0 AND wallet_refunded_cents <= wallet_cents",
    )
    op.drop_constraint("ck_plan_charge_method", "plan_charge", type_="check")
    op.create_check_constraint("ck_plan_charge_method", "plan_charge", METHODS_AFTER)


def downgrade() -> None:
    # Only what a booking did can go back: a membership's coupon use or wallet spending would
    # be lost, so they are refused by the NOT NULL and check constraints restored below.
    op.drop_constraint("ck_plan_charge_method", "plan_charge", type_="check")
    op.create_check_constraint("ck_plan_charge_method", "plan_charge", METHODS_BEFORE)
    op.drop_constraint("ck_plan_charge_wallet", "plan_charge", type_="check")
    op.drop_column("plan_charge", "wallet_refunded_cents")
    op.drop_column("plan_charge", "wallet_cents")
    op.drop_constraint(
        op.f("fk_wallet_movement_plan_charge_id_plan_charge"), "wallet_movement", type_="foreignkey"
    )
    op.drop_column("wallet_movement", "plan_charge_id")
    op.drop_constraint("ck_coupon_redemption_subject", "coupon_redemption", type_="check")
    op.drop_constraint(
        op.f("uq_coupon_redemption_plan_charge_id"), "coupon_redemption", type_="unique"
    )
    op.drop_constraint(
        op.f("fk_coupon_redemption_plan_charge_id_plan_charge"),
        "coupon_redemption",
        type_="foreignkey",
    )
    op.drop_column("coupon_redemption", "plan_charge_id")
    op.alter_column("coupon_redemption", "payment_id", existing_type=sa.Integer(), nullable=False)
    op.alter_column("coupon_redemption", "booking_id", existing_type=sa.Integer(), nullable=False)
    op.drop_column("coupon", "plan_ids")
