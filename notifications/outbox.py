"""Queueing a message: rendered now, stored in the outbox, sent by the ``mail.send`` job.

:func:`queue_message` runs in the caller's transaction: the message exists (and will be sent)
exactly when the change that caused it commits. Its ``key`` is unique, so a handler run again
(an event delivered twice, a retried job) queues nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.jobs import enqueue
from kernel.models import utcnow
from notifications.models import ATTACHMENTS, MAX_KEY_LENGTH, MESSAGES, QUEUED
from notifications.rendering import render
from notifications.sealing import BodySeal
from notifications.wording import language_of
from resources.models import Place

SEND_JOB = "mail.send"
# What the layout and footer read of a place (all present, None when unknown).
PLACE_FIELDS = ("name", "address", "postcode", "town", "email", "phone", "website")


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message."""

    filename: str
    content_type: str  # "text/calendar; method=REQUEST", "application/pdf"
    data: bytes


async def queue_message(
    session: AsyncSession,
    *,
    key: str,
    to: str,
    template: str,
    language: str,
    context: Mapping[str, Any],
    place_id: int | None = None,
    attachments: Sequence[Attachment] = (),
    transactional: bool = True,
    sensitive: bool = False,
    seal: BodySeal | None = None,
    unsubscribe_url: str | None = None,
) -> bool:
    """Render ``template`` for ``to`` and queue it; False when ``key`` was already queued, or
    ``to`` is under the reserved ``.invalid`` domain (RFC 6761).

    ``context`` holds plain data; with ``place_id``, ``place`` (name and contact) is added
    unless given. A non-transactional message needs its ``unsubscribe_url``; a ``sensitive``
    one (a link that logs in) its ``seal``: its bodies are stored encrypted until sent.
    """
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"a message key is 1-{MAX_KEY_LENGTH} characters")
    if "@" not in to or any(c in to for c in "\r\n,;<>"):
        raise ValueError("a message goes to one plain e-mail address")
    if not transactional and not unsubscribe_url:
        raise ValueError("a non-transactional message needs an unsubscribe_url")
    if sensitive and seal is None:
        raise ValueError("a sensitive message needs a seal to encrypt its bodies")
    if to.lower().endswith(".invalid"):
        return False  # a walk-in's placeholder (accounts.guests): nobody to mail
    lang = language_of(language)
    values: dict[str, Any] = dict(context)
    sender: str | None = None
    if place_id is not None:
        place, sender = await _place(session, place_id)
        values.setdefault("place", place)
    if "place" in values and values["place"] is not None:
        values["place"] = {field: None for field in PLACE_FIELDS} | dict(values["place"])
    values["unsubscribe_url"] = None if transactional else unsubscribe_url
    rendered = render(template, lang, values)
    text, html = rendered.text, rendered.html
    if sensitive:
        assert seal is not None  # checked above
        text, html = seal.seal(text), seal.seal(html)

    inserted = await session.exec(
        insert(MESSAGES)
        .values(
            key=key,
            place_id=place_id,
            recipient=to,
            sender=sender,
            subject=rendered.subject,
            text=text,
            html=html,
            language=lang,
            template=template,
            transactional=transactional,
            sensitive=sensitive,
            unsubscribe_url=None if transactional else unsubscribe_url,
            status=QUEUED,
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[MESSAGES.c.key])
        .returning(MESSAGES.c.id)
    )
    message_id = inserted.scalar_one_or_none()
    if message_id is None:
        return False
    if attachments:
        await session.exec(
            insert(ATTACHMENTS).values(
                [
                    {
                        "message_id": message_id,
                        "position": position,
                        "filename": attachment.filename,
                        "content_type": attachment.content_type,
                        "data": attachment.data,
                    }
                    for position, attachment in enumerate(attachments)
                ]
            )
        )
    await enqueue(
        session, SEND_JOB, {"message_id": message_id}, dedupe_key=f"{SEND_JOB}:{message_id}"
    )
    return True


async def _place(session: AsyncSession, place_id: int) -> tuple[dict[str, Any] | None, str | None]:
    """The place's name and contact for the layout, and its own sender address if any."""
    place = await session.get(Place, place_id)
    if place is None:
        return None, None
    return {field: getattr(place, field) for field in PLACE_FIELDS}, place.mail_from
