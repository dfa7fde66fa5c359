"""A cancelled booking keeps the included minutes its refund tier did not give back

Revision ID: 0045
Revises: 0043
Create Date: 2026-12-05 17:10:00.000000

payment.included_kept_minutes: of the minutes a membership included in a booking, those a
cancellation kept by the place's refund tiers (0 for a live booking, and for one given back
whole). The memberships' allowances count them as used, as they count live bookings.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payment",
        sa.Column("included_kept_minutes", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_check_constraint("ck_payment_included_kept", "payment", "included_kept_minutes >= 0")


def downgrade() -> None:
    op.drop_constraint("ck_payment_included_kept", "payment", type_="check")
    op.drop_column("payment", "included_kept_minutes")
