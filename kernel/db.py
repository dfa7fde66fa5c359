"""Database engines, sessions and the one-transaction-per-request rule (PostgreSQL).

Two engines share one server: writers, whose lock waits are bounded by ``lock_timeout`` (a
timeout is answered 503 ``busy``, never a 30-second wait), and readers, whose connections
PostgreSQL itself keeps read-only (``default_transaction_read_only``) and which run without
``BEGIN``/``COMMIT`` (autocommit): under READ COMMITTED each statement sees its own snapshot
inside a transaction too, so a read sees nothing different and saves two round trips.

A request's transaction ends at the edge, when its answer starts (:class:`EdgeTransaction`):
committed when the status is 2xx or 3xx, rolled back otherwise, also when a handler rendered a
4xx page itself after writing. No handler rolls the request's session back or commits it;
a change that must be kept whatever the answer (a counted log-in attempt) is made in a short
transaction of its own (``accounts.throttle``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from inspect import getmro
from typing import Any, Protocol

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from litestar import Request
from litestar.datastructures import State
from litestar.types import HTTPResponseStartEvent, Message, Receive, Scope, Send
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.errors import OutcomeUnknownError, failure_summary, is_database_unavailable
from kernel.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# ASGI scope key of the session the authentication middleware opened for the request.
REQUEST_SESSION = "mutualab.db_session"
DEFAULT_LOCK_TIMEOUT_MS = 3000
# ASGI scope key of what must be stored with the request's changes (an idempotency claim).
ANSWER_KEEPER = "mutualab.idempotency"
# Key in a session's ``info`` of the DirectPool beside its engine (kernel.driver).
DIRECT_POOL = "mutualab.direct_pool"
# What runs on a connection opened ahead of the requests (DirectPool.open_ahead).
Prime = Callable[[PoolConnectionProxy], Awaitable[object]]
POOL_TIMEOUT_S = 10  # waiting for a free pooled connection; then 503 busy
CONNECT_TIMEOUT_S = 5
COMMAND_TIMEOUT_S = 30

logger = logging.getLogger("mutualab.db")


def create_engine(
    url: str | URL,
    *,
    pool_size: int = 10,
    echo: bool = False,
    server_settings: dict[str, str] | None = None,
) -> AsyncEngine:
    """An async engine on the PostgreSQL server at ``url``."""
    url = make_url(url)
    return create_async_engine(
        url,
        echo=echo,
        # Up to twice ``pool_size`` connections, each kept once opened (opened as needed): an
        # overflow connection is closed when it comes back to a full pool, so more requests at
        # once than pooled connections opened and closed a PostgreSQL backend all the time,
        # whose start-ups were the slowest requests' wait (bench/availability.py, one worker
        # and 32 connections on a pool of 20).
        pool_size=2 * pool_size,
        max_overflow=0,
        # No pre-ping: it cost a round trip on every request. A connection that died with a
        # database restart fails its next statement with a disconnect error instead; SQLAlchemy
        # then throws away every connection opened before it, the request answers 503
        # (kernel.errors), and the next ones get fresh connections.
        pool_timeout=POOL_TIMEOUT_S,
        async_creator=partial(connect, **connect_arguments(url, server_settings or {})),
    )


def connect_arguments(url: URL, server_settings: dict[str, str]) -> dict[str, Any]:
    """What ``asyncpg.connect`` needs for ``url`` (as SQLAlchemy's dialect reads it), with our
    timeouts and the pool's server settings."""
    _, params = asyncpg_dialect().create_connect_args(url)  # type: ignore[no-untyped-call]
    for adapter_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
        params.pop(adapter_only, None)  # read by SQLAlchemy's adapter, unknown to asyncpg
    return {
        **params,
        "timeout": CONNECT_TIMEOUT_S,
        "command_timeout": COMMAND_TIMEOUT_S,
        "server_settings": server_settings,
    }


async def connect(dsn: str | None = None, **arguments: Any) -> asyncpg.Connection:
    """A new connection. A server that cannot be reached at all is a ``ConnectionError`` (what
    a refused port raises), so that every pool and :mod:`kernel.errors` answer 503: with no
    socket file where the settings point (PostgreSQL is not running), asyncpg raises
    ``FileNotFoundError``, which the service answered 500. The engines and the direct pool
    make every connection here."""
    try:
        return await asyncpg.connect(dsn, **arguments)
    except ConnectionError:
        raise
    except OSError as error:
        raise ConnectionRefusedError(
            error.errno, f"PostgreSQL cannot be reached: {error}"
        ) from error


async def _keep_as_is(_connection: asyncpg.Connection) -> None:
    """A DirectPool's connection needs no reset on return (see DirectPool)."""


class DirectPool:
    """asyncpg connections lent to one statement at a time (``kernel.driver``), past SQLAlchemy.

    A session that only runs such statements (a plain booking and its credentials, an
    availability read from a kept copy) need not take a connection of its engine at all:
    SQLAlchemy's lending and taking back cost a request about 180 µs of the worker's CPU,
    asyncpg's pool about 40 (docs/deploy.md). Same server, settings and timeouts as the engine
    it stands beside; up to ``max_size`` connections, each opened as needed (or ahead of the
    first requests, :meth:`open_ahead`) and kept. None is reset on return: its statements run
    on their own (each commits by itself) and leave no transaction, setting or listener behind.
    """

    def __init__(
        self,
        url: URL,
        *,
        max_size: int,
        server_settings: dict[str, str],
        wait_for_returning: bool = False,
    ) -> None:
        self._connect_args = connect_arguments(url, server_settings)
        self._max_size = max_size
        # Whether a request that finds no connection free waits for one on its way back rather
        # than have a backend started (see connection()).
        self._wait_for_returning = wait_for_returning
        self._pool: asyncpg.Pool | None = None
        self._returning: set[asyncio.Future[None]] = set()
        # Calls sent together on this pool (kernel.together), by statement and event loop.
        self.lanes: dict[tuple[object, asyncio.AbstractEventLoop], object] = {}
        # Connections being opened ahead of the first requests (:meth:`open_ahead`).
        self.opening: asyncio.Task[None] | None = None

    @property
    def size(self) -> int:
        """How many connections are open."""
        return self._pool.get_size() if self._pool is not None else 0

    def open_ahead(self, count: int, prime: Prime | None = None) -> asyncio.Task[None]:
        """Start opening ``count`` connections (at most the pool's size), kept as all are, and
        run ``prime`` on each: the statements the requests will send first.

        Opened as needed instead, the first requests served at that concurrency each waited for
        a new PostgreSQL backend to start, then to load the tables, indexes and plan of its
        first statement: a tail of their own (a resource's week: p99 4.8 to 6.8 times its
        median, 2.4 to 2.9 with the connections open and primed, docs/deploy.md). They are
        opened in the background: requests are served meanwhile, on connections of their own
        if need be, and a database that cannot be reached only delays them.
        """
        self.opening = asyncio.create_task(self._open_ahead(min(count, self._max_size), prime))
        return self.opening

    async def _open_ahead(self, count: int, prime: Prime | None) -> None:
        pool = self._pool or await self._open()
        # Taken all at once, so that each is a connection of its own (idle ones included),
        # then given back, even when the opening is cancelled (a worker stopping as it starts):
        # the pool's close waits for every connection taken from it.
        taking = [asyncio.ensure_future(pool.acquire()) for _ in range(count)]
        failures: list[BaseException] = []
        try:
            taken = await asyncio.gather(*taking, return_exceptions=True)
            opened = [t for t in taken if not isinstance(t, BaseException)]
            failures += [t for t in taken if isinstance(t, BaseException)]
            if prime is not None:
                primed = await asyncio.gather(*(prime(c) for c in opened), return_exceptions=True)
                failures += [p for p in primed if isinstance(p, BaseException)]
        finally:
            for task in taking:
                task.cancel()  # one still connecting gives its place back itself
            done = [
                t.result() for t in taking if t.done() and not t.cancelled() and not t.exception()
            ]
            await asyncio.gather(*(pool.release(c) for c in done), return_exceptions=True)
        if failures:
            logger.warning(
                "opening %d connections ahead: %d failed (%s)",
                count,
                len(failures),
                failure_summary(failures[0]),
            )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PoolConnectionProxy]:
        """A pooled connection for one statement; not reaching the server is a disconnect
        (answered 503 by :mod:`kernel.errors`), as SQLAlchemy's pool reports it."""
        pool = self._pool or await self._open()
        if self._wait_for_returning and self._returning and not pool.get_idle_size():
            # None is free, but one is on its way back (see below): asyncpg would start a new
            # backend for this request, in the middle of a burst, and keep it. Seen at the
            # start of each timed read in bench/growth.py: 19 backends started in one worker
            # whose 20 connections had been opened ahead, and the reads' p99 at 6 times the median.
            await asyncio.wait(self._returning, return_when=asyncio.FIRST_COMPLETED)
        try:
            # Not ``acquire(timeout=…)``: asyncpg runs a timed acquire as a task of its own,
            # which waits a turn of the event loop behind every ready request even when a
            # connection is free (in the term-opening mix, tens of milliseconds).
            async with asyncio.timeout(POOL_TIMEOUT_S):
                connection = await pool.acquire()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise DBAPIError("connect", None, error, connection_invalidated=True) from error
        try:
            yield connection
        finally:
            # Given back without waiting: asyncpg's release is a shielded task of its own, so
            # awaiting it would cost the request another turn of the loop. Kept referenced
            # until done (the loop holds tasks weakly).
            returning = asyncio.ensure_future(pool.release(connection))
            self._returning.add(returning)
            returning.add_done_callback(self._returned)

    def _returned(self, task: asyncio.Future[None]) -> None:
        self._returning.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # asyncpg terminated that connection; the pool opens another when needed.
            logger.warning("a direct connection was not given back: %s", failure_summary(error))

    async def _open(self) -> asyncpg.Pool:
        # No connection is opened here (min_size 0), so this does not wait: two requests cannot
        # both find the pool missing and make one each.
        pool = asyncpg.create_pool(
            min_size=0,
            max_size=self._max_size,
            # Kept, not replaced after a number of queries or a while idle: a replacement
            # is a new PostgreSQL backend in the middle of someone's request.
            max_queries=2**62,
            max_inactive_connection_lifetime=0,
            reset=_keep_as_is,
            connect=connect,
            **self._connect_args,
        )
        self._pool = pool
        await pool
        return pool

    async def expire(self) -> None:
        """Replace every connection opened so far as it is next used (the server restarted)."""
        if self._pool is not None:
            await self._pool.expire_connections()

    async def close(self) -> None:
        """Close its connections (they belong to the event loop that opened them)."""
        opening, self.opening = self.opening, None
        if opening is not None and not opening.done():
            opening.cancel()
            await asyncio.gather(opening, return_exceptions=True)
        pool, self._pool = self._pool, None
        self.lanes.clear()
        if pool is not None:
            await asyncio.gather(*self._returning, return_exceptions=True)
            await pool.close()


