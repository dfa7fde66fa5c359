"""Statements run on the driver's own connection (kernel.driver).

They must read like SQLAlchemy's, fail like SQLAlchemy's (a violated constraint is an
``IntegrityError``, a lost connection a disconnect that the pool recovers from), and be part of
the session's transaction once SQLAlchemy began one, on their own before that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import pytest
from sqlalchemy import Integer, bindparam, event, literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.db import DIRECT_POOL, Database, DirectPool
from kernel.driver import Statement, fetch
from kernel.errors import is_database_unavailable

SQUARE = Statement.of(
    select(
        (bindparam("number", type_=Integer) * bindparam("number", type_=Integer)).label("square"),
        literal("fixed").label("word"),
    )
)
SECOND_COUNTER = Statement.of(text("INSERT INTO catalogue_revision (id, value) VALUES (1, 0)"))
BUMP = Statement.of(
    text("UPDATE catalogue_revision SET value = value + 1 WHERE id = 1 RETURNING value")
)
COUNTER = text("SELECT value FROM catalogue_revision WHERE id = 1")


async def test_rows_are_read_by_name_with_the_statement_literals(database: Database) -> None:
    async with database.reader() as session:
        rows = await fetch(session, SQUARE, {"number": 7})
    assert [(row["square"], row["word"]) for row in rows] == [(49, "fixed")]


async def test_a_violated_constraint_is_an_integrity_error(database: Database) -> None:
    async with database.writer() as session:
        with pytest.raises(IntegrityError):
            await fetch(session, SECOND_COUNTER, {})  # the counter row is there already


async def test_on_its_own_before_the_transaction_and_part_of_it_after(
    database: Database,
) -> None:
    async with database.reader() as session:
        before = (await (await session.connection()).execute(COUNTER)).scalar_one()
    async with database.writer() as session:
        await fetch(session, BUMP, {})
        await session.rollback()  # nothing had begun: the update stood on its own
    async with database.writer() as session:
        await (await session.connection()).execute(
            text("SELECT 1")
        )  # SQLAlchemy begins the transaction
        await fetch(session, BUMP, {})
        await session.rollback()  # and takes the update back with it
    async with database.reader() as session:
        assert (await (await session.connection()).execute(COUNTER)).scalar_one() == before + 1


async def test_a_lost_connection_is_a_disconnect_and_the_pool_recovers(
    database: Database,
) -> None:
    async with database.writer() as session:
        await fetch(session, SQUARE, {"number": 2})
        pid = (await (await session.connection()).execute(text("SELECT pg_backend_pid()"))).scalar()
        async with database.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as caught:
            await fetch(session, SQUARE, {"number": 3})
        assert is_database_unavailable(caught.value)
        assert caught.value.connection_invalidated
    async with database.reader() as session:
        rows = await fetch(session, SQUARE, {"number": 4})
    assert rows[0]["square"] == 16


BACKEND = Statement.of(text("SELECT pg_backend_pid() AS pid"))


@contextmanager
def _checkouts(database: Database) -> Iterator[list[str]]:
    """The engines whose pools lend a connection while the block runs, in order."""
    lent: list[str] = []
    listeners = [
        (engine.sync_engine.pool, partial(lambda name, *_: lent.append(name), name))
        for name, engine in (("writer", database.engine), ("reader", database.read_engine))
    ]
    for pool, listener in listeners:
        event.listen(pool, "checkout", listener)
    try:
        yield lent
    finally:
        for pool, listener in listeners:
            event.remove(pool, "checkout", listener)


async def test_a_statement_on_its_own_takes_no_connection_of_the_engine(
    database: Database,
) -> None:
    """A session that runs only such statements (a plain booking, an availability read from a
    kept copy) leaves its engine's pool alone: lending one cost more than the statement's own
    work."""
    with _checkouts(database) as lent:
        async with database.writer() as session:
            assert (await fetch(session, SQUARE, {"number": 5}))[0]["square"] == 25
            await fetch(session, BUMP, {})
        assert lent == []
        async with database.writer() as session:  # once the session began, it lends its own
            await (await session.connection()).execute(text("SELECT 1"))
            await fetch(session, SQUARE, {"number": 2})
        assert lent == ["writer"]
        async with database.reader() as session:
            assert (await fetch(session, SQUARE, {"number": 6}))[0]["square"] == 36
        assert lent == ["writer"]
        async with database.reader() as session:  # a reader that began lends its own too
            await (await session.connection()).execute(text("SELECT 1"))
            await fetch(session, SQUARE, {"number": 3})
        assert lent == ["writer", "reader"]


async def test_a_lost_direct_connection_is_replaced(database: Database) -> None:
    # A pool of one connection, so that every statement is lent the same one until it dies.
    one = DirectPool(database.engine.url, max_size=1, server_settings={})

    def session() -> AsyncSession:
        return AsyncSession(database.engine, info={DIRECT_POOL: one})

    try:
        async with session() as first_session:
            first = (await fetch(first_session, BACKEND, {}))[0]["pid"]
        async with session() as again:
            assert (await fetch(again, BACKEND, {}))[0]["pid"] == first  # kept and lent again
        async with database.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        async with session() as after:
            try:  # the pool may have seen it go already; otherwise this statement finds out
                await fetch(after, BACKEND, {})
            except DBAPIError as lost:
                assert is_database_unavailable(lost) and lost.connection_invalidated
        async with session() as later:
            assert (await fetch(later, BACKEND, {}))[0]["pid"] != first
    finally:
        await one.close()
