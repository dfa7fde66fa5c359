"""Running the messages' subscribers through a real worker, and reading the outbox they fill."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from icalendar import Calendar
from sqlalchemy import text

from kernel.clock import Clock
from kernel.db import Database
from kernel.events import EVENT_JOB, Subscribers
from kernel.jobs import JobRegistry, Retry
from kernel.mail import Mailer, SmtpServer
from kernel.settings import Settings
from notifications import wiring
from notifications.messages import MessageParts, subscribe
from notifications.sealing import BodySeal
from tests.support.jobs import eventually, workers


@dataclass(frozen=True)
class Sent:
    """A message as the outbox holds it."""

    key: str
    recipient: str
    template: str
    language: str
    subject: str
    text: str
    html: str
    transactional: bool
    unsubscribe_url: str | None
    attachments: tuple[tuple[str, str, bytes], ...]

    def calendar(self) -> Calendar:
        """The one ``.ics`` attached, parsed."""
        [data] = [data for _, kind, data in self.attachments if kind.startswith("text/calendar")]
        return Calendar.from_ical(data)


def registry(database: Database, settings: Settings, clock: Clock) -> JobRegistry:
    """A worker's jobs: the events handed to the messages' subscribers (no mail sent)."""
    subscribers = Subscribers()
    subscribe(subscribers, MessageParts(database, settings, clock))
    jobs = JobRegistry()
    jobs.job(EVENT_JOB, subscribers.dispatcher())
    return jobs


def url_of(database: Database) -> str:
    """The database's address, for a worker."""
    return database.engine.url.render_as_string(hide_password=False)


async def events_waiting(database: Database) -> int:
    """Events not yet handed to the subscribers."""
    async with database.read_engine.connect() as conn:
        result = await conn.execute(
            text("SELECT count(*) FROM jobs.pgqueuer WHERE entrypoint = :name"),
            {"name": EVENT_JOB},
        )
        return int(result.scalar_one())


async def dispatch(database: Database, settings: Settings, clock: Clock) -> None:
    """Run a real worker until every published event was handed to the subscribers."""

    async def done() -> bool:
        return await events_waiting(database) == 0

    async with workers(url_of(database), registry(database, settings, clock)):
        await eventually(done, "every event was dispatched")


async def outbox(database: Database, template: str | None = None) -> list[Sent]:
    """The messages queued (of ``template``), in the order they were queued."""
    async with database.read_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, key, recipient, template, language, subject, text, html, "
                    "transactional, unsubscribe_url FROM outbound_message "
                    "WHERE CAST(:template AS text) IS NULL OR template = :template ORDER BY id"
                ),
                {"template": template},
            )
        ).all()
        files = (
            await conn.execute(
                text(
                    "SELECT message_id, filename, content_type, data FROM outbound_attachment "
                    "ORDER BY message_id, position"
                )
            )
        ).all()
    attached: dict[int, list[tuple[str, str, bytes]]] = {}
    for file in files:
        attached.setdefault(file.message_id, []).append(
            (file.filename, file.content_type, bytes(file.data))
        )
    return [
        Sent(
            key=row.key,
            recipient=row.recipient,
            template=row.template,
            language=row.language,
            subject=row.subject,
            text=row.text,
            html=row.html,
            transactional=row.transactional,
            unsubscribe_url=row.unsubscribe_url,
            attachments=tuple(attached.get(row.id, [])),
        )
        for row in rows
    ]


async def set_language(database: Database, user_id: int, language: str) -> None:
    """The language a person reads their messages in."""
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE user_account SET language = :language WHERE id = :id"),
            {"language": language, "id": user_id},
        )


def mailing_registry(
    database: Database, settings: Settings, clock: Clock, port: int
) -> JobRegistry:
    """The events handed to the messages, and ``mail.send`` to the SMTP server on ``port``."""
    jobs = registry(database, settings, clock)
    mailer = Mailer(SmtpServer("127.0.0.1", port, timeout=10), "Mutualab <no-reply@mutualab.test>")
    wiring.register(
        jobs,
        database=database,
        mailer=mailer,
        clock=clock,
        retention_days=90,
        nightly="17 3 * * *",
        seal=BodySeal(settings.resolved_secret_key()),
        retry=Retry(attempts=3, first_delay=timedelta(milliseconds=50)),
    )
    return jobs
