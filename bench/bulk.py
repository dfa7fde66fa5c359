"""Fast seeding of bookings with COPY: booking, booking_item and booking_allocation rows.

Indexes and the no-overlap exclusion constraint are dropped for the load and rebuilt after
(a bulk build is much faster than a million single inserts into a GiST index); rebuilding the
constraint checks that the seeded ranges do not overlap. Foreign-key triggers are skipped
(``session_replication_role = replica``): the rows are consistent by construction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from booking.models import EXCLUSION, EXCLUSION_NAME

TABLES = ("booking", "booking_item", "booking_allocation")
CHUNK = 50_000
BOOKING_COLUMNS = (
    "id",
    "reference",
    "place_id",
    "booker_user_id",
    "user_type_code",
    "status",
    "starts_at",
    "ends_at",
    "sequence",
    "notes",
    "status_reason",
    "created_at",
    "updated_at",
)
ITEM_COLUMNS = ("id", "booking_id", "resource_id", "quantity")
ALLOCATION_COLUMNS = (
    "id",
    "booking_id",
    "item_id",
    "resource_id",
    "unit_id",
    "starts_at",
    "blocked_until",
    "active",
)


@dataclass(frozen=True)
class Seeded:
    """One booking to write: who, where, which unit, when."""

    place_id: int
    resource_id: int
    unit_id: int
    booker_user_id: int
    starts_at: datetime
    ends_at: datetime


async def _secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    # Indexes that back no constraint (primary keys and unique constraints stay).
    rows = await conn.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        list(TABLES),
    )
    return [(r["name"], r["definition"]) for r in rows]


async def copy_bookings(
    conn: asyncpg.Connection, bookings: Iterator[Seeded], *, now: datetime
) -> int:
    """COPY confirmed one-unit bookings; how many. Rebuilds indexes and the constraint."""
    indexes = await _secondary_indexes(conn)
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute(f"ALTER TABLE booking_allocation DROP CONSTRAINT {EXCLUSION_NAME}")
    for name, _ in indexes:
        await conn.execute(f"DROP INDEX {name}")
    first = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM booking")) + 1
    count = 0
    await conn.execute("SET session_replication_role = replica")
    try:
        while True:
            chunk = [b for _, b in zip(range(CHUNK), bookings, strict=False)]
            if not chunk:
                break
            ids = range(first + count, first + count + len(chunk))
            await conn.copy_records_to_table(
                "booking",
                columns=BOOKING_COLUMNS,
                records=[
                    (
                        n,
                        f"S{n:011d}",
                        b.place_id,
                        b.booker_user_id,
                        "citizen",
                        "confirmed",
                        b.starts_at,
                        b.ends_at,
                        0,
                        "",
                        "",
                        now,
                        now,
                    )
                    for n, b in zip(ids, chunk, strict=True)
                ],
            )
            await conn.copy_records_to_table(
                "booking_item",
                columns=ITEM_COLUMNS,
                records=[(n, n, b.resource_id, 1) for n, b in zip(ids, chunk, strict=True)],
            )
            await conn.copy_records_to_table(
                "booking_allocation",
                columns=ALLOCATION_COLUMNS,
                records=[
                    (n, n, n, b.resource_id, b.unit_id, b.starts_at, b.ends_at, True)
                    for n, b in zip(ids, chunk, strict=True)
                ],
            )
            count += len(chunk)
    finally:
        await conn.execute("SET session_replication_role = DEFAULT")
    for table in TABLES:
        # Our own table names, no input: the ids COPY wrote must not be handed out again.
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        restart = f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"  # noqa: S608
        await conn.execute(restart)
    for _, definition in indexes:
        await conn.execute(definition)
    await conn.execute(EXCLUSION)
    return count


def spread(
    resources: Sequence[tuple[int, int, int]],
    users: Sequence[int],
    per_resource: int,
    first: datetime,
    every: timedelta,
    length: timedelta,
) -> Iterator[Seeded]:
    """``per_resource`` bookings of each (place, resource, unit), one every ``every``."""
    assert length < every, "bookings of one unit must not overlap"
    for number, (place, resource, unit) in enumerate(resources):
        # Stagger resources by an hour so a place's day is not one block.
        offset = timedelta(hours=number % 12)
        for k in range(per_resource):
            start = first + offset + k * every
            yield Seeded(
                place, resource, unit, users[(number + k) % len(users)], start, start + length
            )


# A running instance's idempotency records: a day's worth is kept (kernel.idempotency purges
# older ones). Schemas before migration 0011 have no such table, and none before 0025 the
# booking_id column; these rows leave it empty.
_PAST_KEYS = """
INSERT INTO idempotency_record (caller, key, fingerprint, status_code, headers, body, created_at)
SELECT 'user:' || (g % 32 + 1), md5(g::text), md5(g::text), 201, '[]'::jsonb, ''::bytea,
       now() - (g % 86400) * interval '1 second'
FROM generate_series(1, $1) AS g
"""


async def seed_history(url_dsn: str, per_unit: int, keys: int, *, now: datetime) -> int:
    """The past of a running instance: ``per_unit`` bookings of every unit, one a day ending
    before ``now``, and ``keys`` idempotency records of the last day (where the schema has
    them); how many bookings. Run before ANALYZE, so that the planner sees tables that hold
    rows, as on a live instance: planned on empty tables, each pooled connection keeps plans
    that scan them whole (book_units()'s statements and the foreign-key checks), and those
    cost more with every booking the run adds.
    """
    conn = await asyncpg.connect(url_dsn)
    try:
        units = await conn.fetch(
            "SELECT r.place_id, r.id, u.id FROM resource r JOIN resource_unit u"
            " ON u.resource_id = r.id ORDER BY r.id, u.id"
        )
        users = [r[0] for r in await conn.fetch("SELECT id FROM user_account ORDER BY id")]
        every, length = timedelta(days=1), timedelta(hours=1)
        first = now.replace(minute=0, second=0, microsecond=0) - (per_unit + 1) * every
        rows = spread([(p, r, u) for p, r, u in units], users, per_unit, first, every, length)
        written = await copy_bookings(conn, rows, now=now)
        if await conn.fetchval("SELECT to_regclass('idempotency_record') IS NOT NULL"):
            await conn.execute(_PAST_KEYS, keys)
    finally:
        await conn.close()
    return written
