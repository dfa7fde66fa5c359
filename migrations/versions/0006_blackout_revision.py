"""blackouts move the catalogue revision counter too

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:30:00.000000

A booking's catalogue copy (booking.snapshots) now holds its place's blackouts, so a change to
them must move the counter like a change to opening hours does (bump_catalogue_revision() is
the function of 0005).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE catalogue_revision SET value = value + 1 WHERE id = 1"


def upgrade() -> None:
    op.execute(
        "CREATE TRIGGER blackout_catalogue_revision AFTER INSERT OR UPDATE OR DELETE "
        "ON blackout FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_revision()"
    )
    # Copies kept before this revision hold no blackouts: make every worker reload.
    op.execute(BUMP)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS blackout_catalogue_revision ON blackout")
