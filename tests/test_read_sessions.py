"""Read sessions (Database.reader) on PostgreSQL: no BEGIN/COMMIT, and nothing but reads.

Every GET request reads through one. Without a transaction each statement commits on its own,
which is what makes them two round trips cheaper; so a statement that writes or locks must be
refused there, before it reaches the database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mutualab.db import Database, ReadOnlySessionError

NOW = text("SELECT clock_timestamp() AS wall, now() AS began")
COUNTER = text("SELECT value FROM catalogue_revision WHERE id = 1")


async def test_a_read_session_runs_each_statement_on_its_own(
    database: Database, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite reads keep their transaction")
    async with database.reader() as session:
        first = (await (await session.connection()).execute(NOW)).one()
        await (await session.connection()).execute(text("SELECT pg_sleep(0.01)"))
        second = (await (await session.connection()).execute(NOW)).one()
    # now() is the start of the transaction: it moves, so every statement was one.
    assert second.began > first.began
    async with database.writer() as session:
        first = (await (await session.connection()).execute(NOW)).one()
        await (await session.connection()).execute(text("SELECT pg_sleep(0.01)"))
        second = (await (await session.connection()).execute(NOW)).one()
    assert second.began == first.began  # writes keep one transaction


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE catalogue_revision SET value = value + 1 WHERE id = 1",
        "INSERT INTO catalogue_revision (id, value) VALUES (2, 0)",
        "DELETE FROM catalogue_revision",
        "SELECT value FROM catalogue_revision FOR UPDATE",
        "SELECT value FROM catalogue_revision FOR NO KEY UPDATE",
        "SELECT pg_advisory_xact_lock(1)",
    ],
)
async def test_a_read_session_refuses_writes_and_locks(
    database: Database, backend: str, statement: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite reads keep their transaction")
    async with database.reader() as session:
        before = (await (await session.connection()).execute(COUNTER)).scalar_one()
        with pytest.raises(ReadOnlySessionError):
            await (await session.connection()).execute(text(statement))
    async with database.reader() as session:
        assert (await (await session.connection()).execute(COUNTER)).scalar_one() == before
