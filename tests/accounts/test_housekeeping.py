"""The hourly clean-up of what can no longer be used: browser sessions past their idle or age
limit, and log-in counters whose window has passed (off the log-in's path)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from accounts.jobs import drop_stale
from accounts.models import AttemptCounter, BrowserSession
from accounts.throttle import Throttle, rules
from kernel.db import Database
from kernel.settings import Settings
from tests.support.accounts import make_user
from tests.support.booking import MutableClock


async def _count(database: Database, model: type) -> int:
    async with database.read_engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())


async def test_stale_sessions_and_spent_counters_are_dropped_and_live_ones_kept(
    database: Database, settings: Settings
) -> None:
    clock = MutableClock()
    now = clock()
    alice = await make_user(database, "alice@example.org")
    idle = timedelta(minutes=settings.session_idle_minutes)
    old = timedelta(days=settings.session_max_age_days)
    async with database.writer() as session, session.begin():
        session.add_all(
            [
                BrowserSession(
                    user_id=alice.user_id,
                    token_sha256=f"{n:064x}",
                    created_at=created,
                    last_seen_at=seen,
                )
                for n, (created, seen) in enumerate(
                    [
                        (now - timedelta(minutes=5), now - timedelta(minutes=1)),  # live
                        (now - timedelta(hours=3), now - idle - timedelta(minutes=1)),  # idle
                        (now - old - timedelta(minutes=1), now - timedelta(minutes=1)),  # old
                    ]
                )
            ]
        )
    throttle = Throttle(database, settings, clock)
    login_email, _, _ = rules(settings)
    await throttle.attempt(login_email, "alice@example.org")
    assert await _count(database, AttemptCounter) == 1

    await drop_stale(database, settings, clock)
    assert await _count(database, BrowserSession) == 1  # the live one
    assert await _count(database, AttemptCounter) == 1  # its window is still open

    clock.advance(minutes=settings.login_window_minutes + 1)
    await drop_stale(database, settings, clock)
    assert await _count(database, AttemptCounter) == 0
