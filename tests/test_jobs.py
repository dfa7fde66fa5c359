"""Background jobs (kernel.jobs, kernel.worker): enqueued with the change, run at least once by
real workers on the test database, retried, held as failed for an administrator."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kernel import jobs
from kernel.db import Database
from kernel.jobs import JobRegistry, Retry
from kernel.settings import Settings
from mutualab.app import create_app
from tests.support.jobs import (
    empty_queue,
    eventually,
    failed_job,
    periodic_task_names,
    queued_count,
    workers,
)

QUICK = Retry(attempts=5, first_delay=timedelta(milliseconds=50), max_delay=timedelta(seconds=1))


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


class Recorder:
    """A job handler that notes each payload it runs, failing its first ``failures`` runs."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.runs: list[dict[str, Any]] = []

    async def __call__(self, payload: dict[str, Any]) -> None:
        self.runs.append(payload)
        if len(self.runs) <= self.failures:
            raise RuntimeError(f"failure #{len(self.runs)}")

    def count(self, key: str, value: Any) -> int:
        return sum(1 for run in self.runs if run.get(key) == value)


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


async def _enqueue(database: Database, name: str, payload: dict[str, Any], **kw: Any) -> int | None:
    async with database.writer() as session, session.begin():
        return await jobs.enqueue(session, name, payload, **kw)


async def test_a_job_of_a_rolled_back_transaction_never_runs(queue: Database) -> None:
    recorder = Recorder()
    registry = JobRegistry()
    registry.job("note", recorder, QUICK)
    async with queue.writer() as session:
        await jobs.enqueue(session, "note", {"n": "rolled back"})
        await session.rollback()
    await _enqueue(queue, "note", {"n": "committed"})  # queued after: run after it would have
    async with workers(_url(queue), registry):
        await eventually(lambda: _ran(recorder, "committed"), "the committed job ran")
        await eventually(lambda: _queue_is(queue, 0), "the queue emptied")
    assert recorder.runs == [{"n": "committed"}]


async def _ran(recorder: Recorder, value: str) -> bool:
    return recorder.count("n", value) > 0


async def _queue_is(database: Database, count: int, status: str | None = None) -> bool:
    return await queued_count(database, status) == count


async def test_a_committed_job_runs_once_with_its_payload(queue: Database) -> None:
    recorder = Recorder()
    registry = JobRegistry()
    registry.job("note", recorder, QUICK)
    job_id = await _enqueue(queue, "note", {"booking_id": 7, "what": "reminder"})
    assert job_id is not None
    async with workers(_url(queue), registry):
        await eventually(lambda: _queue_is(queue, 0), "the job was done")
    assert recorder.runs == [{"booking_id": 7, "what": "reminder"}]


async def test_a_job_failing_twice_runs_three_times_then_is_done(queue: Database) -> None:
    recorder = Recorder(failures=2)
    registry = JobRegistry()
    registry.job("flaky", recorder, QUICK)
    await _enqueue(queue, "flaky", {"n": 1})
    async with workers(_url(queue), registry):
        await eventually(lambda: _queue_is(queue, 0), "the job succeeded")
    assert len(recorder.runs) == 3
    assert await queued_count(queue, "failed") == 0


