"""What a refused call must leave alone: a cheap fingerprint of every table's rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import TextClause, text

from kernel.db import Database
from mutualab.metadata import metadata

# When a credential was last used is written after any answer, a refusal's too
# (accounts.identity.record_use, at most once a minute): the caller's bookkeeping, not a change
# the refused call made. Those columns are left out of the rows' digest.
USAGE_COLUMNS = {"api_token": "last_used_at", "browser_session": "last_seen_at"}


# The communes of France: 35,000 reference rows loaded once a run, which no request writes.
# Hashing each row's text cost 35 ms of the 45 a fingerprint took; their newest transaction id
# (xmin) and count still cost 8 of the 11 left. So they are fingerprinted around a whole test
# (reference_rows_unchanged), and the other tables around each call (table_state). Any insert
# or update gives a row a newer xmin, and a delete lowers the count.
BY_ROW_VERSION = {"commune"}


# Per table: how many rows, and a sum of a hash of each whole row (an insert, update or
# delete changes it, bar a collision).
def _state_of(name: str) -> str:
    # Table and column names come from our own metadata and code, never from input.
    if name in BY_ROW_VERSION:
        digest = "coalesce(max(xmin::text::bigint), 0)"
    else:
        row = (
            f"(to_jsonb(t) - '{USAGE_COLUMNS[name]}')::text" if name in USAGE_COLUMNS else "t::text"
        )
        digest = f"coalesce(sum(hashtext({row})::bigint), 0)"
    return f"SELECT '{name}', count(*), {digest} FROM \"{name}\" t"  # noqa: S608


def _state(names: Iterable[str]) -> TextClause:
    return text(" UNION ALL ".join(_state_of(name) for name in names))


_WRITTEN = _state(t.name for t in metadata.sorted_tables if t.name not in BY_ROW_VERSION)
_REFERENCE = _state(sorted(BY_ROW_VERSION))

TableState = dict[str, tuple[int, int]]


async def _read(database: Database, statement: TextClause) -> TableState:
    async with database.engine.connect() as conn:
        return {name: (rows, digest) for name, rows, digest in await conn.execute(statement)}


async def table_state(database: Database) -> TableState:
    """Rows and a content digest of every table but the reference communes."""
    return await _read(database, _WRITTEN)


@asynccontextmanager
async def reference_rows_unchanged(database: Database) -> AsyncIterator[None]:
    """Fail unless the reference communes are as they were, row versions included."""
    before = await _read(database, _REFERENCE)
    yield
    changed = changed_tables(before, await _read(database, _REFERENCE))
    assert not changed, f"the reference rows changed: {changed}"


def changed_tables(before: TableState, after: TableState) -> list[str]:
    """The tables whose rows differ."""
    return sorted(name for name in before if before[name] != after.get(name))
