"""Server-side browser sessions, attempt counters, token expiry, organisation invitations

Revision ID: 0010
Revises: 0013
Create Date: 2026-12-05 01:00:00.000000

``browser_session`` holds the SHA-256 of each logged-in browser's key: logging out deletes it.
``user_account.session_version`` (the previous way to end sessions, which a copied cookie
outlived) goes; so do the sessions issued before, whose cookies name no row: everyone logs in
again once. ``login_throttle`` becomes ``attempt_counter`` (attempts in a window and the
instant of the next allowed one, for log-ins and sign-ups); its counts are not carried over,
they last minutes. ``api_token.expires_at`` is optional. ``organisation_invitation``: adding
a member invites an e-mail address, which its owner accepts (so the answer never tells whether
the address has an account). Downgrade restores the old shapes, empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "browser_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_browser_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_session")),
    )
    op.create_index(
        op.f("ix_browser_session_token_sha256"), "browser_session", ["token_sha256"], unique=True
    )
    op.create_index(op.f("ix_browser_session_user_id"), "browser_session", ["user_id"])
    op.create_index(op.f("ix_browser_session_last_seen_at"), "browser_session", ["last_seen_at"])
    op.drop_column("user_account", "session_version")

    op.drop_table("login_throttle")
    op.create_table(
        "attempt_counter",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", _utc(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attempt_counter")),
    )
    op.add_column("api_token", sa.Column("expires_at", _utc(), nullable=True))

    op.create_table(
        "organisation_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("invited_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'booker')", name="ck_invitation_role"),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_organisation_invitation_invited_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_invitation_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_invitation")),
        sa.UniqueConstraint("organisation_id", "email", name="uq_invitation"),
    )
    op.create_index(op.f("ix_organisation_invitation_email"), "organisation_invitation", ["email"])
    op.create_index(
        op.f("ix_organisation_invitation_organisation_id"),
        "organisation_invitation",
        ["organisation_id"],
    )


def downgrade() -> None:
    op.drop_table("organisation_invitation")
    op.drop_column("api_token", "expires_at")
    op.drop_table("attempt_counter")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.add_column(
        "user_account",
        sa.Column("session_version", sa.Integer(), server_default="1", nullable=False),
    )
    op.alter_column("user_account", "session_version", server_default=None)
    op.drop_table("browser_session")
