"""communes move the catalogue revision counter too

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-07 10:00:00.000000

Workers keep what searches found at the catalogue counter they read (booking.snapshots
.FoundMemo). A search of a town with no place in it looks around the commune of that name, so
loading the communes (``mutualab geo load-communes``: a delete and an insert) changes what
searches find, and must move the counter as a change to a place does (bump_catalogue_revision()
is the function of 0005). Truncating the table is such a change too.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0050"
down_revision: str | None = "0049"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TRIGGER commune_catalogue_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        "ON commune FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_revision()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS commune_catalogue_revision ON commune")
