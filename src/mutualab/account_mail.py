"""Accounts' messages go to the outbox (notifications), which accounts sits below."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.mail import AccountMessage
from notifications.outbox import queue_message


async def to_outbox(session: AsyncSession, message: AccountMessage) -> bool:
    """Queue an account message in the caller's transaction (accounts.mail.AccountMail)."""
    return await queue_message(
        session,
        key=message.key,
        to=message.to,
        template=message.template,
        language=message.language,
        context=message.context,
        sensitive=message.sensitive,
    )
