"""Connection pools (kernel.db.create_engine): opened as needed, kept once opened.

A connection closed because the pool was full is a PostgreSQL backend started again by the next
request that needs one; under steady load above the pool's size that was a start-up on a
request's path every few requests.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db import create_engine

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
