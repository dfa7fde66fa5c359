"""Connection pools (kernel.db.create_engine): opened as needed, kept once opened.

A connection closed because the pool was full is a PostgreSQL backend started again by the next
request that needs one; under steady load above the pool's size that was a start-up on a
request's path every few requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db import Database, DirectPool, create_engine
from kernel.settings import Settings
from mutualab.app import create_app
from tests.support.net import free_port

BACKEND = text("SELECT pg_backend_pid()")


async def test_every_connection_opened_is_kept_for_the_next_requests(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    try:
        all_in, release = asyncio.Event(), asyncio.Event()
        backends: list[int] = []

        async def backend_of(connection: AsyncConnection) -> int:
            return int((await connection.execute(BACKEND)).scalar_one())

        async def request() -> None:
            async with engine.connect() as connection:
                backends.append(await backend_of(connection))
                if len(backends) == 4:
                    all_in.set()
                await release.wait()

        # Twice the pool size at once: all served, each on its own connection.
        running = [asyncio.create_task(request()) for _ in range(4)]
        await asyncio.wait_for(all_in.wait(), timeout=10)
        release.set()
        await asyncio.gather(*running)
        assert len(set(backends)) == 4
        assert engine.pool.checkedin() == 4  # type: ignore[attr-defined]
        # The next four at once reuse them: no backend started again.
        async with (
            engine.connect() as first,
            engine.connect() as second,
            engine.connect() as third,
            engine.connect() as fourth,
        ):
            again = {await backend_of(c) for c in (first, second, third, fourth)}
        assert again == set(backends)
    finally:
        await engine.dispose()


@pytest.fixture
async def reads_pool(database_url: str) -> AsyncIterator[DirectPool]:
    """The readers' direct pool of a database with a pool size of 4, closed afterwards."""
    pool = Database.connect(database_url, pool_size=4).direct_reads
    try:
        yield pool
    finally:
        await pool.close()


async def test_direct_connections_opened_ahead_serve_the_first_requests(
    reads_pool: DirectPool,
) -> None:
    await reads_pool.open_ahead(4)
    assert reads_pool.size == 4
    came = datetime.now(UTC)
    # Four requests at once: each on a connection that was open before they came.
    started = await _backends_started(reads_pool)
    assert len(started) == 4 and all(at < came for at in started.values())
    assert reads_pool.size == 4


async def test_a_connection_on_its_way_back_is_waited_for_not_opened_again(
    reads_pool: DirectPool,
) -> None:
    await reads_pool.open_ahead(1)
    backends = set()
    # One request after another, each coming before the last one's connection is back in
    # the pool (it goes back in a task of its own, a turn of the event loop later): as a
    # busy worker's next request does. Each must reuse it, not start a backend.
    for _ in range(3):
        async with reads_pool.connection() as connection:
            backends.add(await connection.fetchval("SELECT pg_backend_pid()"))
    assert len(backends) == 1
    assert reads_pool.size == 1


async def _backends_started(pool: DirectPool) -> dict[int, datetime]:
    """The backends that four statements at once ran on, and when each started."""
    all_in = asyncio.Event()
    found: dict[int, datetime] = {}

    async def request() -> None:
        async with pool.connection() as connection:
            row = await connection.fetchrow(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
            )
            assert row is not None
            found[row["pid"]] = row["backend_start"]
            if len(found) == 4:
                all_in.set()
            await asyncio.wait_for(all_in.wait(), timeout=10)

    await asyncio.gather(*(request() for _ in range(4)))
    return found


async def _prepared_on_each(pool: DirectPool, count: int) -> list[list[str]]:
    """The statements prepared on each of ``count`` connections taken at once."""
    all_in = asyncio.Event()
    found: list[list[str]] = []

    async def request() -> None:
        async with pool.connection() as connection:
            rows = await connection.fetch("SELECT statement FROM pg_prepared_statements")
            found.append([row["statement"] for row in rows])
            if len(found) == count:
                all_in.set()
            await asyncio.wait_for(all_in.wait(), timeout=10)

    await asyncio.gather(*(request() for _ in range(count)))
    return found


async def test_a_served_app_opens_its_direct_connections_at_start(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"database_pool_size": 3}))
    async with app.lifespan():  # its start-up and shut-down hooks
        database: Database = app.state.database
        pool = database.direct_reads
        assert pool.opening is not None
        await asyncio.wait_for(pool.opening, timeout=30)
        assert pool.size == 3
        assert database.direct_writes.opening is None  # the writers' are opened as needed
        # Each reader's backend has prepared the availability read already.
        prepared = await _prepared_on_each(database.direct_reads, 3)
        assert len(prepared) == 3
        assert all(any("catalogue_revision" in p for p in each) for each in prepared)
    assert database.direct_reads.size == 0  # stopping the app closed them


async def test_a_database_out_of_reach_at_start_does_not_stop_the_app(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/nothing"
    app = create_app(settings.model_copy(update={"database_url": nowhere}))
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        database: Database = app.state.database
        assert database.direct_reads.opening is not None
        await asyncio.wait_for(database.direct_reads.opening, timeout=30)
        assert (await client.get("/health")).status_code == 503
    assert "opening 10 connections ahead: 10 failed (ConnectionRefusedError" in caplog.text


async def test_a_pool_stopped_while_opening_ahead_closes(database_url: str) -> None:
    # A worker told to stop as it starts: its opening is cancelled with connections taken
    # (here, held by their priming), and the pool's close, which waits for every connection
    # taken from it, still ends.
    pool = Database.connect(database_url, pool_size=4).direct_reads
    priming, never = asyncio.Event(), asyncio.Event()

    async def stuck(connection: object) -> None:
        priming.set()
        await never.wait()

    pool.open_ahead(4, stuck)
    await asyncio.wait_for(priming.wait(), timeout=10)
    await asyncio.wait_for(pool.close(), timeout=10)
    assert pool.size == 0
