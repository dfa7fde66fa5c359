"""Back to the migrated state: the rows a test wrote are removed, the reference rows stay."""

from __future__ import annotations

from sqlalchemy import CompoundSelect, exists, literal, select, text, union_all

from kernel.db import Database
from mutualab.metadata import metadata

# Tables whose trigger refuses DELETE (issued documents, closed periods): emptied by TRUNCATE.
TRUNCATED_TABLES = ("billing_document", "closed_period")


def _probe() -> CompoundSelect:
    """One query naming the tables that hold a row."""
    return union_all(
        *(
            select(literal(t.name)).where(exists(select(literal(1)).select_from(t)))
            for t in metadata.sorted_tables
        )
    )


async def empty_tables(database: Database, *, restart_counters: bool = True) -> None:
    """Only the tables a test filled are emptied, by DELETE (a TRUNCATE of every table cost
    ~80 ms a test; this costs a few), children first. The reference rows stay: the user types
    shared by all places and the communes loaded once a run.

    With ``restart_counters`` (between tests), every sequence a test used starts again at 1
    and the catalogue revision counter goes back to 0. Without it (between the steps of one
    test, on an app that keeps catalogue copies by place id and revision), ids and the
    revision go on, so nothing kept before can be taken for a new row.
    """
    async with database.engine.begin() as conn:
        filled = {name for (name,) in await conn.execute(_probe())}
        truncated = [name for name in TRUNCATED_TABLES if name in filled]
        if truncated:
            names = ", ".join(f'"{name}"' for name in truncated)
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
        for table in reversed(metadata.sorted_tables):
            if table.name not in filled or table.name in truncated or table.name == "commune":
                continue
            if table.name == "user_type":
                await conn.execute(table.delete().where(table.c.place_id.is_not(None)))
            elif table.name != "catalogue_revision":
                await conn.execute(table.delete())
        # The queue: every booking queues its event, and a test's ids start again at 1 (a
        # leftover event of booking 1 would be taken for the next test's).
        await conn.execute(text("DELETE FROM jobs.pgqueuer"))
        await conn.execute(text("DELETE FROM jobs.pgqueuer_log"))
        if not restart_counters:
            return
        # The migration's single counter row (booking.snapshots reads it), after the deletes
        # (their triggers bump it).
        await conn.execute(text("DELETE FROM catalogue_revision"))
        await conn.execute(text("INSERT INTO catalogue_revision (id, value) VALUES (1, 0)"))
        await conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
                # The queue's ids (schema jobs) go on: its rows outlive a test unless it
                # empties the queue (tests.support.jobs), and must never meet a reused id.
                "FROM pg_sequences WHERE last_value IS NOT NULL AND schemaname <> 'jobs'"
            )
        )
