"""Running real workers in a test: an emptied queue, workers as tasks, polling for outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import text

from kernel.db import Database
from kernel.jobs import JobRegistry, enqueue
from kernel.settings import Settings
from kernel.worker import run_worker
from mutualab.background import job_registry
from mutualab.composition import build_runtime

# Generous: a loaded machine is slow, a passing test never waits this long.
DEADLINE_SECONDS = 60.0


async def empty_queue(database: Database) -> None:
    """Remove every job, log line and schedule (the suite's clean-up knows only our tables)."""
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE jobs.pgqueuer, jobs.pgqueuer_log, jobs.pgqueuer_schedules, "
                "jobs.pgqueuer_statistics"
            )
        )


async def queued_count(database: Database, status: str | None = None) -> int:
    """How many jobs the queue table holds (with ``status``, only those)."""
    query = "SELECT count(*) FROM jobs.pgqueuer"
    if status is not None:
        query += " WHERE status = CAST(:status AS jobs.pgqueuer_status)"
    async with database.read_engine.connect() as conn:
        result = await conn.execute(text(query), {"status": status} if status else {})
        return int(result.scalar_one())


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until ``check()`` holds, polling; fail after a generous deadline."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DEADLINE_SECONDS
    while not await check():
        if loop.time() > give_up:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def workers(url: str, registry: JobRegistry, count: int = 1) -> AsyncIterator[None]:
    """``count`` workers running ``registry`` against ``url`` for the block's duration."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_worker(url, registry, stop, poll=timedelta(milliseconds=200)))
        for _ in range(count)
    ]
    try:
        yield
    finally:
        stop.set()
        results = await asyncio.wait_for(
            asyncio.gather(*tasks, return_exceptions=True), timeout=DEADLINE_SECONDS
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]


async def failed_job(
    database: Database, name: str = "matrix.job", dedupe_key: str | None = None
) -> int:
    """A job held as failed, as a worker leaves one whose attempts are spent."""
    async with database.writer() as session, session.begin():
        job_id = await enqueue(session, name, {}, dedupe_key=dedupe_key)
        assert job_id is not None
        connection = await session.connection()
        await connection.execute(
            text("UPDATE jobs.pgqueuer SET status = 'failed', attempts = 5 WHERE id = :id"),
            {"id": job_id},
        )
    return job_id


async def periodic_task_names(settings: Settings) -> list[str]:
    """The periodic tasks an instance's workers schedule, sorted (from its job registry)."""
    runtime = build_runtime(settings)
    try:
        return sorted(job_registry(runtime).periodic)
    finally:
        await runtime.close()
