"""What the notification tests share: a place written directly, the outbox read back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kernel.db import Database
from notifications.models import ATTACHMENTS, MESSAGES
from resources.models import Place


async def insert_place(database: Database, **overrides: Any) -> int:
    """A place with a name and contact, as the layout shows them."""
    values: dict[str, Any] = {
        "slug": "fablab-lannion",
        "name": "Fablab de Lannion",
        "address": "1 rue de la Mairie",
        "postcode": "22300",
        "town": "Lannion",
        "operator_name": "Commune de Lannion",
        "email": "contact@fablab-lannion.example",
        "phone": "02 96 00 00 00",
    }
    values.update(overrides)
    async with database.writer() as session, session.begin():
        place = Place(**values)
        session.add(place)
        await session.flush()
        assert place.id is not None
        return place.id


async def outbox(database: Database) -> list[dict[str, Any]]:
    """Every stored message, oldest first."""
    async with database.reader() as session:
        rows = await session.exec(select(MESSAGES).order_by(MESSAGES.c.id))
        return [dict(row._mapping) for row in rows]


async def attachments(database: Database, message_id: int) -> list[dict[str, Any]]:
    """A message's stored attachments, in order."""
    async with database.reader() as session:
        rows = await session.exec(
            select(ATTACHMENTS)
            .where(ATTACHMENTS.c.message_id == message_id)
            .order_by(ATTACHMENTS.c.position)
        )
        return [dict(row._mapping) for row in rows]


async def queued_message(database: Database, key: str = "matrix:1", **overrides: Any) -> int:
    """A message in the outbox with one attachment (as queue_message leaves it); its id."""
    from notifications.outbox import Attachment, queue_message
    from tests.support.mailbox import SEAL

    values: dict[str, Any] = {
        "to": "someone@example.org",
        "template": "mail_test",
        "language": "fr",
        "context": {"instance": "Mutualab", "requested_by": "Ana"},
        "attachments": [Attachment("reservation.ics", "text/calendar; method=REQUEST", b"ICS")],
        "seal": SEAL,
    }
    values.update(overrides)
    async with database.writer() as session, session.begin():
        assert await queue_message(session, key=key, **values)
    [message] = [m for m in await outbox(database) if m["key"] == key]
    return int(message["id"])
