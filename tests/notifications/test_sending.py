"""mail.send by real workers to a real SMTP server (aiosmtpd): once per message, retried when
refused, failed when its attempts are spent, never for a rolled-back change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import update

from kernel.clock import system_clock
from kernel.db import Database
from kernel.jobs import JobRegistry, Retry
from kernel.mail import Mailer, SmtpServer
from notifications import wiring
from notifications.models import MESSAGES
from notifications.outbox import Attachment, queue_message
from notifications.retention import erase_stale_secrets, purge_sent
from notifications.sealing import BodySeal
from tests.notifications.support import insert_place, outbox
from tests.support.jobs import empty_queue, eventually, queued_count, workers
from tests.support.mailbox import SEAL
from tests.support.smtp import Inbox, smtp_server

QUICK = Retry(attempts=3, first_delay=timedelta(milliseconds=50), max_delay=timedelta(seconds=1))
INSTANCE_FROM = "Mutualab <no-reply@mutualab.test>"
CONTEXT = {"instance": "Mutualab", "requested_by": "Ana"}
ICS = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty job queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def _registry(database: Database, port: int, retry: Retry = QUICK) -> JobRegistry:
    registry = JobRegistry()
    mailer = Mailer(SmtpServer("127.0.0.1", port, timeout=10), INSTANCE_FROM)
    wiring.register(
        registry,
        database=database,
        mailer=mailer,
        clock=system_clock,
        retention_days=90,
        nightly="17 3 * * *",
        retry=retry,
        seal=SEAL,
    )
    return registry


async def _queue(database: Database, key: str, to: str = "ana@example.org", **kw: Any) -> bool:
    async with database.writer() as session, session.begin():
        return await queue_message(
            session,
            key=key,
            to=to,
            template=kw.pop("template", "mail_test"),
            language=kw.pop("language", "en"),
            context=kw.pop("context", CONTEXT),
            seal=kw.pop("seal", SEAL),
            **kw,
        )


async def _statuses(database: Database) -> list[str]:
    return [message["status"] for message in await outbox(database)]


async def _all_sent(database: Database, count: int) -> bool:
    return await _statuses(database) == ["sent"] * count and await queued_count(database) == 0


def _parts(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


async def test_a_committed_message_is_delivered_once_with_its_parts(queue: Database) -> None:
    place_id = await insert_place(queue, mail_from="Fablab <fablab@lannion.example>")
    inbox = Inbox()
    files = [
        Attachment("reservation.ics", "text/calendar; method=REQUEST", ICS),
        Attachment("facture.pdf", "application/pdf", PDF),
    ]
    assert await _queue(queue, "m:1", place_id=place_id, attachments=files)
    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port)):
        await eventually(lambda: _all_sent(queue, 1), "the message was sent")

    [delivery] = inbox.received
    assert delivery.rcpt_tos == ["ana@example.org"]
    assert delivery.mail_from == "fablab@lannion.example"
    email = delivery.message
    assert email["From"] == "Fablab <fablab@lannion.example>"
    assert email["To"] == "ana@example.org"
    assert email["Subject"] == "Test message from Mutualab"
    assert email["Date"] is not None
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["List-Unsubscribe"] is None  # transactional: not optional
    [stored] = await outbox(queue)
    assert email["Message-ID"] == stored["message_id"]
    assert stored["message_id"].startswith(f"<mutualab.{stored['id']}.")
    assert stored["message_id"].endswith("@lannion.example>")
    assert stored["attempts"] == 1
    assert stored["sent_at"] is not None
    assert _parts(email) == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/pdf",
    ]
    body = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert body is not None and html is not None
    assert "This test message was sent by Mutualab" in body.get_content()
    assert "Fablab de Lannion" in html.get_content()
    ics, pdf = list(email.iter_attachments())
    assert ics.get_filename() == "reservation.ics"
    assert ics.get_param("method") == "REQUEST"
    assert ics.get_content().encode() == ICS
    assert (pdf.get_filename(), pdf.get_content()) == ("facture.pdf", PDF)


async def test_none_for_a_rolled_back_change_and_one_per_key(queue: Database) -> None:
    async with queue.writer() as session:
        await queue_message(
            session,
            key="rolled-back",
            to="bob@example.org",
            template="mail_test",
            language="fr",
            context=CONTEXT,
        )
        await session.rollback()
    assert await _queue(queue, "event.7:mail_test:ana@example.org")
    assert not await _queue(queue, "event.7:mail_test:ana@example.org")  # a handler run again
    inbox = Inbox()
    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port), count=2):
        await eventually(lambda: _all_sent(queue, 1), "the message was sent")
    assert [d.rcpt_tos for d in inbox.received] == [["ana@example.org"]]
    assert inbox.received[0].message["From"] == INSTANCE_FROM
    [stored] = await outbox(queue)
    assert stored["sender"] == INSTANCE_FROM  # what it was sent with
    assert stored["message_id"].endswith("@mutualab.test>")


async def test_a_refused_message_is_retried_and_delivered_once(queue: Database) -> None:
    inbox = Inbox(refusals=1)
    await _queue(queue, "m:retry")
    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port)):
        await eventually(lambda: _all_sent(queue, 1), "the message was sent on its retry")
    assert inbox.refused == 1
    assert len(inbox.received) == 1
    [stored] = await outbox(queue)
    assert (stored["attempts"], stored["last_error"]) == (2, None)


async def test_a_message_refused_every_time_is_failed_with_its_error(queue: Database) -> None:
    inbox = Inbox(refusals=1000)
    await _queue(queue, "m:doomed")

    async def failed() -> bool:
        return await _statuses(queue) == ["failed"] and await queued_count(queue, "failed") == 1

    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port)):
        await eventually(failed, "the message was held as failed")
    assert inbox.received == []
    assert inbox.refused == QUICK.attempts
    [stored] = await outbox(queue)
    assert stored["attempts"] == QUICK.attempts
    assert "Try again later" in stored["last_error"]


async def test_sensitive_bodies_are_blanked_once_sent_and_bulk_mail_can_be_left(
    queue: Database,
) -> None:
    await _queue(queue, "reset", to="ana@example.org", sensitive=True)
    await _queue(
        queue,
        "news",
        to="bob@example.org",
        transactional=False,
        unsubscribe_url="https://mutualab.test/unsubscribe/abc",
    )
    inbox = Inbox()
    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port)):
        await eventually(lambda: _all_sent(queue, 2), "both were sent")
    [reset] = inbox.to("ana@example.org")
    assert "This test message" in str(reset.get_body(preferencelist=("plain",)))
    sensitive, bulk = await outbox(queue)
    assert (sensitive["text"], sensitive["html"]) == ("", "")
    assert "This test message" in bulk["text"]
    [news] = inbox.to("bob@example.org")
    assert news["List-Unsubscribe"] == "<https://mutualab.test/unsubscribe/abc>"
    assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://mutualab.test/unsubscribe/abc" in bulk["html"]


async def test_a_sensitive_body_is_kept_encrypted_until_it_is_sent(queue: Database) -> None:
    await _queue(queue, "reset", sensitive=True)
    [stored] = await outbox(queue)
    # A copy of the database alone does not give the link away.
    assert "This test message" not in stored["text"] + stored["html"]
    assert "This test message" in SEAL.open(stored["text"])
    assert SEAL.open(stored["html"]).startswith("<!DOCTYPE html>")
    inbox = Inbox()
    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port)):
        await eventually(lambda: _all_sent(queue, 1), "it was sent")
    [mail] = inbox.to("ana@example.org")
    assert "This test message" in str(mail.get_body(preferencelist=("plain",)))
    assert "<!DOCTYPE html>" in str(mail.get_body(preferencelist=("html",)))


async def test_a_sensitive_body_sealed_under_another_key_is_failed_not_sent(
    queue: Database,
) -> None:
    async with queue.writer() as session, session.begin():
        await queue_message(
            session,
            key="reset:other-instance",
            to="ana@example.org",
            template="mail_test",
            language="en",
            context=CONTEXT,
            sensitive=True,
            seal=BodySeal(b"another-instance-key-0123456789-0123456789"),
        )
    inbox = Inbox()
    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port)):

        async def failed() -> bool:
            return await _statuses(queue) == ["failed"] and await queued_count(queue) == 0

        await eventually(failed, "it was given up")
    assert inbox.received == []
    [stored] = await outbox(queue)
    assert "another instance key" in stored["last_error"]


async def test_a_sensitive_message_cannot_be_queued_without_a_seal(queue: Database) -> None:
    with pytest.raises(ValueError, match="seal"):
        await _queue(queue, "reset:unsealed", sensitive=True, seal=None)
    assert await outbox(queue) == []


async def test_the_nightly_purge_removes_only_old_sent_messages(queue: Database) -> None:
    await _queue(queue, "old", attachments=[Attachment("a.ics", "text/calendar", ICS)])
    await _queue(queue, "recent")
    await _queue(queue, "old-but-failed")
    now = datetime(2027, 6, 1, tzinfo=UTC)
    async with queue.writer() as session, session.begin():
        for key, status, days in (("old", "sent", 91), ("recent", "sent", 89)):
            await session.exec(
                update(MESSAGES)
                .where(MESSAGES.c.key == key)
                .values(status=status, sent_at=now - timedelta(days=days))
            )
        await session.exec(
            update(MESSAGES).where(MESSAGES.c.key == "old-but-failed").values(status="failed")
        )
    async with queue.writer() as session, session.begin():
        assert await purge_sent(session, now, keep_days=90) == 1
    assert [m["key"] for m in await outbox(queue)] == ["recent", "old-but-failed"]


async def test_a_stale_unsent_secret_link_is_erased_and_never_sent(queue: Database) -> None:
    await _queue(queue, "reset:stale", sensitive=True)
    await _queue(queue, "reset:fresh", sensitive=True, to="bob@example.org")
    async with queue.writer() as session, session.begin():
        await session.exec(
            update(MESSAGES)
            .where(MESSAGES.c.key == "reset:stale")
            .values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
        assert await erase_stale_secrets(session, datetime.now(UTC)) == 1
    stale, fresh = await outbox(queue)
    assert (stale["status"], stale["text"], stale["html"]) == ("failed", "", "")
    assert "link is erased" in stale["last_error"]
    assert fresh["text"] != ""
    inbox = Inbox()

    async def done() -> bool:
        return await _statuses(queue) == ["failed", "sent"] and await queued_count(queue) == 0

    async with smtp_server(inbox) as port, workers(_url(queue), _registry(queue, port)):
        await eventually(done, "the fresh one was sent and the stale one's job ended")
    assert [d.rcpt_tos for d in inbox.received] == [["bob@example.org"]]
