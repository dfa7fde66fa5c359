"""Sent messages are kept for a while (the outbox page shows them), then purged."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from notifications.models import MESSAGES, SENT


async def purge_sent(session: AsyncSession, now: datetime, keep_days: int) -> int:
    """Delete the messages sent more than ``keep_days`` ago (with their attachments)."""
    result = await session.exec(
        delete(MESSAGES).where(
            MESSAGES.c.status == SENT, MESSAGES.c.sent_at < now - timedelta(days=keep_days)
        )
    )
    return int(result.rowcount or 0)
