"""The ``mail.send`` job: one outbox message to the SMTP server, at least once, never twice on
purpose.

Each step is its own short transaction, and the SMTP call sits between them, in none: the
attempt is counted (and the Message-ID fixed) first, the message is handed over, then marked
sent. A worker killed before the hand-over leaves the message queued for the next one; killed
after it, the message may go twice, with the same Message-ID, which mail clients recognise. A
refusal raises, so the queue retries with backoff; the last attempt marks it failed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.clock import Clock
from kernel.db import Database
from kernel.jobs import Retry
from kernel.mail import Mailer
from notifications.models import FAILED, MESSAGES, QUEUED, SENT, OutboundAttachment
from notifications.sealing import BodySeal

logger = logging.getLogger("mutualab.mail")
# SMTP servers are often down for minutes, sometimes for an hour: about two hours of tries.
SEND_RETRY = Retry(attempts=8)
MAX_ERROR_LENGTH = 2000


class MailSender:
    """Sends outbox messages by id (the ``mail.send`` job's handler)."""

    def __init__(
        self,
        database: Database,
        mailer: Mailer,
        clock: Clock,
        seal: BodySeal,
        retry: Retry = SEND_RETRY,
    ) -> None:
        self.database = database
        self.mailer = mailer
        self.clock = clock
        self.seal = seal
        self.retry = retry

    async def __call__(self, payload: dict[str, Any]) -> None:
        """Run one ``mail.send`` job."""
        await self.send(int(payload["message_id"]))

    async def send(self, message_id: int) -> bool:
        """Send the message unless it was sent; True when it was handed over now."""
        async with self.database.writer() as session, session.begin():
            row = await _begin_attempt(session, message_id, self.mailer.default_sender)
            if row is None:
                return False
            files = [
                {"filename": f.filename, "content_type": f.content_type, "data": f.data}
                for f in (
                    await session.exec(
                        select(OutboundAttachment)
                        .where(col(OutboundAttachment.message_id) == message_id)
                        .order_by(col(OutboundAttachment.position))
                    )
                ).all()
            ]
        sender = row["sender"] or self.mailer.default_sender
        if row["sensitive"]:
            # Opened only now, in memory: the database keeps the bodies encrypted.
            try:
                row |= {"text": self.seal.open(row["text"]), "html": self.seal.open(row["html"])}
            except ValueError as exc:  # sealed under another instance key: no retry helps
                await self._give_up(message_id, exc)
                return False
        try:
            await self.mailer.send(build_email(row, files, sender, self.clock()))
        except Exception as exc:
            await self._failed(message_id, row["attempts"], exc)
            raise
        async with self.database.writer() as session, session.begin():
            values: dict[str, Any] = {
                "status": SENT,
                "sent_at": self.clock(),
                "sender": sender,
                "last_error": None,
            }
            if row["sensitive"]:  # its link must not outlive the sending in the database
                values |= {"text": "", "html": ""}
            await session.exec(update(MESSAGES).where(MESSAGES.c.id == message_id).values(values))
        logger.info("message #%s (%s) sent", message_id, row["template"])
        return True

    async def _give_up(self, message_id: int, exc: Exception) -> None:
        async with self.database.writer() as session, session.begin():
            await session.exec(
                update(MESSAGES)
                .where(MESSAGES.c.id == message_id, MESSAGES.c.status != SENT)
                .values(status=FAILED, last_error=str(exc)[:MAX_ERROR_LENGTH])
            )
        logger.error("message #%s not sent: %s", message_id, exc)

    async def _failed(self, message_id: int, attempts: int, exc: Exception) -> None:
        spent = attempts >= self.retry.attempts
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
        async with self.database.writer() as session, session.begin():
            await session.exec(
                update(MESSAGES)
                .where(MESSAGES.c.id == message_id, MESSAGES.c.status != SENT)
                .values(status=FAILED if spent else QUEUED, last_error=error)
            )
        logger.warning(
            "message #%s not sent (attempt %s of %s): %s",
            message_id,
            attempts,
            self.retry.attempts,
            type(exc).__name__,
        )


async def _begin_attempt(
    session: AsyncSession, message_id: int, default_sender: str
) -> dict[str, Any] | None:
    """Count one attempt of an unsent message and fix its Message-ID; None when there is
    nothing to send (sent already, purged, or a sensitive one whose link was erased)."""
    result = await session.exec(
        update(MESSAGES)
        .where(
            MESSAGES.c.id == message_id,
            MESSAGES.c.status != SENT,
            # A sensitive message whose link was erased (stale) is never sent.
            or_(~MESSAGES.c.sensitive, MESSAGES.c.text != ""),
        )
        .values(attempts=MESSAGES.c.attempts + 1)
        .returning(*MESSAGES.c)
    )
    found = result.first()
    if found is None:
        return None
    row = dict(found._mapping)
    if row["message_id"] is None:
        row["message_id"] = message_id_for(row, row["sender"] or default_sender)
        await session.exec(
            update(MESSAGES).where(MESSAGES.c.id == message_id).values(message_id=row["message_id"])
        )
    return row


def _domain(address: str) -> str:
    parsed = getaddresses([address])
    if parsed and "@" in parsed[0][1]:
        return parsed[0][1].rsplit("@", 1)[1]
    return "mutualab.invalid"


def message_id_for(row: dict[str, Any], sender: str) -> str:
    """A Message-ID of the row in the sender's domain, fixed at its first attempt (a re-send
    carries the same one, so mail clients recognise it)."""
    digest = hashlib.sha256(row["key"].encode()).hexdigest()[:20]
    return f"<mutualab.{row['id']}.{digest}@{_domain(sender)}>"


def build_email(
    row: dict[str, Any], files: list[dict[str, Any]], sender: str, now: datetime
) -> EmailMessage:
    """The MIME message of an outbox row: text and HTML alternatives, then the attachments."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = row["recipient"]
    email["Subject"] = row["subject"]
    email["Date"] = format_datetime(now)
    email["Message-ID"] = row["message_id"]
    email["Content-Language"] = row["language"]
    # Automatic mail: out-of-office replies are not sent back (RFC 3834).
    email["Auto-Submitted"] = "auto-generated"
    if not row["transactional"] and row["unsubscribe_url"]:
        email["List-Unsubscribe"] = f"<{row['unsubscribe_url']}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    email.set_content(row["text"])
    email.add_alternative(row["html"], subtype="html")
    for file in files:
        maintype, subtype, params = _content_type(file["content_type"])
        email.add_attachment(
            bytes(file["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=file["filename"],
            params=params,
        )
    return email


def _content_type(value: str) -> tuple[str, str, dict[str, str]]:
    """("text", "calendar", {"method": "REQUEST"}) for "text/calendar; method=REQUEST"."""
    kind, *rest = (part.strip() for part in value.split(";"))
    maintype, _, subtype = kind.partition("/")
    params = {}
    for part in rest:
        name, _, param = part.partition("=")
        if name and param:
            params[name.strip().lower()] = param.strip().strip('"')
    return maintype or "application", subtype or "octet-stream", params
