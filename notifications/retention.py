"""Sent messages are kept for a while (the outbox page shows them), then purged; the secret
links of sensitive messages that could not be sent are erased once they are stale."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.models import FAILED, MESSAGES, SENT

# A password-reset or address-check link is worthless after this long: an unsent one goes.
SECRET_LIFETIME = timedelta(days=1)


async def purge_sent(session: AsyncSession, now: datetime, keep_days: int) -> int:
    """Delete the messages sent more than ``keep_days`` ago (with their attachments)."""
    result = await session.exec(
        delete(MESSAGES).where(
            MESSAGES.c.status == SENT, MESSAGES.c.sent_at < now - timedelta(days=keep_days)
        )
    )
    return int(result.rowcount or 0)


async def erase_stale_secrets(session: AsyncSession, now: datetime) -> int:
    """Blank the bodies of sensitive messages still unsent after :data:`SECRET_LIFETIME`, and
    hold them as failed: their link must not wait in the database, nor go out late."""
    result = await session.exec(
        update(MESSAGES)
        .where(
            MESSAGES.c.sensitive,
            MESSAGES.c.status != SENT,
            MESSAGES.c.created_at < now - SECRET_LIFETIME,
            MESSAGES.c.text != "",
        )
        .values(text="", html="", status=FAILED, last_error="not sent in time: its link is erased")
    )
    return int(result.rowcount or 0)
