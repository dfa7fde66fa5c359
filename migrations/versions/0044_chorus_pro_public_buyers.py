"""Chorus Pro: public buyers and their service code

Revision ID: 0044
Revises: 0041
Create Date: 2026-12-05 13:00:00.000000

organisation.public_buyer: a public body (a town hall, a public school...), invoiced through
Chorus Pro whatever rate it books at; it must carry its SIRET. Existing organisations of the
type public_body become public buyers.
organisation.chorus_service_code: the "code service" a public buyer gives its suppliers, which
its invoices carry as the buyer reference (EN 16931 BT-10). Whether it needs an engagement
number is organisation.requires_purchase_order (the number is the purchase order, BT-13).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organisation",
        sa.Column("public_buyer", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "organisation", sa.Column("chorus_service_code", sa.String(length=100), nullable=True)
    )
    op.execute("UPDATE organisation SET public_buyer = true WHERE user_type_code = 'public_body'")


def downgrade() -> None:
    op.drop_column("organisation", "chorus_service_code")
    op.drop_column("organisation", "public_buyer")
