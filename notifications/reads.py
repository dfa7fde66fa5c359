"""What administrators read of the outbox: the messages, newest first, one message, a file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.models import STATUSES, OutboundAttachment, OutboundMessage

PER_PAGE = 50


class OutboxMessageRead(BaseModel):
    """One line of the outbox (the admin API answers it as is)."""

    id: int
    status: str
    recipient: str
    sender: str | None
    subject: str
    template: str
    language: str
    place_id: int | None
    transactional: bool
    sensitive: bool
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class AttachmentSummary:
    """A file of a message, without its bytes."""

    position: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageDetail:
    """One message with its bodies (None when sensitive) and its files."""

    summary: OutboxMessageRead
    message_id: str | None
    text: str | None
    html: str | None
    attachments: list[AttachmentSummary]


@dataclass(frozen=True)
class OutboxPage:
    """A page of the outbox and how many messages it holds in all."""

    items: list[OutboxMessageRead]
    total: int


def _summary(message: OutboundMessage) -> OutboxMessageRead:
    assert message.id is not None
    return OutboxMessageRead(
        id=message.id,
        status=message.status,
        recipient=message.recipient,
        sender=message.sender,
        subject=message.subject,
        template=message.template,
        language=message.language,
        place_id=message.place_id,
        transactional=message.transactional,
        sensitive=message.sensitive,
        attempts=message.attempts,
        last_error=message.last_error,
        created_at=message.created_at,
        sent_at=message.sent_at,
    )


async def list_messages(
    session: AsyncSession, *, status: str | None = None, page: int = 1, per_page: int = PER_PAGE
) -> OutboxPage:
    """The messages (of one status when given), newest first."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status is one of {', '.join(STATUSES)}")
    query = select(OutboundMessage)
    count = select(func.count()).select_from(OutboundMessage)
    if status is not None:
        query = query.where(col(OutboundMessage.status) == status)
        count = count.where(col(OutboundMessage.status) == status)
    rows = await session.exec(
        query.order_by(col(OutboundMessage.created_at).desc(), col(OutboundMessage.id).desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    total = (await session.exec(count)).one()
    return OutboxPage(items=[_summary(row) for row in rows.all()], total=int(total))


async def get_message(session: AsyncSession, message_id: int) -> MessageDetail | None:
    """One message; its bodies are withheld when it is sensitive (they hold a secret link)."""
    message = await session.get(OutboundMessage, message_id)
    if message is None:
        return None
    files = await session.exec(
        select(
            OutboundAttachment.position,
            OutboundAttachment.filename,
            OutboundAttachment.content_type,
            func.octet_length(OutboundAttachment.data),
        )
        .where(col(OutboundAttachment.message_id) == message_id)
        .order_by(col(OutboundAttachment.position))
    )
    hidden = message.sensitive
    return MessageDetail(
        summary=_summary(message),
        message_id=message.message_id,
        text=None if hidden else message.text,
        html=None if hidden else message.html,
        attachments=[
            AttachmentSummary(position, filename, content_type, int(size or 0))
            for position, filename, content_type, size in files.all()
        ],
    )


async def get_attachment(
    session: AsyncSession, message_id: int, position: int
) -> dict[str, Any] | None:
    """A file of a message (filename, content type, bytes); None when there is none."""
    found = (
        await session.exec(
            select(OutboundAttachment).where(
                col(OutboundAttachment.message_id) == message_id,
                col(OutboundAttachment.position) == position,
            )
        )
    ).first()
    if found is None:
        return None
    return {
        "filename": found.filename,
        "content_type": found.content_type,
        "data": bytes(found.data),
    }
