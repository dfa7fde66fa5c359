"""Wallet: a person's balance at a place, its movements, and what a payment took from it

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 13:00:00.000000

wallet: one per person and place, balance_cents >= 0 (spent by one conditional UPDATE).
wallet_movement: every credit (by a manager with a reason, by a refund), spending and giving
back, with the balance it left.
payment.wallet_cents / wallet_refunded_cents: the quote's share paid from the wallet, and given
back since; payment method 'wallet' when the wallet pays the whole quote.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHODS_BEFORE = "method IN ('card', 'on_site', 'invoice', 'free')"
METHODS_AFTER = "method IN ('card', 'on_site', 'invoice', 'free', 'wallet')"


def upgrade() -> None:
    op.create_table(
        "wallet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("balance_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("balance_cents >= 0", name="ck_wallet_balance"),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_wallet_place_id_place"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_wallet_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet")),
        sa.UniqueConstraint("place_id", "user_id", name="uq_wallet_owner"),
    )
    op.create_index(op.f("ix_wallet_place_id"), "wallet", ["place_id"], unique=False)
    op.create_index(op.f("ix_wallet_user_id"), "wallet", ["user_id"], unique=False)
    op.create_table(
        "wallet_movement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("balance_after_cents", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('manager_credit', 'refund_credit', 'spend', 'give_back')",
            name="ck_wallet_movement_kind",
        ),
        sa.CheckConstraint("amount_cents <> 0", name="ck_wallet_movement_amount"),
        sa.CheckConstraint("balance_after_cents >= 0", name="ck_wallet_movement_balance"),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_wallet_movement_booking_id_booking"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["user_account.id"],
            name=op.f("fk_wallet_movement_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment.id"],
            name=op.f("fk_wallet_movement_payment_id_payment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallet.id"],
            name=op.f("fk_wallet_movement_wallet_id_wallet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_movement")),
    )
    op.create_index(
        op.f("ix_wallet_movement_wallet_id"), "wallet_movement", ["wallet_id"], unique=False
    )
    op.add_column(
        "payment", sa.Column("wallet_cents", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "payment",
        sa.Column("wallet_refunded_cents", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_check_constraint(
        "ck_payment_wallet",
        "payment",
        "wallet_refunded_cents >= 0 AND wallet_refunded_cents <= wallet_cents",
    )
    op.drop_constraint("ck_payment_method", "payment", type_="check")
    op.create_check_constraint("ck_payment_method", "payment", METHODS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM wallet_movement")
    op.execute("UPDATE payment SET method = 'on_site' WHERE method = 'wallet'")
    op.drop_constraint("ck_payment_method", "payment", type_="check")
    op.create_check_constraint("ck_payment_method", "payment", METHODS_BEFORE)
    op.drop_constraint("ck_payment_wallet", "payment", type_="check")
    op.drop_column("payment", "wallet_refunded_cents")
    op.drop_column("payment", "wallet_cents")
    op.drop_index(op.f("ix_wallet_movement_wallet_id"), table_name="wallet_movement")
    op.drop_table("wallet_movement")
    op.drop_index(op.f("ix_wallet_user_id"), table_name="wallet")
    op.drop_index(op.f("ix_wallet_place_id"), table_name="wallet")
    op.drop_table("wallet")
