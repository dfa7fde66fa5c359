"""Find by time and place: tolerant town search, photos, where and when to pay on site

Revision ID: 0023
Revises: 0024
Create Date: 2026-12-05 07:00:00.000000

unaccent and pg_trgm: the home page's search matches towns with accents left out and typos
("Lanion" finds Lannion; resources.place_search). photo: one picture per place and per
resource, its files on disk (resources.photos). place.on_site_payment: where and when a person
pays on site, shown with the quote.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0023"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column(
        "place",
        sa.Column("on_site_payment", sa.String(length=500), nullable=False, server_default=""),
    )
    op.create_table(
        "photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("alt", sa.String(length=300), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_photo_place_id_place"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_photo_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo")),
        sa.UniqueConstraint("key", name=op.f("uq_photo_key")),
    )
    op.create_index(
        "uq_photo_place",
        "photo",
        ["place_id"],
        unique=True,
        postgresql_where=sa.text("resource_id IS NULL"),
    )
    op.create_index(
        "uq_photo_resource",
        "photo",
        ["resource_id"],
        unique=True,
        postgresql_where=sa.text("resource_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_photo_resource", table_name="photo")
    op.drop_index("uq_photo_place", table_name="photo")
    op.drop_table("photo")
    op.drop_column("place", "on_site_payment")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
    op.execute("DROP EXTENSION IF EXISTS unaccent")
