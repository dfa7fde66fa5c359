"""The front desk: walk-ins without a log-in, and the money a place receives

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-05 10:00:00.000000

user_account.guest_place_id and phone: a person a manager books for at the front desk, with no
password (so no log-in), recorded by that place. payment_receipt: each sum received for a
payment (means, reference such as a cheque's number, date), never changed; a mistaken one is
reversed by a receipt of the opposite amount that names it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0030"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user_account", sa.Column("guest_place_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_user_account_guest_place_id_place",
        "user_account",
        "place",
        ["guest_place_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("user_account", sa.Column("phone", sa.String(length=30), nullable=True))
    op.create_table(
        "payment_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("means", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "means IN ('cash', 'cheque', 'card_terminal', 'transfer')",
            name="ck_payment_receipt_means",
        ),
        sa.CheckConstraint(
            "(reverses_id IS NULL AND amount_cents > 0) "
            "OR (reverses_id IS NOT NULL AND amount_cents < 0)",
            name="ck_payment_receipt_amount",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment.id"],
            name=op.f("fk_payment_receipt_payment_id_payment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_payment_receipt_recorded_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["payment_receipt.id"],
            name=op.f("fk_payment_receipt_reverses_id_payment_receipt"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_receipt")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_payment_receipt_reverses_id")),
    )
    op.create_index(op.f("ix_payment_receipt_payment_id"), "payment_receipt", ["payment_id"])


def downgrade() -> None:
    op.drop_index("ix_payment_receipt_payment_id", table_name="payment_receipt")
    op.drop_table("payment_receipt")
    op.drop_column("user_account", "phone")
    op.drop_constraint("fk_user_account_guest_place_id_place", "user_account", type_="foreignkey")
    op.drop_column("user_account", "guest_place_id")
