"""payments keep the start they paid for; price lists move the catalogue revision

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-05 03:00:00.000000

``payment.paid_starts_at``: the booking's start when it was paid for. A cancellation's refund
tier is counted from the earlier of it and the booking's current start, so moving a booking a
week later and then cancelling never buys a better tier. Existing payments take their
booking's current start (the best that is known).

``price_list`` and ``price_rate`` now move the catalogue revision counter (migration 0005), like
the catalogue tables: billing keeps a per-worker view of which resources are priced, trusted
while the counter has not moved, so that a free booking costs no extra statement.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRICE_TABLES = ("price_list", "price_rate")


def upgrade() -> None:
    op.add_column("payment", sa.Column("paid_starts_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE payment SET paid_starts_at = booking.starts_at "
        "FROM booking WHERE booking.id = payment.booking_id"
    )
    op.alter_column("payment", "paid_starts_at", nullable=False)
    for table in PRICE_TABLES:
        # Once per statement, as 0005's triggers: replacing a list's rates costs one bump.
        op.execute(
            f"CREATE TRIGGER {table}_catalogue_revision AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_revision()"
        )


def downgrade() -> None:
    for table in PRICE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_revision ON {table}")
    op.drop_column("payment", "paid_starts_at")
