"""Wallet top-ups: money a person pays by card into their wallet at a place

Revision ID: 0039
Revises: 0037
Create Date: 2026-12-05 16:00:00.000000

wallet_top_up: one PaymentIntent each (pending, succeeded or canceled); not invoiced (a wallet is
a multi-purpose voucher: VAT is due when it is spent).
wallet_movement.kind gains 'top_up'; wallet_movement.top_up_id (unique): the top-up a movement
credited, so a top-up is credited once at most.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0039"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('manager_credit', 'refund_credit', 'spend', 'give_back')"
KINDS_AFTER = "kind IN ('manager_credit', 'refund_credit', 'spend', 'give_back', 'top_up')"


def upgrade() -> None:
    op.create_table(
        "wallet_top_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("intent_id", sa.String(length=100), nullable=True),
        sa.Column("client_secret", sa.String(length=200), nullable=True),
        sa.Column("paid_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name="ck_wallet_top_up_amount"),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'canceled')", name="ck_wallet_top_up_status"
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_wallet_top_up_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_wallet_top_up_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_top_up")),
        sa.UniqueConstraint("intent_id", name=op.f("uq_wallet_top_up_intent_id")),
    )
    op.create_index(op.f("ix_wallet_top_up_place_id"), "wallet_top_up", ["place_id"])
    op.create_index(op.f("ix_wallet_top_up_user_id"), "wallet_top_up", ["user_id"])
    op.add_column("wallet_movement", sa.Column("top_up_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_wallet_movement_top_up_id_wallet_top_up"),
        "wallet_movement",
        "wallet_top_up",
        ["top_up_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_unique_constraint(
        op.f("uq_wallet_movement_top_up_id"), "wallet_movement", ["top_up_id"]
    )
    op.drop_constraint("ck_wallet_movement_kind", "wallet_movement", type_="check")
    op.create_check_constraint("ck_wallet_movement_kind", "wallet_movement", KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM wallet_movement WHERE kind = 'top_up'")
    op.drop_constraint("ck_wallet_movement_kind", "wallet_movement", type_="check")
    op.create_check_constraint("ck_wallet_movement_kind", "wallet_movement", KINDS_BEFORE)
    op.drop_constraint(op.f("uq_wallet_movement_top_up_id"), "wallet_movement", type_="unique")
    op.drop_constraint(
        op.f("fk_wallet_movement_top_up_id_wallet_top_up"), "wallet_movement", type_="foreignkey"
    )
    op.drop_column("wallet_movement", "top_up_id")
    op.drop_index(op.f("ix_wallet_top_up_user_id"), table_name="wallet_top_up")
    op.drop_index(op.f("ix_wallet_top_up_place_id"), table_name="wallet_top_up")
    op.drop_table("wallet_top_up")
