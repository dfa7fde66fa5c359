"""Accounts' background work: the nightly purge of links that expired, and the hourly clean-up of
browser sessions that can no longer be used and of log-in counters whose window has passed
(both were done on every log-in, a table-wide delete on the request's path)."""

from __future__ import annotations

import logging

from accounts.middleware import session_limits
from accounts.repository import AccountRepository
from accounts.throttle import Throttle
from kernel.clock import Clock
from kernel.db import Database
from kernel.jobs import JobRegistry
from kernel.settings import Settings

logger = logging.getLogger("accounts.jobs")
PURGE_LINKS = "accounts.purge_email_links"
DROP_STALE = "accounts.drop_stale_sessions"
HOURLY = "7 * * * *"


async def purge_expired_links(database: Database, clock: Clock) -> int:
    """Delete the mailed links that expired (used or not): they can prove nothing any more."""
    async with database.writer() as session, session.begin():
        return await AccountRepository(session).purge_email_tokens(clock())


async def drop_stale(database: Database, settings: Settings, clock: Clock) -> None:
    """Delete the sessions past their idle or age limit (refused already, by the identity
    check) and the log-in counters whose window has passed (they would start again anyway)."""
    limits = session_limits(settings)
    now = clock()
    async with database.writer() as session, session.begin():
        await AccountRepository(session).drop_stale_sessions(
            now - limits.idle, now - limits.max_age
        )
    await Throttle(database, settings, clock).purge()


def register(
    registry: JobRegistry,
    database: Database,
    clock: Clock,
    nightly: str,
    settings: Settings,
    hourly: str = HOURLY,
) -> None:
    """Give the workers accounts' periodic tasks."""

    async def purge() -> None:
        purged = await purge_expired_links(database, clock)
        logger.info("%s expired e-mail link(s) purged", purged)

    async def tidy() -> None:
        await drop_stale(database, settings, clock)

    registry.every(PURGE_LINKS, nightly, purge)
    registry.every(DROP_STALE, hourly, tidy)
