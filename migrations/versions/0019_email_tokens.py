"""Links mailed to people: address verification and password reset tokens, stored hashed

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 04:00:00.000000

One row per link (accounts.email_tokens): the purpose, the user, the address it was mailed to,
an HMAC of the token (never the token), when it expires and when it was used (single use).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('verify', 'reset')", name="ck_email_token_purpose"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name="fk_email_token_user_id_user_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_email_token"),
        sa.UniqueConstraint("token_hash", name="uq_email_token_token_hash"),
    )
    op.create_index("ix_email_token_user_id", "email_token", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_email_token_user_id", table_name="email_token")
    op.drop_table("email_token")
