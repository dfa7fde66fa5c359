"""Log-in and sign-up throttling: atomic counts, growing delays, addresses behind proxies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_network

import httpx
import pytest
from sqlalchemy import func, select

from accounts.models import AttemptCounter, User
from kernel.db import Database
from kernel.settings import Settings
from tests.accounts.test_sessions import STRONG, csrf, sign_up
from tests.support.apps import leased_app
from tests.support.booking import MutableClock

WRONG = {"email": "alice@example.fr", "password": "not-the-password"}
RIGHT = {"email": "alice@example.fr", "password": STRONG}


@asynccontextmanager
async def app_client(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app whose clock stands still unless the test moves it."""
    async with (
        leased_app(settings, database, clock) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://127.0.0.1"
        ) as http,
    ):
        yield http


@pytest.fixture
def behind_proxy(settings: Settings) -> Settings:
    """Settings of an instance behind a reverse proxy on this host."""
    return settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.1/32")]})


async def log_in(
    http: httpx.AsyncClient, body: dict[str, str], client: str | None = None
) -> httpx.Response:
    headers = await csrf(http)
    if client is not None:
        headers["X-Forwarded-For"] = client
    return await http.post("/api/auth/login", json=body, headers=headers)


async def counted(database: Database) -> list[int]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            select(AttemptCounter.attempts).order_by(AttemptCounter.attempts)  # type: ignore[arg-type]
        )
        return [attempts for (attempts,) in rows]


async def test_parallel_guesses_are_each_counted_and_only_the_free_ones_checked(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        headers = await csrf(http)
        guesses = await asyncio.gather(
            *(http.post("/api/auth/login", json=WRONG, headers=headers) for _ in range(20))
        )
        statuses = sorted(response.status_code for response in guesses)
        free = settings.login_max_failures
        assert statuses == [401] * free + [429] * (20 - free)
        # Refused guesses were never checked, and cost the address nothing (the counters: the
        # sign-up from this address, then the e-mail's and the address's log-ins).
        assert await counted(database) == [1, free, free]
        assert (await log_in(http, RIGHT)).status_code == 429  # the e-mail waits its second
        clock.advance(seconds=1)
        assert (await log_in(http, RIGHT)).status_code == 200


async def test_each_further_failure_waits_twice_as_long_up_to_a_minute(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        for _ in range(settings.login_max_failures):
            assert (await log_in(http, WRONG)).status_code == 401
        waits = []
        for _ in range(9):
            refused = await log_in(http, WRONG)
            assert refused.status_code == 429
            assert refused.json()["code"] == "too_many_attempts"
            waits.append(int(refused.headers["retry-after"]))
            clock.advance(seconds=waits[-1])
            assert (await log_in(http, WRONG)).status_code == 401
        assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]  # never a hard lock
        # However many failures a stranger made, the owner waits a minute at most.
        assert (await log_in(http, RIGHT)).status_code == 429
        clock.advance(seconds=settings.login_max_delay_seconds)
        assert (await log_in(http, RIGHT)).status_code == 200


async def test_a_right_password_starts_the_count_again(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        for _ in range(settings.login_max_failures - 1):
            assert (await log_in(http, WRONG)).status_code == 401
        assert (await log_in(http, RIGHT)).status_code == 200
        for _ in range(settings.login_max_failures - 1):
            assert (await log_in(http, WRONG)).status_code == 401


async def test_failures_are_forgotten_after_the_window(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        for _ in range(settings.login_max_failures):
            await log_in(http, WRONG)
        assert (await log_in(http, RIGHT)).status_code == 429
        clock.advance(minutes=settings.login_window_minutes)
        for _ in range(settings.login_max_failures):
            assert (await log_in(http, WRONG)).status_code == 401


async def test_forged_forwarded_for_is_ignored_without_trusted_proxies(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    per_address = settings.login_max_failures * 4
    async with app_client(settings, database, clock) as http:
        # One address spraying e-mails, each attempt claiming to come from somewhere else.
        for n in range(per_address):
            guess = {"email": f"user{n}@example.fr", "password": "x"}
            assert (await log_in(http, guess, f"198.51.100.{n}")).status_code == 401
        last = {"email": "another@example.fr", "password": "x"}
        assert (await log_in(http, last, "203.0.113.99")).status_code == 429


async def test_behind_a_trusted_proxy_each_client_has_its_own_count(
    behind_proxy: Settings, database: Database
) -> None:
    clock = MutableClock()
    per_address = behind_proxy.login_max_failures * 4
    async with app_client(behind_proxy, database, clock) as http:
        for n in range(per_address):
            guess = {"email": f"user{n}@example.fr", "password": "x"}
            assert (await log_in(http, guess, "198.51.100.7")).status_code == 401
        other = {"email": "another@example.fr", "password": "x"}
        assert (await log_in(http, other, "198.51.100.7")).status_code == 429
        # A neighbour behind the same proxy is not held up by that client...
        assert (await log_in(http, other, "198.51.100.8")).status_code == 401
        # ... and the spraying client cannot pass for one by adding a header of its own.
        assert (await log_in(http, other, "198.51.100.8, 198.51.100.7")).status_code == 429


async def test_an_ipv6_client_is_counted_by_its_slash_64(
    behind_proxy: Settings, database: Database
) -> None:
    clock = MutableClock()
    per_address = behind_proxy.login_max_failures * 4
    async with app_client(behind_proxy, database, clock) as http:
        for n in range(per_address):
            guess = {"email": f"user{n}@example.fr", "password": "x"}
            # A new address of the same /64 at each attempt costs nothing to make.
            assert (await log_in(http, guess, f"2001:db8:1:2::{n + 1:x}")).status_code == 401
        other = {"email": "another@example.fr", "password": "x"}
        assert (await log_in(http, other, "2001:db8:1:2:ffff::1")).status_code == 429
        assert (await log_in(http, other, "2001:db8:1:3::1")).status_code == 401


async def test_sign_ups_are_throttled_per_address_before_any_hashing(
    behind_proxy: Settings, database: Database
) -> None:
    clock = MutableClock()
    few = behind_proxy.model_copy(update={"signups_per_address": 3})
    async with app_client(few, database, clock) as http:
        for n in range(3):
            headers = {**await csrf(http), "X-Forwarded-For": "198.51.100.7"}
            body = {"email": f"new{n}@example.fr", "password": STRONG, "display_name": "N"}
            created = await http.post("/api/auth/signup", json=body, headers=headers)
            assert created.status_code == 202
            http.cookies.clear()
        headers = {**await csrf(http), "X-Forwarded-For": "198.51.100.7"}
        body = {"email": "burst@example.fr", "password": STRONG, "display_name": "B"}
        refused = await http.post("/api/auth/signup", json=body, headers=headers)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        async with database.engine.connect() as connection:
            users = await connection.execute(select(func.count()).select_from(User))
            assert users.scalar_one() == 3  # nothing was created for the refused one
        headers["X-Forwarded-For"] = "198.51.100.8"
        assert (await http.post("/api/auth/signup", json=body, headers=headers)).status_code == 202