@dataclass
class Database:
    """The two engines, the writers' direct pool and their session factories (read and write)
    of one application."""

    engine: AsyncEngine
    read_engine: AsyncEngine
    reader: async_sessionmaker[AsyncSession]
    writer: async_sessionmaker[AsyncSession]
    direct_writes: DirectPool
    direct_reads: DirectPool

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
        url = make_url(url)
        write_settings = {"lock_timeout": str(lock_timeout_ms)}
        read_settings = {"default_transaction_read_only": "on"}
        engine = create_engine(url, pool_size=pool_size, echo=echo, server_settings=write_settings)
        read_engine = create_engine(
            url, pool_size=pool_size, echo=echo, server_settings=read_settings
        ).execution_options(isolation_level="AUTOCOMMIT")
        # A direct pool each for writers and readers: a plain booking is one or two statements
        # on their own, an availability read from a kept copy one, and lending them a connection
        # of the session's engine cost more than their own work (docs/deploy.md, connection
        # pools: measured under the term-opening mix as well).
        direct_writes = DirectPool(url, max_size=2 * pool_size, server_settings=write_settings)
        # Only the readers' pool waits for a connection on its way back: that is where backends
        # started mid-burst were seen (docs/deploy.md, session 31); the writers' pool, whose
        # first bursts the benches warm up at full concurrency, opens as before.
        direct_reads = DirectPool(
            url, max_size=2 * pool_size, server_settings=read_settings, wait_for_returning=True
        )

        def factory(
            bind: AsyncEngine, direct: DirectPool | None
        ) -> async_sessionmaker[AsyncSession]:
            info = {DIRECT_POOL: direct} if direct is not None else {}
            return async_sessionmaker(
                bind=bind, class_=AsyncSession, expire_on_commit=False, info=info
            )

        return cls(
            engine=engine,
            read_engine=read_engine,
            reader=factory(read_engine, direct_reads),
            writer=factory(engine, direct_writes),
            direct_writes=direct_writes,
            direct_reads=direct_reads,
        )

    def open_ahead(self, count: int, prime: Prime | None = None) -> None:
        """Start opening ``count`` connections of the readers' direct pool, those a worker's
        reads use at once, and run ``prime`` on each (:meth:`DirectPool.open_ahead`). Not the
        writers': a booking cannot be primed for nothing, and only the reads' first burst was
        measured to need it; so a worker starts with half the connections."""
        self.direct_reads.open_ahead(count, prime)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        await self.read_engine.dispose()
        await self.direct_writes.close()
        await self.direct_reads.close()


