"""Server-side browser sessions, attempt counters with growing delays, API token expiry

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 01:00:00.000000

``browser_session`` holds the SHA-256 of each logged-in browser's key: logging out deletes it.
``user_account.session_version`` (the previous way to end sessions, which a copied cookie
outlived) goes; so do the sessions issued before, whose cookies name no row: everyone logs in
again once. ``login_throttle`` becomes ``attempt_counter`` (attempts in a window and the
instant of the next allowed one, for log-ins and sign-ups); its counts are not carried over,
they last minutes. ``api_token.expires_at`` is optional. Downgrade restores the old shapes,
empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
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


def downgrade() -> None:
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
