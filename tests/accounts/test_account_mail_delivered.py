"""Accounts' messages leave by SMTP through real workers (aiosmtpd): the reset link arrives
once, works, and is not kept in the database once sent."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from kernel.clock import system_clock
from kernel.db import Database
from kernel.jobs import JobRegistry
from kernel.mail import Mailer, SmtpServer
from kernel.settings import Settings
from notifications import wiring
from tests.accounts.test_sessions import STRONG, csrf
from tests.accounts.test_throttle import app_client
from tests.notifications.support import outbox
from tests.support.accounts import make_user, stored_hash
from tests.support.booking import MutableClock
from tests.support.jobs import empty_queue, eventually, queued_count, workers
from tests.support.mailbox import SEAL, token_of
from tests.support.smtp import Inbox, smtp_server

NEW_PASSWORD = "juniper-lighthouse-canvas-81"


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty job queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


def _registry(database: Database, port: int) -> JobRegistry:
    registry = JobRegistry()
    mailer = Mailer(SmtpServer("127.0.0.1", port, timeout=10), "Mutualab <no-reply@mutualab.test>")
    wiring.register(
        registry,
        database=database,
        mailer=mailer,
        clock=system_clock,
        retention_days=90,
        nightly="17 3 * * *",
        seal=SEAL,
    )
    return registry


async def test_a_reset_link_is_delivered_once_and_not_kept_once_sent(
    settings: Settings, queue: Database
) -> None:
    await make_user(queue, "lena@example.fr", password_hash=stored_hash(STRONG))
    inbox = Inbox()
    async with (
        app_client(settings, queue, MutableClock()) as http,
        smtp_server(inbox) as port,
        workers(queue.engine.url.render_as_string(hide_password=False), _registry(queue, port)),
    ):
        asked = await http.post(
            "/api/auth/password-reset",
            json={"email": "lena@example.fr"},
            headers=await csrf(http),
        )
        assert asked.status_code == 202

        async def sent() -> bool:
            rows = await outbox(queue)
            return [r["status"] for r in rows] == ["sent"] and await queued_count(queue) == 0

        await eventually(sent, "the reset mail was sent")
        [mail] = inbox.to("lena@example.fr")
        assert mail["Subject"] == "Choisir un nouveau mot de passe"
        body = str(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        [link] = re.findall(r"https://mutualab\.test/reset-password\?token=\S+", body)
        [stored] = await outbox(queue)
        assert (stored["text"], stored["html"]) == ("", "")  # the link is not kept
        done = await http.post(
            "/api/auth/password-reset/confirm",
            json={"token": token_of(link), "password": NEW_PASSWORD},
            headers=await csrf(http),
        )
        assert done.status_code == 200, done.text
    assert len(inbox.received) == 1
