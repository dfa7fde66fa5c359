"""What the shell registers for notifications: the sending job and the nightly purge."""

from __future__ import annotations

import logging

from kernel.clock import Clock
from kernel.db import Database
from kernel.jobs import JobRegistry, Retry
from kernel.mail import Mailer
from notifications.outbox import SEND_JOB
from notifications.retention import erase_stale_secrets, purge_sent
from notifications.sealing import BodySeal
from notifications.sending import SEND_RETRY, MailSender

logger = logging.getLogger("mutualab.mail")


def register(
    registry: JobRegistry,
    *,
    database: Database,
    mailer: Mailer,
    clock: Clock,
    retention_days: int,
    nightly: str,
    seal: BodySeal,
    retry: Retry = SEND_RETRY,
) -> MailSender:
    """Declare ``mail.send`` and the nightly clean-up of the outbox on ``registry``; ``seal``
    opens the sensitive bodies (the instance's, as the outbox sealed them with)."""
    sender = MailSender(database, mailer, clock, seal, retry)
    registry.job(SEND_JOB, sender, retry)

    async def purge() -> None:
        async with database.writer() as session, session.begin():
            purged = await purge_sent(session, clock(), retention_days)
            erased = await erase_stale_secrets(session, clock())
        logger.info(
            "%s sent message(s) purged from the outbox, %s stale secret link(s) erased",
            purged,
            erased,
        )

    registry.every("mail.purge_sent", nightly, purge)
    return sender
