"""catalogue revision counter, moved by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:25:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a booking checks: a change to any of these moves the counter in the same transaction.
WATCHED = (
    "place",
    "resource",
    "resource_unit",
    "opening_hour",
    "place_exception",
    "booking_policy",
)
BUMP = "UPDATE catalogue_revision SET value = value + 1 WHERE id = 1"
PG_FUNCTION = f"""
CREATE FUNCTION bump_catalogue_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {BUMP};
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "catalogue_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_catalogue_revision_single"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_revision")),
    )
    op.execute("INSERT INTO catalogue_revision (id, value) VALUES (1, 0)")
    op.execute(PG_FUNCTION)
    for table in WATCHED:
        # Once per statement, not per row: a bulk change costs one bump.
        op.execute(
            f"CREATE TRIGGER {table}_catalogue_revision AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_revision()"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_catalogue_revision ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_catalogue_revision()")
    op.drop_table("catalogue_revision")
