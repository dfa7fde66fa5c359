"""Invoices grouped per purchase order and billing period

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-05 10:00:00.000000

place_billing.invoice_period (booking, month, quarter) and invoice_issue (at_booking,
period_start, period_end): how a place invoices the bookings paid on invoice. invoice_line: the
sessions a grouped invoice bills, one payment in one grouped invoice at most, never changed
(the trigger of issued documents).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "place_billing",
        sa.Column("invoice_period", sa.String(length=10), nullable=False, server_default="booking"),
    )
    op.add_column(
        "place_billing",
        sa.Column(
            "invoice_issue", sa.String(length=20), nullable=False, server_default="at_booking"
        ),
    )
    op.create_check_constraint(
        "ck_place_billing_period",
        "place_billing",
        "invoice_period IN ('booking', 'month', 'quarter')",
    )
    op.create_check_constraint(
        "ck_place_billing_issue",
        "place_billing",
        "invoice_issue IN ('at_booking', 'period_start', 'period_end')",
    )
    op.create_table(
        "invoice_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("billing_document.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "payment_id",
            sa.Integer(),
            sa.ForeignKey("payment.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "booking_id",
            sa.Integer(),
            sa.ForeignKey("booking.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("total_incl_vat_cents", sa.Integer(), nullable=False),
        sa.UniqueConstraint("payment_id", name="uq_invoice_line_payment"),
    )
    op.create_index("ix_invoice_line_document_id", "invoice_line", ["document_id"])
    op.create_index("ix_invoice_line_booking_id", "invoice_line", ["booking_id"])
    # What an issued invoice bills is as immutable as the invoice (the function of 0004).
    op.execute(
        "CREATE TRIGGER invoice_line_immutable BEFORE UPDATE OR DELETE ON invoice_line "
        "FOR EACH ROW EXECUTE FUNCTION billing_document_immutable()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS invoice_line_immutable ON invoice_line")
    op.drop_index("ix_invoice_line_booking_id", table_name="invoice_line")
    op.drop_index("ix_invoice_line_document_id", table_name="invoice_line")
    op.drop_table("invoice_line")
    op.drop_constraint("ck_place_billing_issue", "place_billing", type_="check")
    op.drop_constraint("ck_place_billing_period", "place_billing", type_="check")
    op.drop_column("place_billing", "invoice_issue")
    op.drop_column("place_billing", "invoice_period")
