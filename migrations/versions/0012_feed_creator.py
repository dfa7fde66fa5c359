"""calendar feeds remember who created them

An organisation's feed works only while the admin who created it (and saw its address) is
still one of its admins. Organisation feeds created before have no known creator: they stop
working, and the organisation's admins create new ones.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calendar_feed", sa.Column("created_by_user_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_calendar_feed_created_by_user_id_user_account"),
        "calendar_feed",
        "user_account",
        ["created_by_user_id"],
        ["id"],
        ondelete="SET NULL",
    )
    # A user's own feed was created by that user.
    op.execute("UPDATE calendar_feed SET created_by_user_id = user_id WHERE user_id IS NOT NULL")


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_calendar_feed_created_by_user_id_user_account"),
        "calendar_feed",
        type_="foreignkey",
    )
    op.drop_column("calendar_feed", "created_by_user_id")
