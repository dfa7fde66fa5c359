"""The programme of a place: sessions, their registrations, and what they touch elsewhere

Revision ID: 0041
Revises: 0034
Create Date: 2026-12-05 13:00:00.000000

programme_session: one dated workshop, training or event; seats counted in seats_taken (never
past seats: ck_programme_session_seats); booking_id: the place's booking of the resources it
occupies. programme_registration: a person's seats (or place in the waitlist), attendance.
booking.place_use: a booking by which the place occupies its own resources (never priced,
never released as a no-show). certification.source_session_id: the session that granted it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0041"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("series_key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.Column("min_attendance", sa.Integer(), nullable=False),
        sa.Column("registration_deadline", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("minimum_check_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=True),
        sa.Column("resources", sa.JSON(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sqlmodel.sql.sqltypes.AutoString(length=20),
            server_default=sa.text("'scheduled'"),
            nullable=False,
        ),
        sa.Column("status_reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("cancelled_at", DateTimeUTC(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind <> 'training' OR training_id IS NOT NULL", name="ck_programme_session_training"
        ),
        sa.CheckConstraint(
            "kind IN ('workshop', 'training', 'event')", name="ck_programme_session_kind"
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'cancelled')", name="ck_programme_session_status"
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_programme_session_range"),
        sa.CheckConstraint(
            "seats >= 1 AND seats <= 1000 AND min_attendance >= 0 AND min_attendance <= seats",
            name="ck_programme_session_attendance",
        ),
        sa.CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= seats", name="ck_programme_session_seats"
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_programme_session_booking_id_booking"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_programme_session_created_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_programme_session_place_id_place"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["training.id"],
            name=op.f("fk_programme_session_training_id_training"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_session")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_programme_session_booking_id")),
    )
    op.create_index(
        "ix_programme_session_place_start",
        "programme_session",
        ["place_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_programme_session_series_key"), "programme_session", ["series_key"], unique=False
    )
    op.create_index(
        "ix_programme_session_status_check",
        "programme_session",
        ["status", "minimum_check_at"],
        unique=False,
    )
    op.create_table(
        "programme_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("cancelled_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("attended_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("attended_by_user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('registered', 'waitlisted', 'cancelled')",
            name="ck_programme_registration_status",
        ),
        sa.CheckConstraint("seats >= 1 AND seats <= 100", name="ck_programme_registration_seats"),
        sa.ForeignKeyConstraint(
            ["attended_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_programme_registration_attended_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["programme_session.id"],
            name=op.f("fk_programme_registration_session_id_programme_session"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_programme_registration_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_registration")),
    )
    op.create_index(
        "ix_programme_registration_session_status",
        "programme_registration",
        ["session_id", "status", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_programme_registration_user_id"),
        "programme_registration",
        ["user_id"],
        unique=False,
    )
    op.create_index(
        "uq_programme_registration_live",
        "programme_registration",
        ["session_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.add_column(
        "booking",
        sa.Column("place_use", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("certification", sa.Column("source_session_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("certification", "source_session_id")
    op.drop_column("booking", "place_use")
    op.drop_index(
        "uq_programme_registration_live",
        table_name="programme_registration",
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.drop_index(op.f("ix_programme_registration_user_id"), table_name="programme_registration")
    op.drop_index("ix_programme_registration_session_status", table_name="programme_registration")
    op.drop_table("programme_registration")
    op.drop_index("ix_programme_session_status_check", table_name="programme_session")
    op.drop_index(op.f("ix_programme_session_series_key"), table_name="programme_session")
    op.drop_index("ix_programme_session_place_start", table_name="programme_session")
    op.drop_table("programme_session")
