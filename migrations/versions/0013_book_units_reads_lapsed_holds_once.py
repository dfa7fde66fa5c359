"""book_units() reads the lapsed holds in its way once, and updates only when there are some

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 02:00:00.000000

0009's function checked for lapsed holds (an EXISTS) and then ran the UPDATE that expires them
on every call, even for a plain booking with none in the way: one more statement per booking,
on the hot path. The ids are now read once; the update runs only when some were found. Same
signature, same answers. Downgrade puts 0009's function back.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION book_units(
    p_resource_ids integer[],           -- distinct, ascending
    p_quantities integer[],             -- units wanted, per resource
    p_blocked_until timestamptz[],      -- end of the booking plus the resource's cool-down
    p_earliest timestamptz,             -- no allocation starting before this can overlap
    p_now timestamptz,
    p_revision bigint,                  -- the caller's catalogue copy; NULL: not checked
    p_references text[],                -- candidate references, tried in order
    p_place_id integer,
    p_booker_user_id integer,
    p_organisation_id integer,
    p_user_type_code text,
    p_status text,
    p_hold_expires_at timestamptz,
    p_starts_at timestamptz,
    p_ends_at timestamptz,
    p_series_id integer,
    p_notes text,
    p_release_lapsed boolean,           -- false: answer 'lapsed' instead (see below)
    p_move integer                      -- a booking to move here (its items kept); NULL: new
) RETURNS TABLE (
    outcome text, booking_id integer, reference text, resource_id integer, unit_id integer,
    free_units integer
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    latest timestamptz := (SELECT max(b) FROM unnest(p_blocked_until) AS b);
    counter bigint;
    new_id integer;
    chosen text;
    free integer[];
    picked_units integer[] := '{}';
    picked_resources integer[] := '{}';
    lapsed_ids integer[];
    expired integer[];
    i integer;
BEGIN
    -- The units, locked in id order (the order every writer uses, so no deadlock).
    PERFORM 1 FROM resource_unit u
        WHERE u.resource_id = ANY (p_resource_ids) AND u.active
        ORDER BY u.id FOR UPDATE;
    IF p_revision IS NOT NULL THEN
        SELECT value INTO counter FROM catalogue_revision WHERE id = 1;
        IF counter IS DISTINCT FROM p_revision THEN
            RETURN QUERY SELECT 'stale'::text, NULL::integer, NULL::text, NULL::integer,
                NULL::integer, NULL::integer;
            RETURN;
        END IF;
    END IF;
    -- Lapsed holds in the way are expired here (their units freed, their calendar sequence
    -- bumped), under the unit locks, as the sweep would; their ids are returned first so the
    -- caller tells the listeners (billing) of every expiry in the same transaction. A call
    -- that commits on its own (p_release_lapsed false) cannot: it answers 'lapsed', writing
    -- nothing, and the caller calls again inside its transaction. One read finds them; the
    -- update runs only when there are some (0009 ran it on every call).
    SELECT coalesce(array_agg(DISTINCT a.booking_id), '{}') INTO lapsed_ids
    FROM booking_allocation a
    WHERE a.resource_id = ANY (p_resource_ids) AND a.active
      AND a.starts_at >= p_earliest AND a.starts_at < latest
      AND a.blocked_until > p_starts_at AND a.hold_expires_at <= p_now
      AND a.booking_id IS DISTINCT FROM p_move;
    IF cardinality(lapsed_ids) > 0 THEN
        IF NOT p_release_lapsed THEN
            RETURN QUERY SELECT 'lapsed'::text, NULL::integer, NULL::text, NULL::integer,
                NULL::integer, NULL::integer;
            RETURN;
        END IF;
        WITH lapsed AS (
            UPDATE booking b SET status = 'expired', sequence = b.sequence + 1, updated_at = p_now
            WHERE b.id = ANY (lapsed_ids) AND b.status = 'held' AND b.hold_expires_at <= p_now
            RETURNING b.id
        )
        SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO expired FROM lapsed;
        IF cardinality(expired) > 0 THEN
            UPDATE booking_allocation x SET active = false WHERE x.booking_id = ANY (expired);
            RETURN QUERY SELECT 'expired'::text, e, NULL::text, NULL::integer, NULL::integer,
                NULL::integer FROM unnest(expired) AS e;
        END IF;
    END IF;
    FOR i IN 1 .. cardinality(p_resource_ids) LOOP
        SELECT coalesce(array_agg(u.id ORDER BY u.position, u.id), '{}') INTO free
        FROM resource_unit u
        WHERE u.resource_id = p_resource_ids[i] AND u.active
          AND NOT EXISTS (
              SELECT 1 FROM booking_allocation a
              WHERE a.unit_id = u.id AND a.active
                AND a.starts_at >= p_earliest AND a.starts_at < p_blocked_until[i]
                AND a.blocked_until > p_starts_at
                AND (a.hold_expires_at IS NULL OR a.hold_expires_at > p_now)
                AND a.booking_id IS DISTINCT FROM p_move
          );
        IF cardinality(free) < p_quantities[i] THEN
            RETURN QUERY SELECT 'unavailable'::text, NULL::integer, NULL::text,
                p_resource_ids[i], NULL::integer, cardinality(free);
            RETURN;
        END IF;
        picked_units := picked_units || free[1:p_quantities[i]];
        picked_resources := picked_resources
            || array_fill(p_resource_ids[i], ARRAY[p_quantities[i]]);
    END LOOP;
    IF p_move IS NOT NULL THEN
        -- A booking moved: its allocations replaced, on its own items; the caller updates
        -- the booking row (times, status, sequence) under its row lock.
        DELETE FROM booking_allocation x WHERE x.booking_id = p_move;
        INSERT INTO booking_allocation (
            booking_id, item_id, resource_id, unit_id, starts_at, blocked_until, active,
            hold_expires_at
        )
        SELECT p_move, it.id, t.r, t.u, p_starts_at,
            p_blocked_until[array_position(p_resource_ids, t.r)], true, p_hold_expires_at
        FROM unnest(picked_resources, picked_units) AS t(r, u)
        JOIN booking_item it ON it.booking_id = p_move AND it.resource_id = t.r;
        RETURN QUERY SELECT 'booked'::text, p_move, NULL::text, t.r, t.u, NULL::integer
            FROM unnest(picked_resources, picked_units) WITH ORDINALITY AS t(r, u, n)
            ORDER BY t.n;
        RETURN;
    END IF;
    FOREACH chosen IN ARRAY p_references LOOP
        INSERT INTO booking (
            reference, place_id, booker_user_id, organisation_id, user_type_code, status,
            hold_expires_at, starts_at, ends_at, series_id, sequence, notes, status_reason,
            created_at, updated_at
        ) VALUES (
            chosen, p_place_id, p_booker_user_id, p_organisation_id, p_user_type_code, p_status,
            p_hold_expires_at, p_starts_at, p_ends_at, p_series_id, 0, p_notes, '',
            p_now, p_now
        )
        ON CONFLICT ON CONSTRAINT uq_booking_reference DO NOTHING
        RETURNING id INTO new_id;
        EXIT WHEN new_id IS NOT NULL;
    END LOOP;
    IF new_id IS NULL THEN
        RETURN QUERY SELECT 'reference_taken'::text, NULL::integer, NULL::text, NULL::integer,
            NULL::integer, NULL::integer;
        RETURN;
    END IF;
    WITH items AS (
        INSERT INTO booking_item (booking_id, resource_id, quantity)
        SELECT new_id, r, q FROM unnest(p_resource_ids, p_quantities) AS w(r, q)
        RETURNING id, booking_item.resource_id
    )
    INSERT INTO booking_allocation (
        booking_id, item_id, resource_id, unit_id, starts_at, blocked_until, active,
        hold_expires_at
    )
    SELECT new_id, items.id, t.r, t.u, p_starts_at,
        p_blocked_until[array_position(p_resource_ids, t.r)], true, p_hold_expires_at
    FROM unnest(picked_resources, picked_units) AS t(r, u)
    JOIN items ON items.resource_id = t.r;
    RETURN QUERY SELECT 'booked'::text, new_id, chosen, t.r, t.u, NULL::integer
        FROM unnest(picked_resources, picked_units) WITH ORDINALITY AS t(r, u, n)
        ORDER BY t.n;
END;
$$
"""


def _migration_0009() -> ModuleType:
    path = Path(__file__).with_name("0009_book_units_expires_lapsed_holds.py")
    spec = importlib.util.spec_from_file_location("_book_units_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    previous = _migration_0009()
    op.execute(previous.FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
