"""A worker killed in the middle of mail.send, before the SMTP hand-over: another worker takes
the job over and the message is delivered exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from kernel.db import Database
from kernel.settings import Settings
from tests.notifications.support import outbox
from tests.notifications.test_sending import _all_sent, _queue, _registry, _url
from tests.support.jobs import DEADLINE_SECONDS, empty_queue, eventually, workers
from tests.support.smtp import Inbox, smtp_server

# Fault injection (a worker killed): `make soak`, which CI runs.
pytestmark = pytest.mark.soak


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty job queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


async def _waiting_on_the_row(database: Database) -> bool:
    """Whether another backend waits for the row lock to count its attempt."""
    async with database.engine.connect() as conn:
        waiting = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE outbound_message%'"
            )
        )
        return int(waiting.scalar_one()) > 0


async def test_a_worker_killed_before_sending_is_taken_over_and_the_message_sent_once(
    queue: Database, settings: Settings
) -> None:
    assert await _queue(queue, "killed:1")
    [message] = await outbox(queue)
    inbox = Inbox()
    async with smtp_server(inbox) as port:
        env = {
            **os.environ,
            "MUTUALAB_DATABASE_URL": _url(queue),
            "MUTUALAB_SMTP_URL": f"smtp://127.0.0.1:{port}",
            # A worker on a database server runs with the instance's key only (the app's).
            "MUTUALAB_SECRET_KEY": settings.resolved_secret_key().decode(),
            # It waits for the locked row as long as the test needs, rather than giving up
            # after the default lock timeout (and being retried by a later worker).
            "MUTUALAB_DATABASE_LOCK_TIMEOUT_MS": "60000",
        }
        # The row is locked: the worker picks the job and stops where it counts its attempt,
        # before any SMTP, until it is killed there.
        async with queue.engine.connect() as holder:
            await holder.execute(
                text("SELECT id FROM outbound_message WHERE id = :id FOR UPDATE"),
                {"id": message["id"]},
            )
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "mutualab",
                "worker",
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await eventually(
                    lambda: _waiting_on_the_row(queue), "the worker began sending the message"
                )
            finally:
                process.send_signal(signal.SIGKILL)
                await asyncio.wait_for(process.wait(), DEADLINE_SECONDS)
            await holder.rollback()
        assert inbox.received == []
        # The dead worker's job is taken again once its heartbeat is stale.
        async with workers(_url(queue), _registry(queue, port)):
            await eventually(lambda: _all_sent(queue, 1), "another worker sent the message")
    assert len(inbox.received) == 1
    [sent] = await outbox(queue)
    assert sent["attempts"] == 1  # the killed attempt never committed