def get_database(state: State) -> Database:
    """The application's database, set up at start-up."""
    database: Database = state.database
    return database


async def commit(session: AsyncSession) -> None:
    """Commit; a connection lost meanwhile is an unknown outcome, never a plain failure."""
    try:
        await session.commit()
    except Exception as exc:
        if is_database_unavailable(exc):
            # The server may have carried out the COMMIT before the connection was lost.
            raise OutcomeUnknownError from exc
        raise


def nothing_to_commit(session: AsyncSession) -> bool:
    """Whether a commit would send nothing: no change of ORM objects waits, and the session's
    connection, if it took one, is in no transaction (its statements committed on their own,
    as ``kernel.driver`` runs them). Closing the session then ends it as well: SQLAlchemy's
    commit of such a session cost about a tenth of a booking request's CPU for nothing."""
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted:
        return False
    if not sync.in_transaction():
        return True
    driver = sync.connection().connection.driver_connection  # taken already: no I/O
    return isinstance(driver, asyncpg.Connection) and not driver.is_in_transaction()


class AnswerKeeper(Protocol):
    """Stores a committed answer in the transaction that commits it (kernel.idempotency)."""

    key: str

    async def keep(
        self, session: AsyncSession, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """Write the answer with the request's changes."""


def commits(status: int) -> bool:
    """Whether an answer with this status makes the request's changes final (2xx and 3xx)."""
    return 200 <= status < 400


class EdgeTransaction:
    """Ends the request's transaction as its answer starts: commit on 2xx/3xx, else roll back.

    Wraps the ASGI ``send`` of the middleware that opened the session (:data:`REQUEST_SESSION`),
    so the rule holds for every answer, whether a handler returned it (a 422 form page after a
    failed write included) or an exception handler rendered it. The commit runs before the
    first byte leaves, so a failing commit can still change the answer: a lost connection is
    answered 503 ``outcome_unknown`` (:func:`commit`), any other failure as that exception is
    answered by the route's exception handlers; the original answer is then dropped. (A Litestar
    ``before_send`` hook, as advanced-alchemy's autocommit handler uses, runs outside the
    exception handling: a failing commit there breaks the response instead.)

    A request holding an idempotency key (:data:`ANSWER_KEEPER`) that commits has its whole
    answer held back until the last body part, stored in the transaction, and then committed
    and sent: the change and the answer a retry will get are made final together.
    """

    def __init__(self, session: AsyncSession, scope: Scope, receive: Receive, send: Send) -> None:
        self.session = session
        self.scope = scope
        self.receive = receive
        self._send = send
        self._replaced = False
        self._held: HTTPResponseStartEvent | None = None  # an answer held back, to be kept
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        """Forward ``message``, ending the transaction first if it starts the answer."""
        if self._replaced:  # the rest of an answer whose commit failed
            return
        if self._held is not None:
            await self._hold(message)
            return
        if message["type"] == "http.response.start":
            if self._keeper() is not None and commits(message["status"]):
                self._held = message
                return
            try:
                await self.end(message["status"])
            except Exception as exc:
                self._replaced = True
                await self._answer_failure(exc)
                return
        await self._send(message)

    def _keeper(self) -> AnswerKeeper | None:
        keeper: AnswerKeeper | None = self.scope.get(ANSWER_KEEPER)  # type: ignore[assignment]
        return keeper

    async def _hold(self, message: Message) -> None:
        """Gather the answer; at its end, store it, commit, and send it all."""
        if message["type"] != "http.response.body":
            return
        self._body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        start, self._held = self._held, None
        keeper = self._keeper()
        assert start is not None and keeper is not None
        body = b"".join(self._body)
        try:
            await keeper.keep(self.session, start["status"], list(start.get("headers", [])), body)
            await self.end(start["status"])
        except Exception as exc:
            self._replaced = True
            await self._answer_failure(exc)
            return
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def end(self, status: int) -> None:
        """Commit for a 2xx/3xx status, roll back for any other."""
        if commits(status):
            if not nothing_to_commit(self.session):
                await commit(self.session)
            return
        try:
            await self.session.rollback()
        except Exception:  # the answer is already a refusal; the server drops the transaction
            logger.warning("rollback failed on %s", self.scope.get("path"))

    async def _answer_failure(self, exc: Exception) -> None:
        logger.warning("commit failed on %s: %s", self.scope.get("path"), failure_summary(exc))
        keeper = self._keeper()
        if isinstance(exc, OutcomeUnknownError) and keeper is not None:
            # What the client needs to find out: the same request, with the same key.
            exc.extra["idempotency_key"] = keeper.key
        app = self.scope["litestar_app"]
        route_handler = self.scope.get("route_handler")
        handlers = (
            route_handler.resolve_exception_handlers()
            if route_handler is not None
            else app.exception_handlers
        )
        handler = next(
            (handlers[cls] for cls in getmro(type(exc)) if cls in handlers),
            handlers.get(500),
        )
        if handler is None:  # pragma: no cover - the application registers a last resort
            raise exc
        request: Request[Any, Any, Any] = app.request_class(self.scope, self.receive, self._send)
        response = handler(request, exc)
        await response.to_asgi_response(app=None, request=request)(
            self.scope, self.receive, self._send
        )


async def close_if_used(session: AsyncSession) -> None:
    """Close a request's session, unless it never began a transaction nor took an object.

    Such a session holds no connection (one is taken when a transaction begins) and nothing to
    let go of. Closing it anyway runs SQLAlchemy's close in a greenlet: about 30 µs of a request
    that never uses its session, such as a keyed booking, whose one statement goes through a
    direct pool (session 29's measurement, 3 % of a worker's CPU per booking).
    """
    if session.in_transaction() or session.identity_map or session.new:
        await session.close()


@asynccontextmanager
async def _request_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncIterator[tuple[AsyncSession, bool]]:
    opened = request.scope.get(REQUEST_SESSION)
    if isinstance(opened, AsyncSession):  # the middleware's; ended at the edge, then closed
        yield opened, True
        return
    database = get_database(state)
    factory = database.reader if request.method in SAFE_METHODS else database.writer
    async with factory() as session:
        yield session, False


async def provide_db_session(
    state: State, request: Request[Any, Any, Any]
) -> AsyncGenerator[AsyncSession, None]:
    """The request's session; its transaction ends at the edge (:class:`EdgeTransaction`).

    An error rolls it back at once (locks are released before the error is rendered). A
    session of its own, for a request the middleware skipped, commits on success instead: it is
    closed before the answer starts.
    """
    async with _request_session(state, request) as (session, at_edge):
        try:
            yield session
        except BaseException:
            await _roll_back(session, request.url.path)
            raise
        if not at_edge:
            await commit(session)


async def _roll_back(session: AsyncSession, path: str) -> None:
    """Roll back after an error; a rollback that fails (the connection is gone, so the server
    dropped the transaction anyway) must not replace the error being answered."""
    try:
        await session.rollback()
    except Exception as exc:
        logger.warning("rollback failed on %s: %s", path, failure_summary(exc))
