"""Back to the migrated state: the rows a test wrote are removed, the reference rows stay."""

from __future__ import annotations

from sqlalchemy import text

from kernel.db import Database
from mutualab.metadata import metadata

# Tables whose trigger refuses DELETE (issued documents, closed periods): emptied by TRUNCATE,
# when they hold a row (a TRUNCATE costs milliseconds: new files for every table it empties).
TRUNCATED_TABLES = ("billing_document", "closed_period")
# Reference rows, kept: the communes loaded once a run and the revision counter (reset below,
# or moved on by the deletes' triggers), whole; of the user types, those shared by all places.
_REFERENCE = {"commune", "catalogue_revision"}


def written_rows(table: str) -> str | None:
    """The condition of the rows of ``table`` a test may have written ("" for all of them), or
    None for a table of reference rows only."""
    if table in _REFERENCE:
        return None
    return " WHERE place_id IS NOT NULL" if table == "user_type" else ""


# The API tokens go first, in a statement of their own: the app's credential cache forgets what
# it kept when it sees a write of that table on its engine (accounts.credential_cache).
_TOKENS = text("DELETE FROM api_token")


def _deletes() -> str:
    deletes = []
    for table in reversed(metadata.sorted_tables):  # children first
        rows = written_rows(table.name)
        if rows is not None and table.name not in {*TRUNCATED_TABLES, "api_token"}:
            deletes.append(f'DELETE FROM "{table.name}"{rows};')  # noqa: S608 (our metadata's names)
    return "\n".join(deletes)


# Everything else in one statement, one round trip (a probe and a DELETE per filled table cost
# ~12 ms a test, one round trip each). The names are our own metadata's.
_EVERYTHING_ELSE = text(
    "DO $empty$ BEGIN "  # noqa: S608
    f"IF {' OR '.join(f'EXISTS (SELECT FROM {t})' for t in TRUNCATED_TABLES)} THEN "
    f"TRUNCATE {', '.join(TRUNCATED_TABLES)} CASCADE; END IF;\n"
    f"{_deletes()}\n"
    # The queue: every booking queues its event, and a test's ids start again at 1 (a leftover
    # event of booking 1 would be taken for the next test's).
    "DELETE FROM jobs.pgqueuer; DELETE FROM jobs.pgqueuer_log; "
    "END $empty$"
)

# Between tests: the migration's single counter row (booking.snapshots reads it) back to 0, and
# every sequence a test used back to 1. The queue's ids (schema jobs) go on: its rows outlive a
# test unless it empties the queue (tests.support.jobs), and must never meet a reused id.
_RESTART = text(
    "DO $restart$ BEGIN "
    "DELETE FROM catalogue_revision; INSERT INTO catalogue_revision (id, value) VALUES (1, 0); "
    "PERFORM setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
    "FROM pg_sequences WHERE last_value IS NOT NULL AND schemaname <> 'jobs'; "
    "END $restart$"
)


async def empty_tables(database: Database, *, restart_counters: bool = True) -> None:
    """Every row a test wrote is removed, children first, in two or three statements (a
    TRUNCATE of every table cost ~80 ms a test, a DELETE per filled table ~12). The reference
    rows stay: the user types shared by all places and the communes loaded once a run.

    With ``restart_counters`` (between tests), every sequence a test used starts again at 1
    and the catalogue revision counter goes back to 0. Without it (between the steps of one
    test, on an app that keeps catalogue copies by place id and revision), ids go on and the
    deletes' triggers move the revision on, so nothing kept before can be taken for a new row.
    """
    async with database.engine.begin() as conn:
        await conn.execute(_TOKENS)
        await conn.execute(_EVERYTHING_ELSE)
        if restart_counters:
            await conn.execute(_RESTART)
