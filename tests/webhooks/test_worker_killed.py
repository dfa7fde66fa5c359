"""A worker killed in the middle of a delivery, before sending it: another worker takes the job
over, and the receiver gets the event exactly once, recorded as delivered."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from kernel.worker import libpq_dsn
from mutualab.composition import Runtime
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, book, paris
from tests.support.jobs import eventually, queued_count, workers
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import hook_registry, subscribe, url_of
from webhooks.queue import DELIVER_JOB

# Fault injection (a worker killed): `make soak`, which CI runs.
pytestmark = pytest.mark.soak


async def _count(database: Database, query: str) -> int:
    async with database.read_engine.connect() as conn:
        return int((await conn.exec_driver_sql(query)).scalar_one())


async def test_a_worker_killed_before_sending_leaves_the_delivery_to_another(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    subscription = await subscribe(api, manager, receiver.url, [lab.place_id])
    alice = await make_user(queue, "alice@example.org")
    made = await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert made.status_code == 201, made.text

    # The event becomes a delivery and its queued job (a worker that does not deliver).
    fanning = hook_registry(runtime, hook_settings)
    fanning.jobs.pop(DELIVER_JOB)
    async with workers(url_of(queue), fanning):
        await eventually(
            lambda: _is(queue, "SELECT count(*) FROM webhook_delivery", 1), "the delivery"
        )
        await eventually(lambda: _queued(queue, 1), "only the delivery's job is left")

    # The delivery's row is held: a worker taking the job waits, before sending anything.
    holder = await asyncpg.connect(libpq_dsn(url_of(queue)))
    held = holder.transaction()
    await held.start()
    await holder.execute("SELECT id FROM webhook_delivery FOR UPDATE")
    environment = {
        **os.environ,
        "MUTUALAB_DATABASE_URL": url_of(queue),
        "MUTUALAB_SECRET_KEY": hook_settings.resolved_secret_key().decode(),
        # It waits for the row as long as the test needs, rather than giving up.
        "MUTUALAB_DATABASE_LOCK_TIMEOUT_MS": "60000",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mutualab",
        "worker",
        env=environment,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await eventually(
            lambda: _is(
                queue,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' "
                "AND query ILIKE '%webhook_delivery%'",
                1,
            ),
            "the worker waits for the delivery",
        )
    finally:
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), timeout=30)
        await held.rollback()
        await holder.close()
    assert receiver.requests == []

    # Another worker takes the abandoned job over once the dead one's heartbeat is stale.
    async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
        await eventually(
            lambda: _is(
                queue, "SELECT count(*) FROM webhook_delivery WHERE status = 'delivered'", 1
            ),
            "the delivery was made by the other worker",
        )
        await eventually(lambda: _queued(queue, 0), "the queue emptied")
    [received] = receiver.requests
    assert received.id == f"booking.{made.json()['id']}.created"
    received.verified(str(subscription["secret"]))
    assert (
        await _count(
            queue,
            "SELECT count(*) FROM webhook_delivery "
            "WHERE attempts = 1 AND response_status = 204 AND status = 'delivered'",
        )
        == 1
    )


async def _is(database: Database, query: str, expected: int) -> bool:
    return await _count(database, query) == expected


async def _queued(database: Database, count: int) -> bool:
    return await queued_count(database) == count
