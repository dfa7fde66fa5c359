"""A message to one person, queued in the outbox: the parts every message shares."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, cast, func
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.message_facts import BookingFacts, PlaceFacts, Recipient
from notifications.outbox import Attachment, queue_message
from notifications.urls import booking_url
from notifications.wording import span

# Outbox keys stay bounded whatever the address: long ones end in a digest of themselves.
MAX_KEY = 400


@dataclass(frozen=True)
class Letter:
    """One message: to whom, which template, what it says and carries."""

    to: Recipient
    template: str
    context: Mapping[str, Any]
    attachments: Sequence[Attachment] = field(default=())


def epoch(moment: datetime) -> int:
    """An instant in whole seconds, as keys name it (the SQL of :func:`sql_key` agrees)."""
    return math.floor(moment.timestamp())


def sql_key(prefix: str, ident: Any, instant: Any, template: str, email: Any) -> Any:
    """The key of :func:`message_key` for ``<prefix>.<ident>.<template>.<epoch>``, in SQL: the
    periodic tasks skip, by the outbox's unique key, what they already queued."""
    seconds = cast(func.floor(func.extract("epoch", instant)), BigInteger)
    return func.concat(
        f"{prefix}.", ident, f".{template}.", seconds, f":{template}:", func.lower(email)
    )


def message_key(cause: str, template: str, email: str) -> str:
    """The outbox key of a message: one per cause, template and recipient."""
    key = f"{cause}:{template}:{email.lower()}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_KEY - len(digest) - 1]}~{digest}"


async def post(
    session: AsyncSession,
    cause: str,
    letter: Letter,
    place: PlaceFacts | None,
    *,
    unsubscribe_url: str | None = None,
) -> bool:
    """Queue ``letter`` in the session's transaction, once per ``cause`` (False: already)."""
    # The outbox adds the place's name and contact (``place``) from its id.
    context = {"recipient": {"name": letter.to.name, "email": letter.to.email}, **letter.context}
    return await queue_message(
        session,
        key=message_key(cause, letter.template, letter.to.email),
        to=letter.to.email,
        template=letter.template,
        language=letter.to.language,
        context=context,
        place_id=place.id if place is not None else None,
        attachments=letter.attachments,
        transactional=unsubscribe_url is None,
        unsubscribe_url=unsubscribe_url,
    )


def booking_context(booking: BookingFacts, language: str, base_url: str) -> dict[str, Any]:
    """What every booking message shows of the booking, worded for ``language``."""
    return {
        "booking": {
            "id": booking.id,
            "reference": booking.reference,
            "resources": ", ".join(booking.resources),
            "when": span(booking.starts_at, booking.ends_at, booking.place.timezone, language),
            "organisation": booking.organisation,
            "url": booking_url(base_url, booking.id),
        }
    }
