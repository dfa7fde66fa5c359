"""Read sessions (Database.reader): no BEGIN/COMMIT, and PostgreSQL itself refuses writes.

Every GET request reads through one. Without a transaction each statement commits on its own,
which is what makes them two round trips cheaper; their connections are opened with
``default_transaction_read_only``, so a statement that writes, whatever its form (a plain
UPDATE, a data-modifying CTE, a function that writes, a statement sent on the driver's own
connection), is refused by the server, not by a guess at its text.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kernel.db import Database
from kernel.driver import Statement, fetch

NOW = text("SELECT clock_timestamp() AS wall, now() AS began")
COUNTER = text("SELECT value FROM catalogue_revision WHERE id = 1")
READ_ONLY_TRANSACTION = "25006"  # SQLSTATE read_only_sql_transaction
# A function that writes, called from a plain SELECT.
WRITING_FUNCTION = text(
    "CREATE OR REPLACE FUNCTION test_bump_counter() RETURNS bigint LANGUAGE sql AS "
    "$$ UPDATE catalogue_revision SET value = value + 1 WHERE id = 1 RETURNING value $$"
)


async def test_a_read_session_runs_each_statement_on_its_own(database: Database) -> None:
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


def _refused_as_read_only(error: DBAPIError) -> bool:
    # SQLAlchemy's adapter and asyncpg's own errors both carry the SQLSTATE.
    return getattr(error.orig, "sqlstate", None) == READ_ONLY_TRANSACTION


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE catalogue_revision SET value = value + 1 WHERE id = 1",
        "INSERT INTO catalogue_revision (id, value) VALUES (2, 0)",
        "DELETE FROM catalogue_revision",
        "SELECT value FROM catalogue_revision FOR UPDATE",
        "SELECT value FROM catalogue_revision FOR NO KEY UPDATE",
        "WITH moved AS (UPDATE catalogue_revision SET value = value + 1 RETURNING value) "
        "SELECT value FROM moved",
        "SELECT test_bump_counter()",
        "SELECT nextval(pg_get_serial_sequence('place', 'id'))",
    ],
)
async def test_a_read_session_refuses_writes_and_locks(database: Database, statement: str) -> None:
    async with database.writer() as session:
        await (await session.connection()).execute(WRITING_FUNCTION)
        await session.commit()
    async with database.reader() as session:
        before = (await (await session.connection()).execute(COUNTER)).scalar_one()
        with pytest.raises(DBAPIError) as refused:
            await (await session.connection()).execute(text(statement))
        assert _refused_as_read_only(refused.value), refused.value
    async with database.reader() as session:
        assert (await (await session.connection()).execute(COUNTER)).scalar_one() == before


async def test_the_driver_connection_of_a_read_session_is_read_only_too(
    database: Database,
) -> None:
    """Statements sent past SQLAlchemy (kernel.driver) meet the same refusal."""
    async with database.writer() as session:
        await (await session.connection()).execute(WRITING_FUNCTION)
        await session.commit()
    async with database.reader() as session:
        # On a connection of the readers' direct pool: the session has begun nothing.
        with pytest.raises(DBAPIError) as refused:
            await fetch(session, Statement.of(text("SELECT test_bump_counter() AS value")), {})
        assert _refused_as_read_only(refused.value), refused.value
        writing = Statement.of(text("SELECT test_bump_counter() AS value"), writes=True)
        with pytest.raises(DBAPIError) as refused:
            await fetch(session, writing, {}, alone=True)
        assert _refused_as_read_only(refused.value), refused.value
        assert (await (await session.connection()).execute(COUNTER)).scalar_one() == 0
        # On the session's own connection, once it has begun.
        with pytest.raises(DBAPIError) as refused:
            await fetch(session, Statement.of(text("SELECT test_bump_counter() AS value")), {})
        assert _refused_as_read_only(refused.value), refused.value
    async with database.writer() as session:  # the same call on a writer goes through
        rows = await fetch(session, Statement.of(text("SELECT test_bump_counter() AS value")), {})
        assert rows[0]["value"] == 1
