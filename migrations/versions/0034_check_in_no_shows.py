"""Check-in and no-shows: when a person arrived, and bookings released when nobody came

Revision ID: 0034
Revises: 0030
Create Date: 2026-12-05 10:00:00.000000

booking.checked_in_at / checked_in_by_user_id: marked by staff or at the place's kiosk.
booking.status 'no_show': a confirmed booking nobody checked in N minutes after its start,
released by the job bookings.release_no_shows (units freed, counted per person).
place.no_show_release_minutes: that N (NULL: the place never releases).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0034"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "status IN ('held', 'pending_approval', 'confirmed', 'cancelled', 'refused', 'expired')"
AFTER = (
    "status IN ('held', 'pending_approval', 'confirmed', 'cancelled', 'refused', 'expired', "
    "'no_show')"
)


def upgrade() -> None:
    op.add_column("booking", sa.Column("checked_in_at", DateTimeUTC(timezone=True), nullable=True))
    op.add_column("booking", sa.Column("checked_in_by_user_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_booking_checked_in_by_user_id_user_account"),
        "booking",
        "user_account",
        ["checked_in_by_user_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.drop_constraint("ck_booking_status", "booking", type_="check")
    op.create_check_constraint("ck_booking_status", "booking", AFTER)
    op.add_column("place", sa.Column("no_show_release_minutes", sa.Integer(), nullable=True))
    op.create_check_constraint(
        "ck_place_no_show_release_minutes",
        "place",
        "no_show_release_minutes IS NULL OR no_show_release_minutes BETWEEN 5 AND 1440",
    )


def downgrade() -> None:
    op.drop_constraint("ck_place_no_show_release_minutes", "place", type_="check")
    op.drop_column("place", "no_show_release_minutes")
    op.execute("UPDATE booking SET status = 'cancelled' WHERE status = 'no_show'")
    op.drop_constraint("ck_booking_status", "booking", type_="check")
    op.create_check_constraint("ck_booking_status", "booking", BEFORE)
    op.drop_constraint(
        op.f("fk_booking_checked_in_by_user_id_user_account"), "booking", type_="foreignkey"
    )
    op.drop_column("booking", "checked_in_by_user_id")
    op.drop_column("booking", "checked_in_at")
