"""queue_message: rendered in the caller's transaction, stored once per key, sent by a job."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from kernel.db import Database
from notifications.outbox import SEND_JOB, Attachment, queue_message
from tests.notifications.support import attachments, insert_place, outbox
from tests.support.jobs import empty_queue

CONTEXT = {"instance": "Mutualab <test>", "requested_by": "Ana & Bob"}


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty job queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


async def _send_jobs(database: Database) -> list[bytes]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT payload FROM jobs.pgqueuer WHERE entrypoint = :name ORDER BY id"),
            {"name": SEND_JOB},
        )
        return [row.payload for row in rows]


async def test_a_message_is_rendered_stored_and_queued_with_its_place(queue: Database) -> None:
    place_id = await insert_place(queue, mail_from="Fablab <fablab@lannion.example>")
    ics = Attachment("booking.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\n")
    async with queue.writer() as session, session.begin():
        queued = await queue_message(
            session,
            key="test:1",
            to="ana@example.org",
            template="mail_test",
            language="en-GB",
            context=CONTEXT,
            place_id=place_id,
            attachments=[ics],
        )
    assert queued is True
    [message] = await outbox(queue)
    assert message["recipient"] == "ana@example.org"
    assert message["sender"] == "Fablab <fablab@lannion.example>"
    assert message["subject"] == "Test message from Mutualab <test>"
    assert message["language"] == "en"
    assert message["status"] == "queued"
    # Plain text as written, the place's contact in its footer.
    assert "at the request of Ana & Bob." in message["text"]
    assert "Fablab de Lannion, 1 rue de la Mairie, 22300 Lannion" in message["text"]
    assert "E-mail: contact@fablab-lannion.example" in message["text"]
    # HTML escaped, in the layout naming the place.
    assert "Ana &amp; Bob" in message["html"]
    assert "Mutualab &lt;test&gt;" in message["html"]
    assert '<html lang="en">' in message["html"]
    assert "mailto:contact@fablab-lannion.example" in message["html"]
    [stored] = await attachments(queue, message["id"])
    assert (stored["filename"], stored["content_type"], stored["data"]) == (
        "booking.ics",
        "text/calendar; method=REQUEST",
        b"BEGIN:VCALENDAR\r\n",
    )
    assert await _send_jobs(queue) == [f'{{"message_id":{message["id"]}}}'.encode()]


async def test_the_same_key_queues_once(queue: Database) -> None:
    for _ in range(2):
        async with queue.writer() as session, session.begin():
            queued = await queue_message(
                session,
                key="booking.1.created:mail_test:ana@example.org",
                to="ana@example.org",
                template="mail_test",
                language="fr",
                context=CONTEXT,
            )
    assert queued is False
    [message] = await outbox(queue)
    assert message["subject"] == "Message d'essai de Mutualab <test>"
    assert message["sender"] is None  # the instance's, set when sent
    assert "Mutualab" in message["text"]
    assert len(await _send_jobs(queue)) == 1


async def test_a_rolled_back_transaction_queues_nothing(queue: Database) -> None:
    async with queue.writer() as session:
        await queue_message(
            session,
            key="k",
            to="a@example.org",
            template="mail_test",
            language="de",
            context=CONTEXT,
        )
        await session.rollback()
    assert await outbox(queue) == []
    assert await _send_jobs(queue) == []


async def test_an_unknown_language_falls_back_to_french_and_a_missing_value_fails(
    queue: Database,
) -> None:
    async with queue.writer() as session, session.begin():
        await queue_message(
            session,
            key="k",
            to="a@example.org",
            template="mail_test",
            language="de",
            context=CONTEXT,
        )
    [message] = await outbox(queue)
    assert message["language"] == "fr"
    async with queue.writer() as session, session.begin():
        with pytest.raises(Exception, match="requested_by"):
            await queue_message(
                session,
                key="k2",
                to="a@example.org",
                template="mail_test",
                language="en",
                context={"instance": "x"},
            )
        with pytest.raises(ValueError, match="one plain e-mail address"):
            await queue_message(
                session,
                key="k4",
                to="a@example.org\r\nBcc: all@example.org",
                template="mail_test",
                language="en",
                context=CONTEXT,
            )
        with pytest.raises(LookupError):
            await queue_message(
                session,
                key="k3",
                to="a@example.org",
                template="../secrets",
                language="en",
                context={},
            )


async def test_a_walk_ins_placeholder_address_is_never_mailed(queue: Database) -> None:
    for to in ("walk-in-0a1b2c3d@guests.invalid", "ana@example.org"):
        async with queue.writer() as session, session.begin():
            await queue_message(
                session,
                key=f"booking.1.created:mail_test:{to}",
                to=to,
                template="mail_test",
                language="fr",
                context=CONTEXT,
            )
    assert [m["recipient"] for m in await outbox(queue)] == ["ana@example.org"]
    assert len(await _send_jobs(queue)) == 1
