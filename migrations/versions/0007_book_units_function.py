"""book_units(): lock, check and insert a new booking in one call (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:00:00.000000

A new booking used to take three round trips once its rules were checked: lock the units,
read what overlaps them, insert the booking. This function does the three under one call. It
runs each statement with a fresh snapshot (a VOLATILE function in READ COMMITTED), so the
overlap read sees every booking committed before the unit locks were granted: the same
guarantee as the separate statements it replaces. The exclusion constraint still stands
behind it.

Outcomes (first column): ``booked`` (one row per allocated unit), ``stale`` (the catalogue
counter is not the one the caller's copy was read at), ``lapsed`` (a lapsed hold overlaps:
the caller releases it through the general path, which notifies billing), ``unavailable``
(the resource with too few free units, and how many are free), ``reference_taken`` (every
candidate reference is in use).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = (
    "integer[], integer[], timestamp with time zone[], timestamp with time zone, "
    "timestamp with time zone, bigint, text[], integer, integer, integer, text, text, "
    "timestamp with time zone, timestamp with time zone, timestamp with time zone, integer, text"
)

FUNCTION = """
CREATE FUNCTION book_units(
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
    p_notes text
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
    IF EXISTS (
        SELECT 1 FROM booking_allocation a
        WHERE a.resource_id = ANY (p_resource_ids) AND a.active
          AND a.starts_at >= p_earliest AND a.starts_at < latest
          AND a.blocked_until > p_starts_at AND a.hold_expires_at <= p_now
    ) THEN
        RETURN QUERY SELECT 'lapsed'::text, NULL::integer, NULL::text, NULL::integer,
            NULL::integer, NULL::integer;
        RETURN;
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


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS book_units({SIGNATURE})")