async def test_a_failing_job_is_held_as_failed_and_an_admin_retries_it(
    queue: Database, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    recorder = Recorder(failures=2)
    registry = JobRegistry()
    registry.job("doomed", recorder, Retry(attempts=2, first_delay=timedelta(milliseconds=50)))
    job_id = await _enqueue(queue, "doomed", {"booking_id": 3})
    async with workers(_url(queue), registry):
        await eventually(lambda: _queue_is(queue, 1, "failed"), "the job was held as failed")
        assert len(recorder.runs) == 2  # its two attempts, then no more

        listed = await client.get("/api/admin/jobs/failed", headers=admin_headers)
        assert listed.status_code == 200, listed.text
        [failed] = listed.json()
        assert (failed["id"], failed["name"], failed["payload"]) == (
            job_id,
            "doomed",
            {"booking_id": 3},
        )

        retried = await client.post(f"/api/admin/jobs/{job_id}/retry", headers=admin_headers)
        assert retried.status_code == 200, retried.text
        await eventually(lambda: _queue_is(queue, 0), "the retried job succeeded")
    assert len(recorder.runs) == 3
    listed = await client.get("/api/admin/jobs/failed", headers=admin_headers)
    assert listed.json() == []
    again = await client.post(f"/api/admin/jobs/{job_id}/retry", headers=admin_headers)
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"


async def test_the_dedupe_key_makes_a_second_enqueue_a_no_op(queue: Database) -> None:
    first = await _enqueue(queue, "note", {"n": 1}, dedupe_key="booking:9:confirmation")
    second = await _enqueue(queue, "note", {"n": 2}, dedupe_key="booking:9:confirmation")
    other = await _enqueue(queue, "note", {"n": 3}, dedupe_key="booking:10:confirmation")
    assert first is not None and other is not None
    assert second is None
    assert await queued_count(queue) == 2

    recorder = Recorder()
    registry = JobRegistry()
    registry.job("note", recorder, QUICK)
    async with workers(_url(queue), registry):
        await eventually(lambda: _queue_is(queue, 0), "the jobs were done")
    assert sorted(run["n"] for run in recorder.runs) == [1, 3]


async def test_two_workers_run_each_job_once(queue: Database) -> None:
    recorder = Recorder()
    registry = JobRegistry()
    registry.job("note", recorder, QUICK)
    async with queue.writer() as session, session.begin():
        for n in range(40):
            await jobs.enqueue(session, "note", {"n": n})
    async with workers(_url(queue), registry, count=2):
        await eventually(lambda: _queue_is(queue, 0), "every job was done")
    assert Counter(run["n"] for run in recorder.runs) == Counter(range(40))


async def test_a_periodic_task_runs_once_per_period_across_workers(queue: Database) -> None:
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def tick() -> None:
        ticks.append(loop.time())

    registry = JobRegistry()
    registry.every("tick", "* * * * * *", tick)  # every second
    async with workers(_url(queue), registry, count=3):
        await eventually(lambda: _at_least(ticks, 4), "the task ran four times")
        seen = list(ticks)
    # Each worker running every period would make three ticks a second; one claims each.
    span = seen[-1] - seen[0]
    assert len(seen) <= span + 2, (len(seen), span)


async def _at_least(ticks: list[float], count: int) -> bool:
    return len(ticks) >= count


async def test_a_failed_job_whose_key_was_queued_again_is_not_retried(
    queue: Database, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    job_id = await failed_job(queue, "note", dedupe_key="booking:4:confirmation")
    # The key is free again once its job failed: a later change queues a successor.
    assert await _enqueue(queue, "note", {}, dedupe_key="booking:4:confirmation") is not None
    refused = await client.post(f"/api/admin/jobs/{job_id}/retry", headers=admin_headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "job_already_queued"
    assert await queued_count(queue, "failed") == 1


async def test_an_app_set_to_run_a_worker_runs_the_periodic_tasks(
    queue: Database, settings: Settings
) -> None:
    app = create_app(settings.model_copy(update={"in_process_worker": True}), database=queue)
    async with app.lifespan():  # its start-up and shut-down hooks
        expected = await periodic_task_names(settings)
        await eventually(
            lambda: _schedules_are(queue, len(expected)), "the worker scheduled its tasks"
        )
    assert await _schedule_names(queue) == expected
    assert {"bookings.expire_holds", "idempotency.purge", "jobs.prune_history"} <= set(expected)


async def _schedule_names(database: Database) -> list[str]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT entrypoint FROM jobs.pgqueuer_schedules ORDER BY entrypoint")
        )
        return [name for (name,) in rows]


async def _schedules_are(database: Database, count: int) -> bool:
    return len(await _schedule_names(database)) == count


def test_registry_refuses_a_name_twice() -> None:
    registry = JobRegistry()
    registry.job("note", Recorder())
    with pytest.raises(ValueError, match="taken"):
        registry.job("note", Recorder())


async def test_the_queue_history_older_than_its_retention_is_pruned(queue: Database) -> None:
    """Every booking queues an event: the log of job statuses must not grow for ever."""
    now = datetime(2027, 3, 1, 9, tzinfo=UTC)
    async with queue.writer() as session, session.begin():
        for age in (jobs.HISTORY_RETENTION + timedelta(minutes=1), timedelta(days=1)):
            await session.execute(
                text(
                    "INSERT INTO jobs.pgqueuer_log (created, job_id, status, priority, entrypoint) "
                    "VALUES (:created, 1, 'successful', 0, 'note')"
                ),
                {"created": now - age},
            )
            await session.execute(
                text(
                    "INSERT INTO jobs.pgqueuer_statistics (created, count, priority, status, "
                    "entrypoint) VALUES (:created, 1, 0, 'successful', 'note')"
                ),
                {"created": now - age},
            )
    async with queue.writer() as session, session.begin():
        assert await jobs.prune_history(session, now) == 2
    async with queue.writer() as session, session.begin():
        assert await jobs.prune_history(session, now) == 0
        left = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM jobs.pgqueuer_log) + "
                "(SELECT count(*) FROM jobs.pgqueuer_statistics)"
            )
        )
        assert left.scalar_one() == 2
