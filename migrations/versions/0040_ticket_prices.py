"""Ticket prices of programme sessions; a registration's ticket charged as a plan charge

Revision ID: 0040
Revises: 0038
Create Date: 2026-12-05 16:00:00.000000

programme_session: ticket prices per user type (excl. VAT, with their VAT-included display),
the VAT regime, and ``priced`` (the free/paid filter).
plan_charge: a charge is of a membership period or of a registration's ticket (one of them);
``refunded_cents`` counts what was given back, ``settled_at`` when a cancelled ticket's
refund was decided (once).
refund: of a booking's payment or of a charge (one of them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0040"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "programme_session",
        sa.Column("ticket_prices", sa.JSON(), server_default="[]", nullable=False),
    )
    op.add_column(
        "programme_session",
        sa.Column(
            "ticket_vat_kind", sa.String(length=20), server_default="taxable", nullable=False
        ),
    )
    op.add_column(
        "programme_session",
        sa.Column("ticket_vat_rate_bp", sa.Integer(), server_default="2000", nullable=False),
    )
    op.add_column(
        "programme_session",
        sa.Column("ticket_vat_mention", sa.String(length=300), nullable=True),
    )
    op.add_column(
        "programme_session",
        sa.Column("priced", sa.Boolean(), server_default="false", nullable=False),
    )
    op.alter_column("plan_charge", "period_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("plan_charge", sa.Column("registration_id", sa.Integer(), nullable=True))
    op.add_column(
        "plan_charge",
        sa.Column("refunded_cents", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("plan_charge", sa.Column("settled_at", DateTimeUTC(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_plan_charge_registration_id_programme_registration"),
        "plan_charge",
        "programme_registration",
        ["registration_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_unique_constraint(
        op.f("uq_plan_charge_registration_id"), "plan_charge", ["registration_id"]
    )
    op.create_check_constraint(
        "ck_plan_charge_subject", "plan_charge", "(period_id IS NULL) <> (registration_id IS NULL)"
    )
    op.create_check_constraint(
        "ck_plan_charge_refunded",
        "plan_charge",
        "refunded_cents >= 0 AND refunded_cents <= amount_cents",
    )
    op.alter_column("refund", "payment_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("refund", sa.Column("plan_charge_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_refund_plan_charge_id_plan_charge"),
        "refund",
        "plan_charge",
        ["plan_charge_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index(op.f("ix_refund_plan_charge_id"), "refund", ["plan_charge_id"], unique=False)
    op.create_check_constraint(
        "ck_refund_subject", "refund", "(payment_id IS NULL) <> (plan_charge_id IS NULL)"
    )


def downgrade() -> None:
    op.drop_constraint("ck_refund_subject", "refund", type_="check")
    op.drop_index(op.f("ix_refund_plan_charge_id"), table_name="refund")
    op.drop_constraint(op.f("fk_refund_plan_charge_id_plan_charge"), "refund", type_="foreignkey")
    op.drop_column("refund", "plan_charge_id")
    op.alter_column("refund", "payment_id", existing_type=sa.Integer(), nullable=False)
    op.drop_constraint("ck_plan_charge_refunded", "plan_charge", type_="check")
    op.drop_constraint("ck_plan_charge_subject", "plan_charge", type_="check")
    op.drop_constraint(op.f("uq_plan_charge_registration_id"), "plan_charge", type_="unique")
    op.drop_constraint(
        op.f("fk_plan_charge_registration_id_programme_registration"),
        "plan_charge",
        type_="foreignkey",
    )
    op.drop_column("plan_charge", "settled_at")
    op.drop_column("plan_charge", "refunded_cents")
    op.drop_column("plan_charge", "registration_id")
    op.alter_column("plan_charge", "period_id", existing_type=sa.Integer(), nullable=False)
    for column in ("priced", "ticket_vat_mention", "ticket_vat_rate_bp", "ticket_vat_kind"):
        op.drop_column("programme_session", column)
    op.drop_column("programme_session", "ticket_prices")
