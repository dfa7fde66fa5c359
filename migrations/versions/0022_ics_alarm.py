"""Places: the reminder their bookings' calendar files carry

Revision ID: 0022
Revises: 0025
Create Date: 2026-12-05 07:00:00.000000

place.ics_alarm_minutes: how long before a booking the VALARM of its .ics (download, feed,
e-mail attachment) reminds of it; 0 for none, at most a week; 60 by default.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "place",
        sa.Column("ics_alarm_minutes", sa.Integer(), nullable=False, server_default="60"),
    )
    op.create_check_constraint(
        "ck_place_ics_alarm_minutes", "place", "ics_alarm_minutes BETWEEN 0 AND 10080"
    )


def downgrade() -> None:
    op.drop_constraint("ck_place_ics_alarm_minutes", "place", type_="check")
    op.drop_column("place", "ics_alarm_minutes")
