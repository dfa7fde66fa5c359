"""book_units() carries a booking's idempotency key: a keyed booking stays two statements

Revision ID: 0025
Revises: 0021
Create Date: 2026-12-05 07:30:00.000000

A booking sent with an ``Idempotency-Key`` took three more statements than one without: the
key's advisory lock, the lookup of its record, and the record of the answer (kernel.idempotency).
book_units() now does all three in its own call, when given the key (``p_once_*``): under the
units' locks it takes the key's transaction lock (answering ``in_progress`` if another request
holds it), then reads the key's live record, answering ``replay`` with the booking it made (same
request) or ``key_reused`` (another request), and otherwise books and records the key with the
new booking's id (``idempotency_record.booking_id``), in the same transaction. The lock and the
read are in this order, each statement of the function seeing what committed before it: a
request that held the key has committed its record by the time its lock is free.

Also dropped: ``ix_booking_item_booking_id``, which the unique index on ``(booking_id,
resource_id)`` already serves: one index write fewer per booking.

The function gains three parameters, so the old signature is dropped first (a new overload
would make every call ambiguous). Downgrade restores 0017's function and drops the column.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SIGNATURE = (
    "book_units(integer[], integer[], timestamptz[], timestamptz, timestamptz, bigint, text[], "
    "integer, integer, integer, text, text, timestamptz, timestamptz, timestamptz, integer, "
    "text, boolean, integer)"
)
NEW_SIGNATURE = OLD_SIGNATURE.replace("boolean, integer)", "boolean, integer, text, text, text)")

_PARAMETERS = "    p_move integer                      -- a booking to move here (its items kept); NULL: new\n"
ONCE_PARAMETERS = (
    "    p_move integer,                     -- a booking to move here (its items kept); NULL: new\n"
    "    p_once_caller text,                 -- the idempotency key's owner (kernel.idempotency)\n"
    "    p_once_key text,                    -- the key; NULL: none sent\n"
    "    p_once_fingerprint text             -- what the request was (method, path, body)\n"
)
_DECLARATIONS = "    i integer;\nBEGIN\n"
ONCE_DECLARATIONS = "    i integer;\n    once_booking integer;\n    once_fingerprint text;\nBEGIN\n"
_BEFORE_LAPSED = "    -- Lapsed holds in the way are expired here"
ONCE_CHECK = """\
    -- The idempotency key, under the units' locks: a request holding it answers in_progress;
    -- one that committed has left its record, read by this statement after the lock. Records
    -- are dated by the database's clock, as kernel.idempotency dates and purges them.
    IF p_once_key IS NOT NULL AND p_move IS NULL THEN
        IF NOT pg_try_advisory_xact_lock(hashtextextended(p_once_caller || ' ' || p_once_key, 0))
        THEN
            RETURN QUERY SELECT 'in_progress'::text, NULL::integer, NULL::text, NULL::integer,
                NULL::integer, NULL::integer;
            RETURN;
        END IF;
        SELECT r.booking_id, r.fingerprint INTO once_booking, once_fingerprint
        FROM idempotency_record r
        WHERE r.caller = p_once_caller AND r.key = p_once_key
          AND r.created_at > now() - interval '24 hours';
        IF FOUND THEN
            RETURN QUERY SELECT
                CASE WHEN once_fingerprint = p_once_fingerprint
                    THEN 'replay' ELSE 'key_reused' END::text,
                once_booking, NULL::text, NULL::integer, NULL::integer, NULL::integer;
            RETURN;
        END IF;
    END IF;
"""
_BOOKED = "    RETURN QUERY SELECT 'booked'::text, new_id, chosen, t.r, t.u, NULL::integer\n"
ONCE_KEEP = """\
    -- The key's record, with the booking (a stale record of the key is replaced).
    IF p_once_key IS NOT NULL THEN
        INSERT INTO idempotency_record (
            caller, key, fingerprint, status_code, headers, body, created_at, booking_id
        ) VALUES (
            p_once_caller, p_once_key, p_once_fingerprint, 201, '[]'::jsonb, ''::bytea, now(),
            new_id
        )
        ON CONFLICT (caller, key) DO UPDATE SET
            fingerprint = EXCLUDED.fingerprint, status_code = EXCLUDED.status_code,
            headers = EXCLUDED.headers, body = EXCLUDED.body,
            created_at = EXCLUDED.created_at, booking_id = EXCLUDED.booking_id;
    END IF;
"""


def _migration(filename: str) -> ModuleType:
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def function_0017() -> str:
    """book_units() as migration 0017 left it."""
    events = _migration("0017_events_and_contact_preferences.py")
    function: str = events._book_units_0013().replace(
        events._ANCHOR, events.PUBLISH + events._ANCHOR
    )
    return function


def _once(function: str) -> str:
    for anchor in (_PARAMETERS, _DECLARATIONS, _BEFORE_LAPSED, _BOOKED):
        if function.count(anchor) != 1:
            raise RuntimeError(
                f"0017's book_units() is not the one this revision extends: {anchor!r}"
            )
    return (
        function.replace(_PARAMETERS, ONCE_PARAMETERS)
        .replace(_DECLARATIONS, ONCE_DECLARATIONS)
        .replace(_BEFORE_LAPSED, ONCE_CHECK + _BEFORE_LAPSED)
        .replace(_BOOKED, ONCE_KEEP + _BOOKED)
    )


def upgrade() -> None:
    op.drop_index("ix_booking_item_booking_id", table_name="booking_item")
    op.add_column("idempotency_record", sa.Column("booking_id", sa.Integer(), nullable=True))
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    op.execute(_once(function_0017()))


def downgrade() -> None:
    # Their answer is the booking, which the older code cannot replay (no stored body): a
    # retry with such a key is then carried out anew (the slot it booked refuses it).
    op.execute("DELETE FROM idempotency_record WHERE booking_id IS NOT NULL")
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    op.execute(function_0017())
    op.drop_column("idempotency_record", "booking_id")
    op.create_index("ix_booking_item_booking_id", "booking_item", ["booking_id"])
