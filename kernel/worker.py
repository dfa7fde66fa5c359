"""The worker: runs the registered jobs and periodic tasks (pgqueuer's queue and scheduler).

Any number of workers, on any number of hosts, share one database: a job is taken by one
worker (``FOR UPDATE SKIP LOCKED``), a periodic task runs once per period (the scheduler's
rows are claimed the same way), and a worker that dies mid-job has its job taken again once
its heartbeat is stale. Each handler opens its own short transactions: none runs inside a
request's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import asyncpg
from pgqueuer import AsyncpgDriver, PgQueuer
from pgqueuer.adapters.persistence.qb import (
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)
from pgqueuer.core.executors import (
    AbstractEntrypointExecutor,
    DatabaseRetryEntrypointExecutor,
    EntrypointExecutorParameters,
)
from pgqueuer.models import Job, Schedule
from pgqueuer.queries import Queries
from pgqueuer.types import Channel
from sqlalchemy.engine import URL, make_url

from kernel.jobs import JobHandler, JobRegistry, JobType, PeriodicTask, Retry, queue_settings

logger = logging.getLogger("mutualab.worker")
# How long a worker waits for a notification before looking at the queue again.
POLL = timedelta(seconds=5)


def libpq_dsn(url: str | URL) -> str:
    """asyncpg's DSN for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _retrying(retry: Retry) -> Any:
    def factory(parameters: EntrypointExecutorParameters) -> AbstractEntrypointExecutor:
        return DatabaseRetryEntrypointExecutor(
            parameters,
            # pgqueuer counts the retries; the first run is attempt 0.
            max_attempts=retry.attempts - 1,
            initial_delay=retry.first_delay,
            max_delay=retry.max_delay,
        )

    return factory


def _entrypoint(handler: JobHandler, name: str) -> Any:
    async def run(job: Job) -> None:
        payload: dict[str, Any] = json.loads(job.payload) if job.payload else {}
        try:
            await handler(payload)
        except Exception:
            logger.warning("job %s #%s failed (attempt %s)", name, job.id, job.attempts + 1)
            raise

    return run


def _scheduled(task: PeriodicTask, name: str) -> Any:
    async def run(_schedule: Schedule) -> None:
        try:
            await task()
        except Exception:  # the next period tries again
            logger.exception("periodic task %s failed", name)

    return run


def build(connection: asyncpg.Connection, registry: JobRegistry) -> PgQueuer:
    """A pgqueuer application on ``connection`` running ``registry``."""
    settings = queue_settings()
    queries = Queries(
        AsyncpgDriver(connection),
        qbe=QueryBuilderEnvironment(settings),
        qbq=QueryQueueBuilder(settings),
        qbs=QuerySchedulerBuilder(settings),
    )
    app = PgQueuer(connection=queries.driver, channel=Channel(settings.channel), queries=queries)
    for job in registry.jobs.values():
        _register(app, job)
    for periodic in registry.periodic.values():
        app.schedule(periodic.name, periodic.cron)(_scheduled(periodic.task, periodic.name))
    return app


def _register(app: PgQueuer, job: JobType) -> None:
    app.entrypoint(job.name, on_failure="hold", executor_factory=_retrying(job.retry))(
        _entrypoint(job.handler, job.name)
    )


async def run_worker(
    url: str | URL,
    registry: JobRegistry,
    stop: asyncio.Event,
    *,
    poll: timedelta = POLL,
) -> None:
    """Run jobs until ``stop`` is set (then let the running ones finish)."""
    connection = await asyncpg.connect(libpq_dsn(url))
    try:
        app = build(connection, registry)

        async def stop_when_told() -> None:
            await stop.wait()
            app.shutdown.set()

        watcher = asyncio.create_task(stop_when_told())
        try:
            await app.run(dequeue_timeout=poll)
        finally:
            watcher.cancel()
    finally:
        await connection.close()
