"""Payment status 'canceled' spelled 'cancelled', as booking statuses are

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 23:30:00.000000

Bookings said ``cancelled`` and payments ``canceled`` (Stripe's spelling, copied into our own
status). The API is pre-1.0: the stored value and the API's ``payment.status`` now say
``cancelled`` too. Stripe's own objects keep their spelling; only ours changes. Downgrade
writes ``canceled`` back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OTHERS = (
    "'pending', 'requires_action', 'processing', 'failed', 'succeeded', 'refunded', "
    "'partially_refunded', 'invoiced', 'awaiting_on_site', 'free'"
)


def _respell(old: str, new: str) -> None:
    op.execute("ALTER TABLE payment DROP CONSTRAINT ck_payment_status")
    op.execute(
        sa.text("UPDATE payment SET status = :new WHERE status = :old").bindparams(new=new, old=old)
    )
    op.execute(
        f"ALTER TABLE payment ADD CONSTRAINT ck_payment_status "
        f"CHECK (status IN ({_OTHERS}, '{new}'))"
    )


def upgrade() -> None:
    _respell("canceled", "cancelled")


def downgrade() -> None:
    _respell("cancelled", "canceled")
