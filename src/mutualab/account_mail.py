"""Accounts' messages go to the outbox (notifications), which accounts sits below."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.mail import AccountMail, AccountMessage
from kernel.settings import Settings
from notifications.outbox import queue_message
from notifications.sealing import BodySeal


def outbox_mail(settings: Settings) -> AccountMail:
    """The port accounts queues its messages through (accounts.mail.AccountMail).

    In the demo (``mail_catcher``: every message stays on this machine) links are not hidden
    from the outbox page, so a newcomer who signs up can open theirs there.
    """
    hide_links = not settings.mail_catcher
    seal = BodySeal(settings.resolved_secret_key())

    async def to_outbox(session: AsyncSession, message: AccountMessage) -> bool:
        return await queue_message(
            session,
            key=message.key,
            to=message.to,
            template=message.template,
            language=message.language,
            context=message.context,
            sensitive=message.sensitive and hide_links,
            seal=seal,
        )

    return to_outbox
