"""Chorus Pro: a public buyer's service code

Revision ID: 0044
Revises: 0034
Create Date: 2026-12-05 13:00:00.000000

organisation.chorus_service_code: the "code service" a public body gives its suppliers, which
its invoices carry as the buyer reference (EN 16931 BT-10) for Chorus Pro. Whether it needs an
engagement number is organisation.requires_purchase_order (its number is the purchase order
reference, BT-13).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organisation", sa.Column("chorus_service_code", sa.String(length=100), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("organisation", "chorus_service_code")
