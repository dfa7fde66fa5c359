"""The hottest statements, run on asyncpg connections past SQLAlchemy (PostgreSQL).

Every booking request runs two statements: its credentials and the ``book_units()`` call;
every availability read from a kept catalogue copy one: the catalogue counter beside the
busy ranges. Through SQLAlchemy's execution layer each cost the worker about as much as in the
database, and the adapter sends a ``BEGIN`` before the first and a ``COMMIT`` after the last.
Run on the driver's connection, they skip that layer and need neither ``BEGIN`` nor
``COMMIT``: on a connection of the session's direct pool (:class:`kernel.db.DirectPool`) while
the session has begun nothing, else on the session's own connection.

So only statements that are right on their own belong here: reads that need no snapshot shared
with the rest of the request (credentials), and calls that are atomic by themselves
(``book_units()``). Run after SQLAlchemy began the request's transaction, they are part of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import Select, TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.db import DIRECT_POOL, DirectPool
from kernel.errors import OutcomeUnknownError

_POSTGRESQL = asyncpg_dialect()  # type: ignore[no-untyped-call]
_INTEGRITY_CLASS = "23"  # SQLSTATE class of constraint violations


@dataclass(frozen=True)
class Statement:
    """A Core statement and its PostgreSQL text, compiled once: ``$n`` in ``names`` order."""

    statement: Select[Any] | TextClause
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    writes: bool = False

    @classmethod
    def of(cls, statement: Select[Any] | TextClause, *, writes: bool = False) -> Statement:
        """Compile ``statement`` for asyncpg; ``writes``: it changes data (a function call)."""
        compiled = statement.compile(dialect=_POSTGRESQL)
        return cls(
            statement, str(compiled), tuple(compiled.positiontup or ()), compiled.params, writes
        )

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``params`` (literals of the statement filled in)."""
        return [params[name] if name in params else self.defaults[name] for name in self.names]


async def fetch(
    session: AsyncSession | AsyncConnection,
    statement: Statement,
    params: Mapping[str, Any],
    *,
    alone: bool = False,
) -> Sequence[Any]:
    """The rows of ``statement``, each read by column name (``row["name"]``).

    A statement that writes runs on its own (committing by itself when no transaction was
    begun) only if the caller says it is the request's whole change (``alone``); otherwise it
    goes through SQLAlchemy, which begins the request's transaction first, so that it is
    stored with the rest of the change or not at all. One that runs on its own before the
    session began anything takes a connection of the session's direct pool
    (:class:`kernel.db.DirectPool`), not one of its engine.

    Errors come out as SQLAlchemy's would: ``IntegrityError`` for a violated constraint, and a
    lost connection as a disconnect error (answered 503 by :mod:`kernel.errors`), that
    connection and every older pooled one thrown away.
    """
    direct: DirectPool | None = None
    if isinstance(session, AsyncSession):
        direct = session.info.get(DIRECT_POOL)
        on_its_own = alone or not statement.writes
        if direct is not None and on_its_own and not session.sync_session.in_transaction():
            return await _direct(session, direct, statement, params)
    connection = session if isinstance(session, AsyncConnection) else await session.connection()
    if statement.writes and not alone:
        result = await connection.execute(statement.statement, dict(params))
        return [row._mapping for row in result]
    sync = connection.sync_connection
    assert sync is not None  # a connection the session handed over is started
    # The connection the session just handed over is live: its pooled connection is at hand
    # without another trip through SQLAlchemy's greenlet bridge.
    pooled = sync.connection if not sync.invalidated else await connection.get_raw_connection()
    driver = pooled.driver_connection
    assert isinstance(driver, asyncpg.Connection)

    async def drop_pooled(error: Exception) -> None:
        # What SQLAlchemy does on a disconnect: this connection is dropped (its transaction, if
        # any, is over), and so is every pooled one opened before.
        await connection.invalidate(error)
        await forget_opened(connection.engine, direct)

    return await run_statement(driver, statement, params, lost=drop_pooled)


async def forget_opened(engine: AsyncEngine | None, direct: DirectPool | None) -> None:
    """Every connection the pools opened so far died with the server: fresh ones next time."""
    if engine is not None:
        await engine.dispose(close=False)
    if direct is not None:
        await direct.expire()


async def _direct(
    session: AsyncSession, direct: DirectPool, statement: Statement, params: Mapping[str, Any]
) -> list[Any]:
    """``statement`` on a connection of the session's direct pool (it runs on its own)."""

    async def drop_pooled(_error: Exception) -> None:
        engine = session.bind
        await forget_opened(engine if isinstance(engine, AsyncEngine) else None, direct)

    async with direct.connection() as driver:
        return await run_statement(driver, statement, params, lost=drop_pooled)


def is_closed(driver: asyncpg.Connection | PoolConnectionProxy) -> bool:
    """Whether ``driver``'s connection is gone. asyncpg's pool takes back a lent connection
    (detaching it from its proxy, which then refuses every call) as soon as it closes."""
    try:
        closed: bool = driver.is_closed()
    except asyncpg.InterfaceError:
        return True
    return closed


async def run_statement(
    driver: asyncpg.Connection | PoolConnectionProxy,
    statement: Statement,
    params: Mapping[str, Any],
    *,
    lost: Callable[[Exception], Awaitable[None]],
) -> list[Any]:
    """``statement`` on ``driver``, its errors as SQLAlchemy's; ``lost`` is called when the
    connection turns out dead, so that the next requests get fresh connections."""
    on_its_own = not driver.is_in_transaction()
    try:
        rows: list[Any] = await driver.fetch(statement.sql, *statement.arguments(params))
    except Exception as error:
        if str(getattr(error, "sqlstate", "")).startswith(_INTEGRITY_CLASS):
            raise IntegrityError(statement.sql, None, error) from error
        if not is_closed(driver):
            raise DBAPIError(statement.sql, None, error) from error
        # The database went away (restart, crash): the next requests get fresh connections.
        await lost(error)
        if statement.writes and on_its_own:
            # It committed on its own, and may have done so before the connection was lost.
            raise OutcomeUnknownError from error
        raise DBAPIError(statement.sql, None, error, connection_invalidated=True) from error
    return rows
