"""Reduced rates granted per place; organisations verified before their type and invoicing apply

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 01:40:00.000000

rate_grant: a reduced rate a place's manager granted a user, valid at that place only (the
platform-wide rate stays on user_account.user_type_code, set by admins). organisation.verified_*
(an admin verified it: everywhere) and organisation_verification (a place verified it for its
own prices). Existing organisations start unverified: an admin verifies them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "rate_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("user_type_code", sa.String(length=40), nullable=False),
        sa.Column("granted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", DateTimeUTC(timezone=True), nullable=False),
        _fk("rate_grant", "user_id", "user_account.id", "CASCADE"),
        _fk("rate_grant", "place_id", "place.id", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_type_code"],
            ["user_type.code"],
            name=op.f("fk_rate_grant_user_type_code_user_type"),
        ),
        _fk("rate_grant", "granted_by_user_id", "user_account.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_grant")),
        sa.UniqueConstraint("user_id", "place_id", name="uq_rate_grant"),
    )
    op.create_index(op.f("ix_rate_grant_user_id"), "rate_grant", ["user_id"], unique=False)
    op.create_index(op.f("ix_rate_grant_place_id"), "rate_grant", ["place_id"], unique=False)

    op.add_column("organisation", sa.Column("verified_at", DateTimeUTC(timezone=True)))
    op.add_column("organisation", sa.Column("verified_by_user_id", sa.Integer()))
    op.create_foreign_key(
        op.f("fk_organisation_verified_by_user_id_user_account"),
        "organisation",
        "user_account",
        ["verified_by_user_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_table(
        "organisation_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("verified_by_user_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", DateTimeUTC(timezone=True), nullable=False),
        _fk("organisation_verification", "organisation_id", "organisation.id", "CASCADE"),
        _fk("organisation_verification", "place_id", "place.id", "CASCADE"),
        _fk("organisation_verification", "verified_by_user_id", "user_account.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_verification")),
        sa.UniqueConstraint("organisation_id", "place_id", name="uq_organisation_verification"),
    )
    op.create_index(
        op.f("ix_organisation_verification_organisation_id"),
        "organisation_verification",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_organisation_verification_place_id"),
        "organisation_verification",
        ["place_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("organisation_verification")
    op.drop_constraint(
        op.f("fk_organisation_verified_by_user_id_user_account"), "organisation", type_="foreignkey"
    )
    op.drop_column("organisation", "verified_by_user_id")
    op.drop_column("organisation", "verified_at")
    op.drop_table("rate_grant")
