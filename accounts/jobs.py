"""Accounts' background work: the nightly purge of links that expired."""

from __future__ import annotations

import logging

from accounts.repository import AccountRepository
from kernel.clock import Clock
from kernel.db import Database
from kernel.jobs import JobRegistry

logger = logging.getLogger("accounts.jobs")
PURGE_LINKS = "accounts.purge_email_links"


async def purge_expired_links(database: Database, clock: Clock) -> int:
    """Delete the mailed links that expired (used or not): they can prove nothing any more."""
    async with database.writer() as session, session.begin():
        return await AccountRepository(session).purge_email_tokens(clock())


def register(registry: JobRegistry, database: Database, clock: Clock, nightly: str) -> None:
    """Give the workers accounts' periodic tasks."""

    async def purge() -> None:
        purged = await purge_expired_links(database, clock)
        logger.info("%s expired e-mail link(s) purged", purged)

    registry.every(PURGE_LINKS, nightly, purge)
