"""Accounting: a place's chart of accounts and fiscal year; closed periods with their archives

Revision ID: 0047
Revises: 0044
Create Date: 2026-12-05 13:00:00.000000

accounting_settings: the first month of the place's fiscal year and its account numbers (the
FEC is booked to them). closed_period: a month or fiscal year closed for issuing, who closed it
and when, and the ZIP archive made then with its SHA-256; never changed nor deleted (trigger).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0047"
down_revision: str | None = "0044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A closed period is the record of a closing and of the archive made then: the application has
# no update path, and the database refuses one too (verify also checks each archive's bytes).
PG_FUNCTION = """
CREATE FUNCTION closed_period_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'closed periods and their archives cannot be changed or deleted'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""
PG_TRIGGER = (
    "CREATE TRIGGER closed_period_immutable BEFORE UPDATE OR DELETE ON closed_period "
    "FOR EACH ROW EXECUTE FUNCTION closed_period_immutable()"
)


def upgrade() -> None:
    op.create_table(
        "accounting_settings",
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_start_month", sa.Integer(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fiscal_year_start_month BETWEEN 1 AND 12",
            name="ck_accounting_settings_start",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_accounting_settings_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("place_id", name=op.f("pk_accounting_settings")),
    )
    op.create_table(
        "closed_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("closed_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("closed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("archive_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.Column("archive_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('month', 'year')", name="ck_closed_period_kind"),
        sa.CheckConstraint("first_day <= last_day", name="ck_closed_period_days"),
        sa.ForeignKeyConstraint(
            ["closed_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_closed_period_closed_by_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_closed_period_place_id_place"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closed_period")),
        sa.UniqueConstraint("place_id", "kind", "first_day", name="uq_closed_period"),
    )
    op.create_index(op.f("ix_closed_period_place_id"), "closed_period", ["place_id"], unique=False)
    op.execute(PG_FUNCTION)
    op.execute(PG_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS closed_period_immutable ON closed_period")
    op.execute("DROP FUNCTION IF EXISTS closed_period_immutable()")
    op.drop_index(op.f("ix_closed_period_place_id"), table_name="closed_period")
    op.drop_table("closed_period")
    op.drop_table("accounting_settings")
