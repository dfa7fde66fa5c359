"""Communes of France: any town as the centre of a search, offline

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-05 10:00:00.000000

commune: every French commune (INSEE code, name, postcodes, a centre), reference rows filled
by `mutualab geo load-communes` (run by `mutualab db upgrade` and the demo) from the
registry packages (resources.commune_data); the search reads it when no place is in the town
typed ("Perros-Guirec", "22700").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commune",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("search_name", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=3), nullable=False),
        sa.Column("postcodes", postgresql.ARRAY(sa.String(length=5)), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("centre_approximate", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="ck_commune_lat"
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="ck_commune_lon"
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_commune")),
    )
    op.create_index(
        "ix_commune_search_name",
        "commune",
        ["search_name"],
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )
    op.create_index("ix_commune_postcodes", "commune", ["postcodes"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_commune_postcodes", table_name="commune")
    op.drop_index("ix_commune_search_name", table_name="commune")
    op.drop_table("commune")
