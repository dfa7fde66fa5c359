"""book_units() plans its statements once per connection (generic plans)

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-05 19:30:00.000000

PL/pgSQL keeps a plan per statement and connection, but for a statement with parameters it
plans anew on each call (a custom plan) for as long as it finds the generic plan costlier than
the custom ones it made. Most of book_units()'s statements take arrays and time ranges, so they
were planned on every booking: about 8 % of PostgreSQL's CPU per booking in a perf profile.
Their generic plans are the same index scans (each unit's busy ranges by
ix_booking_allocation_unit_start, the lapsed holds by ix_booking_allocation_resource_start, the
key by its primary key), so the function now always uses them: about 9 % less PostgreSQL CPU
per booking, measured by replaying the app's calls at 8 connections on a database holding a
year of bookings.

A later ``CREATE OR REPLACE FUNCTION book_units`` drops this setting unless it states it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0046"
down_revision: str | None = "0045"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER FUNCTION book_units SET plan_cache_mode = force_generic_plan")


def downgrade() -> None:
    op.execute("ALTER FUNCTION book_units RESET plan_cache_mode")
