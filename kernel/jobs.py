"""Background jobs on pgqueuer: enqueued in the caller's transaction, run by ``mutualab worker``.

The queue's tables live in their own PostgreSQL schema (:data:`SCHEMA`), created by our
migration (0016), out of the way of the SQLModel tables and of alembic's autogenerate. A job
is written by :func:`enqueue` on the caller's SQLAlchemy session: it commits or rolls back
with the change that caused it (a rolled-back booking queues nothing). The worker
(:mod:`kernel.worker`) runs each job at least once, outside any request transaction, retrying
with exponential backoff and holding it as ``failed`` when its attempts are spent; an
administrator lists and re-queues those (:func:`failed_jobs`, :func:`requeue`).

Domains declare their jobs and periodic tasks on a :class:`JobRegistry` the shell builds; the
kernel knows none of them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pgqueuer.adapters.persistence.qb import QueryQueueBuilder
from pgqueuer.domain.settings import DBSettings
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.errors import AppError

# The PostgreSQL schema of the queue's tables, types and trigger function.
SCHEMA = "jobs"
MAX_NAME_LENGTH = 100
MAX_DEDUPE_KEY_LENGTH = 255

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]
PeriodicTask = Callable[[], Awaitable[None]]


def queue_settings() -> DBSettings:
    """pgqueuer's object names, in our schema (the same for the migration and every worker)."""
    return DBSettings(db_schema=SCHEMA, prefix="", channel="mutualab_jobs")


@dataclass(frozen=True)
class Retry:
    """How a failing job is tried again: ``attempts`` runs in all, delays doubling."""

    attempts: int = 5
    first_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("a job is attempted at least once")


@dataclass(frozen=True)
class JobType:
    """A named job and what runs it."""

    name: str
    handler: JobHandler
    retry: Retry


@dataclass(frozen=True)
class Periodic:
    """A task run once per period of a cron expression, whichever worker gets it first."""

    name: str
    cron: str
    task: PeriodicTask


@dataclass
class JobRegistry:
    """The jobs and periodic tasks a worker runs (the shell fills it from the domains)."""

    jobs: dict[str, JobType] = field(default_factory=dict)
    periodic: dict[str, Periodic] = field(default_factory=dict)

    def job(self, name: str, handler: JobHandler, retry: Retry | None = None) -> None:
        """Run ``handler(payload)`` for each job named ``name``."""
        if name in self.jobs or not 0 < len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"job name {name!r} is taken or not 1-{MAX_NAME_LENGTH} characters")
        self.jobs[name] = JobType(name, handler, retry or Retry())

    def every(self, name: str, cron: str, task: PeriodicTask) -> None:
        """Run ``task()`` once per period of ``cron`` (UTC; a sixth field counts seconds), once
        across all workers."""
        if name in self.periodic:
            raise ValueError(f"periodic task {name!r} is already registered")
        self.periodic[name] = Periodic(name, cron, task)


_QUERIES = QueryQueueBuilder(queue_settings())


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: Mapping[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
) -> int | None:
    """Queue job ``name`` in the session's transaction; returns its id.

    With ``dedupe_key``, a job with the same key still queued or running makes this a no-op
    (returns None): a retried request queues its job once.
    """
    if dedupe_key is not None and not 0 < len(dedupe_key) <= MAX_DEDUPE_KEY_LENGTH:
        raise ValueError(f"a dedupe key is 1-{MAX_DEDUPE_KEY_LENGTH} characters")
    body = json.dumps(dict(payload), separators=(",", ":"), sort_keys=True).encode()
    connection = await session.connection()
    # pgqueuer's own statement (with its log row), on our connection: same transaction.
    result = await connection.exec_driver_sql(
        _QUERIES.build_enqueue_query("skip"),
        ([0], [name], [body], [delay or timedelta(0)], [dedupe_key], ["{}"]),
    )
    row = result.first()
    return int(row.id) if row is not None else None


@dataclass(frozen=True)
class FailedJob:
    """A job whose attempts are spent, held for an administrator."""

    id: int
    name: str
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str | None
    created: datetime
    updated: datetime


_TABLE = f"{SCHEMA}.{queue_settings().queue_table}"


def _payload(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


async def failed_jobs(session: AsyncSession, limit: int = 100) -> list[FailedJob]:
    """The failed jobs, newest first."""
    connection = await session.connection()
    rows = await connection.execute(
        text(
            f"SELECT id, entrypoint, payload, attempts, dedupe_key, created, updated "  # noqa: S608 (our constant)
            f"FROM {_TABLE} WHERE status = 'failed' ORDER BY updated DESC, id DESC LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [
        FailedJob(
            id=row.id,
            name=row.entrypoint,
            payload=_payload(row.payload),
            attempts=row.attempts,
            dedupe_key=row.dedupe_key,
            created=row.created,
            updated=row.updated,
        )
        for row in rows
    ]


# How long the queue's history (its log of each job's statuses, its per-second statistics) is
# kept: every booking queues an event, so neither may grow for ever.
HISTORY_RETENTION = timedelta(days=30)


async def prune_history(session: AsyncSession, now: datetime) -> int:
    """Delete the queue's log and statistics rows older than :data:`HISTORY_RETENTION`; how
    many went."""
    connection = await session.connection()
    before = {"before": now - HISTORY_RETENTION}
    pruned = 0
    for table in (f"{SCHEMA}.pgqueuer_log", f"{SCHEMA}.pgqueuer_statistics"):
        result = await connection.execute(
            text(f"DELETE FROM {table} WHERE created < :before"),  # noqa: S608 (our constants)
            before,
        )
        pruned += result.rowcount or 0
    return pruned


class JobAlreadyQueuedError(AppError):
    """Another job with the failed job's dedupe key is queued or running."""

    code = "job_already_queued"
    title = "Job already queued"


async def requeue(session: AsyncSession, job_id: int) -> bool:
    """Queue a failed job again with fresh attempts; False if no failed job has this id."""
    connection = await session.connection()
    try:
        result = await connection.exec_driver_sql(
            _QUERIES.build_requeue_jobs_query() + " RETURNING job_id", ([job_id],)
        )
    except IntegrityError as exc:  # the dedupe key's unique index: its successor is pending
        raise JobAlreadyQueuedError(
            "A job with the same dedupe key is already queued or running; this one would repeat it."
        ) from exc
    return result.first() is not None


async def last_job_id(session: AsyncSession) -> int:
    """The id of the newest job in the queue (0 for an empty queue)."""
    connection = await session.connection()
    result = await connection.execute(text(f"SELECT COALESCE(max(id), 0) FROM {_TABLE}"))  # noqa: S608 (our constant)
    return int(result.scalar_one())


async def forget_queued_since(session: AsyncSession, after_id: int) -> int:
    """Drop the jobs queued after ``after_id`` and not yet taken; how many went. For made-up
    history only (the demo's past months): what it would have sent went out back then."""
    connection = await session.connection()
    result = await connection.execute(
        text(f"DELETE FROM {_TABLE} WHERE id > :after AND status = 'queued'"),  # noqa: S608 (our constant)
        {"after": after_id},
    )
    return result.rowcount or 0
