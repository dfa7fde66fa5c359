"""What a refused call must leave alone: a cheap fingerprint of every table's rows."""

from __future__ import annotations

from sqlalchemy import text

from kernel.db import Database
from mutualab.metadata import metadata

# When a credential was last used is written after any answer, a refusal's too
# (accounts.identity.record_use, at most once a minute): the caller's bookkeeping, not a change
# the refused call made. Those columns are left out of the rows' digest.
USAGE_COLUMNS = {"api_token": "last_used_at", "browser_session": "last_seen_at"}


# The communes of France (35,000 rows loaded once a run): hashing each row's text cost 35 ms
# of the 45 a fingerprint took. Any insert or update gives a row a newer transaction id
# (xmin), and a delete lowers the count, so the newest xmin and the count fingerprint them.
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


_STATE = text(" UNION ALL ".join(_state_of(table.name) for table in metadata.sorted_tables))

TableState = dict[str, tuple[int, int]]


async def table_state(database: Database) -> TableState:
    """Rows and a content digest of every table."""
    async with database.engine.connect() as conn:
        return {name: (rows, digest) for name, rows, digest in await conn.execute(_STATE)}


def changed_tables(before: TableState, after: TableState) -> list[str]:
    """The tables whose rows differ."""
    return sorted(name for name in before if before[name] != after.get(name))
