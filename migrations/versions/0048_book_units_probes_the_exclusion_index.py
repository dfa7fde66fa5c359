"""book_units() finds a unit's overlaps by the exclusion index, its lapsed holds by a live-hold one

Revision ID: 0048
Revises: 0046
Create Date: 2026-12-07 02:00:00.000000

A new booking's cost in PostgreSQL grew with how busy its units already were. Two reads of
0025's function scanned every allocation that starts in the MAX_BLOCKED (32 days) before the
booking, fetching each row to test it:
- a unit is free when none of its active allocations overlaps the new range: a range scan of
  ``ix_booking_allocation_unit_start`` from ``p_earliest``, which for a free unit (the usual
  case) walks the whole month. It now asks for an overlap of ``tstzrange(starts_at,
  blocked_until)``, the expression of the exclusion constraint's GiST index
  (``ex_allocation_no_overlap``, partial on ``active``), which finds the few rows that
  overlap whatever the month holds;
- the lapsed holds in the way were found among the resource's active allocations of that month
  (``ix_booking_allocation_resource_start``), or by ``ix_booking_allocation_hold``, which
  indexed every allocation's expiry, of every resource. That index now holds the live holds
  only (``active AND hold_expires_at IS NOT NULL``), by resource and start: the read walks
  those few rows.

Measured by calling the two functions side by side (their own connections and machines, at
once, so the box's drift weighs on both) on a database holding a year of bookings: with about
450 bookings of a unit in the month before, 1.95 → 1.56 ms of PostgreSQL CPU per call on a slow
box, and the new function's cost no longer rises as the month fills.

Same signature, same answers; the function keeps 0046's plan setting. Downgrade puts 0025's
function back (with that setting) and the plain expiry index.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0048"
down_revision: str | None = "0046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEADER = "LANGUAGE plpgsql VOLATILE AS $$"
GENERIC_PLANS = "LANGUAGE plpgsql VOLATILE\nSET plan_cache_mode = force_generic_plan\nAS $$"
_MONTH_SCAN = """\
                AND a.starts_at >= p_earliest AND a.starts_at < p_blocked_until[i]
                AND a.blocked_until > p_starts_at
"""
OVERLAP_PROBE = """\
                AND tstzrange(a.starts_at, a.blocked_until, '[)')
                    && tstzrange(p_starts_at, p_blocked_until[i], '[)')
"""


def _migration(filename: str) -> ModuleType:
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def function_0046() -> str:
    """book_units() as migrations 0025 and 0046 left it."""
    keyed = _migration("0025_idempotent_book_units.py")
    function: str = keyed._once(keyed.function_0017())
    if function.count(_HEADER) != 1:
        raise RuntimeError("0025's book_units() is not the one this revision changes")
    return function.replace(_HEADER, GENERIC_PLANS)


def probing_overlaps(function: str) -> str:
    """``function`` with each unit's overlaps found by the exclusion constraint's index."""
    if function.count(_MONTH_SCAN) != 1:
        raise RuntimeError("0046's book_units() is not the one this revision changes")
    return function.replace(_MONTH_SCAN, OVERLAP_PROBE)


def upgrade() -> None:
    op.execute(probing_overlaps(function_0046()))
    op.drop_index("ix_booking_allocation_hold", table_name="booking_allocation")
    op.create_index(
        "ix_booking_allocation_hold",
        "booking_allocation",
        ["resource_id", "starts_at"],
        postgresql_where="active AND hold_expires_at IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_booking_allocation_hold", table_name="booking_allocation")
    op.create_index("ix_booking_allocation_hold", "booking_allocation", ["hold_expires_at"])
    op.execute(function_0046())
