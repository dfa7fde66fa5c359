"""catalogue: places, hours, resources, units, blackouts, admin tokens

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:14:28.520379
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("admin_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_admin_token_token_sha256"), ["token_sha256"], unique=True
        )

    op.create_table(
        "place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=False),
        sa.Column("town", sa.String(length=120), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column("operator_name", sa.String(length=200), nullable=False),
        sa.Column("operator_siret", sa.String(length=14), nullable=True),
        sa.Column("holiday_subdivision", sa.String(length=3), nullable=True),
        sa.Column("closed_on_public_holidays", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="ck_place_lat"
        ),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="ck_place_lon"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_postcode"), ["postcode"], unique=False)
        batch_op.create_index(batch_op.f("ix_place_slug"), ["slug"], unique=True)
        batch_op.create_index(batch_op.f("ix_place_town"), ["town"], unique=False)

    op.create_table(
        "opening_hour",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_opening_hour_weekday"),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("opening_hour", schema=None) as batch_op:
        batch_op.create_index(
            "ix_opening_hour_place_weekday", ["place_id", "weekday"], unique=False
        )

    op.create_table(
        "place_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("place_id", "day", name="uq_place_exception_day"),
    )
    with op.batch_alter_table("place_exception", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_exception_place_id"), ["place_id"], unique=False)

    op.create_table(
        "resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=5000), nullable=False),
        sa.Column("photo_url", sa.String(length=500), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("min_minutes", sa.Integer(), nullable=False),
        sa.Column("max_minutes", sa.Integer(), nullable=True),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("max_advance_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("buffer_minutes >= 0", name="ck_resource_buffer"),
        sa.CheckConstraint("capacity >= 1 AND capacity <= 1000", name="ck_resource_capacity"),
        sa.CheckConstraint(
            "max_minutes IS NULL OR max_minutes >= min_minutes", name="ck_resource_max"
        ),
        sa.CheckConstraint("min_minutes >= slot_minutes", name="ck_resource_min"),
        sa.CheckConstraint("slot_minutes >= 5", name="ck_resource_slot"),
        sa.ForeignKeyConstraint(["place_id"], ["place.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.create_index("ix_resource_place_kind", ["place_id", "kind"], unique=False)

    op.create_table(
        "blackout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ck_blackout_range"),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("blackout", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blackout_resource_start", ["resource_id", "starts_at"], unique=False
        )

    op.create_table(
        "resource_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_id", "position", name="uq_resource_unit_pos"),
    )
    with op.batch_alter_table("resource_unit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_unit_resource_id"), ["resource_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("resource_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_unit_resource_id"))

    op.drop_table("resource_unit")
    with op.batch_alter_table("blackout", schema=None) as batch_op:
        batch_op.drop_index("ix_blackout_resource_start")

    op.drop_table("blackout")
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_place_kind")

    op.drop_table("resource")
    with op.batch_alter_table("place_exception", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_exception_place_id"))

    op.drop_table("place_exception")
    with op.batch_alter_table("opening_hour", schema=None) as batch_op:
        batch_op.drop_index("ix_opening_hour_place_weekday")

    op.drop_table("opening_hour")
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_town"))
        batch_op.drop_index(batch_op.f("ix_place_slug"))
        batch_op.drop_index(batch_op.f("ix_place_postcode"))

    op.drop_table("place")
    with op.batch_alter_table("admin_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_token_token_sha256"))

    op.drop_table("admin_token")
