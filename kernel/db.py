"""Database engines, sessions and the one-transaction-per-request dependency (PostgreSQL).

Two engines share one server: writers, whose lock waits are bounded by ``lock_timeout`` (a
timeout is answered 503 ``busy``, never a 30-second wait), and readers, whose connections
PostgreSQL itself keeps read-only (``default_transaction_read_only``) and which run without
``BEGIN``/``COMMIT`` (autocommit): under READ COMMITTED each statement sees its own snapshot
inside a transaction too, so a read sees nothing different and saves two round trips.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.errors import OutcomeUnknownError, is_database_unavailable
from kernel.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# ASGI scope key of the session the authentication middleware opened for the request.
REQUEST_SESSION = "mutualab.db_session"
DEFAULT_LOCK_TIMEOUT_MS = 3000


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 10,
    echo: bool = False,
    server_settings: dict[str, str] | None = None,
) -> AsyncEngine:
    """An async engine on the PostgreSQL server at ``url``."""
    return create_async_engine(
        make_url(url),
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it cost a round trip on every request. A connection that died with a
        # database restart fails its next statement with a disconnect error instead; SQLAlchemy
        # then throws away every connection opened before it, the request answers 503
        # (kernel.errors), and the next ones get fresh connections.
        pool_timeout=10,
        connect_args={
            "timeout": 5,
            "command_timeout": 30,
            "server_settings": server_settings or {},
        },
    )


@dataclass
class Database:
    """The two engines and their session factories (read and write) of one application."""

    engine: AsyncEngine
    read_engine: AsyncEngine
    reader: async_sessionmaker[AsyncSession]
    writer: async_sessionmaker[AsyncSession]

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """Build from configuration."""
        return cls.connect(
            settings.require_database_url(),
            pool_size=settings.database_pool_size,
            echo=settings.database_echo,
            lock_timeout_ms=settings.database_lock_timeout_ms,
        )

    @classmethod
    def connect(
        cls,
        url: str | URL,
        *,
        pool_size: int = 10,
        echo: bool = False,
        lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    ) -> Database:
        """Engines for the database at ``url``: one for writers, one for readers."""
        engine = create_engine(
            url,
            pool_size=pool_size,
            echo=echo,
            server_settings={"lock_timeout": str(lock_timeout_ms)},
        )
        read_engine = create_engine(
            url,
            pool_size=pool_size,
            echo=echo,
            server_settings={"default_transaction_read_only": "on"},
        ).execution_options(isolation_level="AUTOCOMMIT")

        def factory(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
            return async_sessionmaker(bind=bind, class_=AsyncSession, expire_on_commit=False)

        return cls(
            engine=engine,
            read_engine=read_engine,
            reader=factory(read_engine),
            writer=factory(engine),
        )

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        await self.read_engine.dispose()


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


async def commit(session: AsyncSession) -> None:
    """Commit; a connection lost meanwhile is an unknown outcome, never a plain failure."""
    try:
        await session.commit()
    except Exception as exc:
        if is_database_unavailable(exc):
            # The server may have carried out the COMMIT before the connection was lost.
            raise OutcomeUnknownError from exc
        raise


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
        await commit(session)
