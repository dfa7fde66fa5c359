"""book_units_together(): the bookings that come at once, in one call and one commit

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-07 06:30:00.000000

A booking that is its request's whole change is one call of ``book_units()`` committing on its
own. Most of PostgreSQL's CPU per call was not the booking's own work: the round trip, the
function's start, the transaction's snapshot and commit (its WAL flush). Measured with raw
asyncpg on a database holding a year of bookings (2-core box): 0.83 to 1.11 ms of PostgreSQL CPU
per booking one call each, 0.40 to 0.52 ms in calls of 8 or 16, and the client's own CPU per
booking halved too.

``book_units_together(calls)`` takes the calls a worker's requests made while its previous
call was running (``booking.lanes``) and runs ``book_units()`` for each, in order, in one
transaction: the same checks, the same rows and the same answers, each row tagged with its
call's position. It first locks the units of every call, in id order, the order every writer
uses: no deadlock with another writer, and none between its own calls. A call's refusal writes
nothing of its own and leaves the others be; an error (which no refusal raises) rolls back
every call and the caller runs each one on its own again, so that each request gets its own
answer. A call that commits on its own never releases lapsed holds nor moves a booking, so
the type has neither argument.

Downgrade drops the function and its type.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0049"
down_revision: str | None = "0048"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALL_TYPE = """
CREATE TYPE book_units_call AS (
    resource_ids integer[],
    quantities integer[],
    blocked_until timestamptz[],
    earliest timestamptz,
    now timestamptz,
    revision bigint,
    refs text[],
    place_id integer,
    booker_user_id integer,
    organisation_id integer,
    user_type_code text,
    status text,
    hold_expires_at timestamptz,
    starts_at timestamptz,
    ends_at timestamptz,
    series_id integer,
    notes text,
    once_caller text,
    once_key text,
    once_fingerprint text
)
"""

FUNCTION = """
CREATE FUNCTION book_units_together(p_calls book_units_call[])
RETURNS TABLE(
    call integer, outcome text, booking_id integer, reference text, resource_id integer,
    unit_id integer, free_units integer
)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    c book_units_call;
    n integer := 0;
    every_resource integer[];
BEGIN
    -- Every call's units, locked in id order before any call runs: each call then finds its
    -- own already locked, so the whole is locked in the one order all writers use.
    SELECT array_agg(DISTINCT r) INTO every_resource
    FROM unnest(p_calls) AS x, unnest(x.resource_ids) AS r;
    PERFORM 1 FROM resource_unit u
        WHERE u.resource_id = ANY (every_resource) AND u.active
        ORDER BY u.id FOR UPDATE;
    FOREACH c IN ARRAY p_calls LOOP
        n := n + 1;
        RETURN QUERY SELECT n, b.outcome, b.booking_id, b.reference, b.resource_id, b.unit_id,
            b.free_units
        FROM book_units(
            c.resource_ids, c.quantities, c.blocked_until, c.earliest, c.now, c.revision,
            c.refs, c.place_id, c.booker_user_id, c.organisation_id, c.user_type_code,
            c.status, c.hold_expires_at, c.starts_at, c.ends_at, c.series_id, c.notes,
            false, NULL, c.once_caller, c.once_key, c.once_fingerprint
        ) AS b;
    END LOOP;
END;
$$
"""


def upgrade() -> None:
    op.execute(CALL_TYPE)
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION book_units_together(book_units_call[])")
    op.execute("DROP TYPE book_units_call")
