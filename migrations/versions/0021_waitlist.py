"""Waitlist: entries waiting for a full slot, their offers, the events handled

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-05 04:00:00.000000

waitlist_entry: a user waiting for units of a resource over a range (booking.waitlist), in
line by created_at; the booking held for it once offered. waitlist_event: the keys of the
events the waitlist handled, so a re-run of an event offers nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("status IN ('waiting', 'offered')")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("starts_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ends_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offer_booking_id", sa.Integer(), nullable=True),
        sa.Column("offered_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("offer_expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'booked', 'lapsed', 'withdrawn')",
            name="ck_waitlist_entry_status",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ck_waitlist_entry_range"),
        sa.CheckConstraint("quantity > 0", name="ck_waitlist_entry_quantity"),
        sa.CheckConstraint(
            "status <> 'offered' OR offer_booking_id IS NOT NULL",
            name="ck_waitlist_entry_offer",
        ),
        _fk("waitlist_entry", "place_id", "place.id", "CASCADE"),
        _fk("waitlist_entry", "resource_id", "resource.id", "CASCADE"),
        _fk("waitlist_entry", "user_id", "user_account.id", "CASCADE"),
        _fk("waitlist_entry", "organisation_id", "organisation.id", "CASCADE"),
        _fk("waitlist_entry", "offer_booking_id", "booking.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entry")),
        sa.UniqueConstraint("offer_booking_id", name=op.f("uq_waitlist_entry_offer_booking_id")),
    )
    op.create_index(
        "uq_waitlist_entry_live",
        "waitlist_entry",
        ["user_id", "resource_id", "starts_at", "ends_at"],
        unique=True,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_waitlist_entry_line",
        "waitlist_entry",
        ["resource_id", "created_at"],
        unique=False,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_waitlist_entry_place_start", "waitlist_entry", ["place_id", "starts_at"], unique=False
    )
    op.create_index("ix_waitlist_entry_user", "waitlist_entry", ["user_id", "starts_at"])
    op.create_table(
        "waitlist_event",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("handled_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_waitlist_event")),
    )


def downgrade() -> None:
    op.drop_table("waitlist_event")
    op.drop_index("ix_waitlist_entry_user", table_name="waitlist_entry")
    op.drop_index("ix_waitlist_entry_place_start", table_name="waitlist_entry")
    op.drop_index("ix_waitlist_entry_line", table_name="waitlist_entry")
    op.drop_index("uq_waitlist_entry_live", table_name="waitlist_entry")
    op.drop_table("waitlist_entry")
