"""Series: dates booked when the horizon opens, their billing; places: school-holiday zone

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-05 07:00:00.000000

booking_series.pending_dates: the local dates beyond the booking horizon when the series was
made, booked by the workers once the horizon reaches them. booking_series.payment_method and
purchase_order: how those later dates are billed (as the first ones were). place.school_zone:
the school-holiday zone (A, B or C) when its postcode does not say it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "booking_series",
        sa.Column("pending_dates", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "booking_series", sa.Column("payment_method", sa.String(length=20), nullable=True)
    )
    op.add_column(
        "booking_series", sa.Column("purchase_order", sa.String(length=100), nullable=True)
    )
    op.add_column("place", sa.Column("school_zone", sa.String(length=1), nullable=True))
    op.create_check_constraint(
        "ck_place_school_zone", "place", "school_zone IS NULL OR school_zone IN ('A', 'B', 'C')"
    )


def downgrade() -> None:
    op.drop_constraint("ck_place_school_zone", "place", type_="check")
    op.drop_column("place", "school_zone")
    op.drop_column("booking_series", "purchase_order")
    op.drop_column("booking_series", "payment_method")
    op.drop_column("booking_series", "pending_dates")
