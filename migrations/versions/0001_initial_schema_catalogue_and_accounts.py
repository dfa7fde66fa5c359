"""initial schema: catalogue and accounts

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:25:28.626977
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_USER_TYPES = [
    ("citizen", "Particulier", "Citizen", False, False),
    ("student", "Étudiant", "Student", True, False),
    ("job_seeker", "Demandeur d'emploi", "Job seeker", True, False),
    ("association", "Association", "Association", False, True),
    ("school", "Établissement scolaire", "School", False, True),
    ("company", "Entreprise", "Company", False, True),
    ("public_body", "Organisme public", "Public body", False, True),
]


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place")),
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
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_opening_hour_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_hour")),
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
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_place_exception_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_exception")),
        sa.UniqueConstraint("place_id", "day", name="uq_place_exception_day"),
    )
    with op.batch_alter_table("place_exception", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_exception_place_id"), ["place_id"], unique=False)

    op.create_table(
        "training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_training_place_id_place"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training")),
    )
    with op.batch_alter_table("training", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_place_id"), ["place_id"], unique=False)

    op.create_table(
        "user_type",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label_fr", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("reduced", sa.Boolean(), nullable=False),
        sa.Column("for_organisations", sa.Boolean(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_user_type_place_id_place"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_user_type")),
    )
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("user_type_code", sa.String(length=40), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("vat_number", sa.String(length=20), nullable=True),
        sa.Column("billing_address", sa.String(length=300), nullable=False),
        sa.Column("billing_postcode", sa.String(length=10), nullable=False),
        sa.Column("billing_town", sa.String(length=120), nullable=False),
        sa.Column("billing_email", sa.String(length=254), nullable=True),
        sa.Column("requires_purchase_order", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_type_code"],
            ["user_type.code"],
            name=op.f("fk_organisation_user_type_code_user_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisation_siren"), ["siren"], unique=False)

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
        sa.Column("required_training_id", sa.Integer(), nullable=True),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("buffer_minutes >= 0", name="ck_resource_buffer"),
        sa.CheckConstraint("capacity >= 1 AND capacity <= 1000", name="ck_resource_capacity"),
        sa.CheckConstraint(
            "max_minutes IS NULL OR max_minutes >= min_minutes", name="ck_resource_max"
        ),
        sa.CheckConstraint("min_minutes >= slot_minutes", name="ck_resource_min"),
        sa.CheckConstraint("slot_minutes >= 5", name="ck_resource_slot"),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_resource_place_id_place"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["required_training_id"],
            ["training.id"],
            name=op.f("fk_resource_required_training_id_training"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource")),
    )
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.create_index("ix_resource_place_kind", ["place_id", "kind"], unique=False)

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("user_type_code", sa.String(length=40), nullable=False),
        sa.Column("requested_user_type_code", sa.String(length=40), nullable=True),
        sa.Column("is_platform_admin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_user_type_code"],
            ["user_type.code"],
            name=op.f("fk_user_account_requested_user_type_code_user_type"),
        ),
        sa.ForeignKeyConstraint(
            ["user_type_code"],
            ["user_type.code"],
            name=op.f("fk_user_account_user_type_code_user_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_email"), ["email"], unique=True)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'read_write')", name="ck_token_scope"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_api_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_token_token_sha256"), ["token_sha256"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "blackout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ck_blackout_range"),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_blackout_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blackout")),
    )
    with op.batch_alter_table("blackout", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blackout_resource_start", ["resource_id", "starts_at"], unique=False
        )

    op.create_table(
        "certification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("granted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["granted_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_certification_granted_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["training.id"],
            name=op.f("fk_certification_training_id_training"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_certification_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification")),
        sa.UniqueConstraint("user_id", "training_id", name="uq_certification"),
    )
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certification_training_id"), ["training_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certification_user_id"), ["user_id"], unique=False)

    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'booker')", name="ck_membership_role"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_membership_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_membership_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint("organisation_id", "user_id", name="uq_membership"),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_membership_user_id"), ["user_id"], unique=False)

    op.create_table(
        "place_manager",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_place_manager_place_id_place"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_place_manager_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_manager")),
        sa.UniqueConstraint("place_id", "user_id", name="uq_place_manager"),
    )
    with op.batch_alter_table("place_manager", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_manager_place_id"), ["place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_place_manager_user_id"), ["user_id"], unique=False)

    op.create_table(
        "resource_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_unit_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_unit")),
        sa.UniqueConstraint("resource_id", "position", name="uq_resource_unit_pos"),
    )
    with op.batch_alter_table("resource_unit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_unit_resource_id"), ["resource_id"], unique=False
        )

    # The national user types are data, so places can add their own next to them.
    user_type = sa.table(
        "user_type",
        sa.column("code", sa.String),
        sa.column("label_fr", sa.String),
        sa.column("label_en", sa.String),
        sa.column("reduced", sa.Boolean),
        sa.column("for_organisations", sa.Boolean),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(
        user_type,
        [
            {
                "code": code,
                "label_fr": fr,
                "label_en": en,
                "reduced": reduced,
                "for_organisations": org,
                "position": position,
            }
            for position, (code, fr, en, reduced, org) in enumerate(DEFAULT_USER_TYPES, start=1)
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("resource_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_unit_resource_id"))

    op.drop_table("resource_unit")
    with op.batch_alter_table("place_manager", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_manager_user_id"))
        batch_op.drop_index(batch_op.f("ix_place_manager_place_id"))

    op.drop_table("place_manager")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_user_id"))
        batch_op.drop_index(batch_op.f("ix_membership_organisation_id"))

    op.drop_table("membership")
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_user_id"))
        batch_op.drop_index(batch_op.f("ix_certification_training_id"))

    op.drop_table("certification")
    with op.batch_alter_table("blackout", schema=None) as batch_op:
        batch_op.drop_index("ix_blackout_resource_start")

    op.drop_table("blackout")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_token_token_sha256"))

    op.drop_table("api_token")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_email"))

    op.drop_table("user_account")
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_place_kind")

    op.drop_table("resource")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_siren"))

    op.drop_table("organisation")
    op.drop_table("user_type")
    with op.batch_alter_table("training", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_place_id"))

    op.drop_table("training")
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
    op.drop_table("login_throttle")
