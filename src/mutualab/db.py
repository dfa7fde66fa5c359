"""Database engine, sessions and the one-transaction-per-request dependency.

SQLite gets the settings that make it a safe embedded default: WAL, foreign keys,
a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so that a
check-then-insert can never interleave with another writer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from mutualab.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_OPTION = "mutualab_write"
# ASGI scope key of the session the authentication middleware opened for the request.
REQUEST_SESSION = "mutualab.db_session"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite so our "begin" hook decides the mode.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Writers take the write lock up front; readers keep WAL's concurrent snapshots.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_READ_VERBS = ("SELECT", "WITH", "SHOW")
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b|advisory", re.I)


class ReadOnlySessionError(RuntimeError):
    """A statement that writes or locks was sent on a read session (see Database.reader)."""


def _refuse_writes(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    # SQLAlchemy hands over the same string for the same compiled statement: each is
    # examined once (the cache is emptied if statements ever vary without end).
    reads = _READS.get(statement)
    if reads is None:
        verb = statement.lstrip()[:6].upper()
        reads = verb.startswith(_READ_VERBS) and not _LOCKING.search(statement)
        if len(_READS) >= _READS_KEPT:
            _READS.clear()
        _READS[statement] = reads
    if not reads:
        raise ReadOnlySessionError(f"Read sessions only read; refused: {statement[:80]!r}")


_READS: dict[str, bool] = {}
_READS_KEPT = 4096


def create_engine(url: str | URL, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine tuned for the dialect of ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, echo=echo, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(
        parsed,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it cost a round trip on every request. A connection that died with a
        # database restart fails its next statement with a disconnect error instead; SQLAlchemy
        # then throws away every connection opened before it, the request answers 503
        # (mutualab.errors), and the next ones get fresh connections.
        pool_timeout=10,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


@dataclass
class Database:
    """The engine and the two session factories (read and write) of one application."""

    engine: AsyncEngine
    reader: async_sessionmaker[AsyncSession]
    writer: async_sessionmaker[AsyncSession]

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """Build from configuration."""
        return cls.from_engine(
            create_engine(
                settings.database_url,
                pool_size=settings.database_pool_size,
                echo=settings.database_echo,
            )
        )

    @classmethod
    def from_engine(cls, engine: AsyncEngine) -> Database:
        """Wrap an existing engine."""
        write_engine = engine.execution_options(**{WRITE_OPTION: True})
        read_engine = engine
        if engine.dialect.name == "postgresql":
            # Reads without BEGIN and COMMIT: two round trips fewer per read request. Under
            # READ COMMITTED each statement sees its own snapshot inside a transaction too, so
            # a read sees nothing different; and as nothing could be rolled back, statements
            # that write or lock are refused on these sessions (a programming error).
            read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
            event.listen(read_engine.sync_engine, "before_cursor_execute", _refuse_writes)

        def factory(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
            return async_sessionmaker(bind=bind, class_=AsyncSession, expire_on_commit=False)

        return cls(engine=engine, reader=factory(read_engine), writer=factory(write_engine))

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def get_database(state: State) -> Database:
    """The application's database, set up at start-up."""
    database: Database = state.database
    return database


@asynccontextmanager
async def _request_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[AsyncSession]:
    opened = request.scope.get(REQUEST_SESSION)
    if isinstance(opened, AsyncSession):  # the middleware's; it closes it after the response
        yield opened
        return
    database = get_database(state)
    factory = database.reader if request.method in SAFE_METHODS else database.writer
    async with factory() as session:
        yield session


async def provide_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: commit on success, roll back on any error."""
    async with _request_session(state, request) as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
