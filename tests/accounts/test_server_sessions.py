"""Browser sessions kept on the server: log-out, log-out everywhere, idle and age limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import func, select

from accounts.models import BrowserSession
from kernel.db import Database
from kernel.settings import Settings
from tests.accounts.test_sessions import STRONG, csrf, sign_up
from tests.support.apps import leased_app
from tests.support.booking import MutableClock
from tests.web.helpers import submit


@asynccontextmanager
async def browser(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on ``clock`` (one browser: its own cookie jar)."""
    async with (
        leased_app(settings, database, clock) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://127.0.0.1"
        ) as http,
    ):
        yield http


async def log_in(client: httpx.AsyncClient, email: str = "alice@example.fr") -> None:
    """Log in through the API."""
    response = await client.post(
        "/api/auth/login", json={"email": email, "password": STRONG}, headers=await csrf(client)
    )
    assert response.status_code == 200, response.text


def stolen(client: httpx.AsyncClient) -> dict[str, str]:
    """A copy of a browser's session cookie, as someone at the same computer could take it."""
    return {"Cookie": f"mutualab_session={client.cookies['mutualab_session']}"}


async def sessions_of(database: Database) -> int:
    async with database.engine.connect() as connection:
        count = select(func.count()).select_from(BrowserSession)
        return (await connection.execute(count)).scalar_one()


async def test_logging_out_ends_the_session_on_the_server(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 200
    copy = stolen(client)
    assert (await client.post("/api/auth/logout", headers=await csrf(client))).status_code == 204
    client.cookies.clear()
    replayed = await client.get("/api/me", headers=copy)
    assert replayed.status_code == 401  # the cookie kept from before the log-out is worthless


async def test_the_log_out_button_ends_the_session_on_the_server(
    client: httpx.AsyncClient, database: Database
) -> None:
    assert (await sign_up(client)).status_code == 200
    copy = stolen(client)
    assert (await submit(client, "/account", "/logout", {})).status_code == 303
    client.cookies.clear()
    assert (await client.get("/api/me", headers=copy)).status_code == 401
    assert await sessions_of(database) == 0


async def test_log_out_everywhere_ends_every_browser(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with (
        browser(settings, database, clock) as home,
        browser(settings, database, clock) as library,
    ):
        assert (await sign_up(home)).status_code == 200
        await log_in(library)
        token = await home.post("/api/me/tokens", json={"name": "script"}, headers=await csrf(home))
        assert token.status_code == 201
        bearer = {"Authorization": f"Bearer {token.json()['token']}"}
        everywhere = await home.post("/api/auth/logout-everywhere", headers=await csrf(home))
        assert everywhere.status_code == 204
        assert (await library.get("/api/me")).status_code == 401
        assert (await home.get("/api/me")).status_code == 401
        # A program's token is not a browser: it keeps working.
        assert (await home.get("/api/me", headers=bearer)).status_code == 200
        await log_in(library)  # logging in again opens a new session
        assert (await library.get("/api/me")).status_code == 200


async def test_the_account_page_logs_out_everywhere(settings: Settings, database: Database) -> None:
    clock = MutableClock()
    async with (
        browser(settings, database, clock) as home,
        browser(settings, database, clock) as library,
    ):
        assert (await sign_up(home)).status_code == 200
        await log_in(library)
        done = await submit(home, "/account", "/logout-everywhere", {})
        assert done.status_code == 303
        assert done.headers["location"].startswith("/?notice=logged_out_everywhere")
        assert (await library.get("/api/me")).status_code == 401
        assert (await home.get("/account")).status_code == 303  # to the log-in page


async def test_an_idle_session_ends(settings: Settings, database: Database) -> None:
    clock = MutableClock()
    idle = settings.session_idle_minutes
    async with browser(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        # Each request keeps the session alive (its use is written down once a minute)...
        for _ in range(4):
            clock.advance(minutes=idle - 2)
            assert (await http.get("/api/me")).status_code == 200
        # ... and a computer left alone longer is logged out.
        clock.advance(minutes=idle + 1)
        assert (await http.get("/api/me")).status_code == 401


async def test_a_session_ends_at_its_maximum_age_however_active(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    daily = settings.model_copy(update={"session_max_age_days": 1, "session_idle_minutes": 120})
    async with browser(daily, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        for _ in range(12):  # nearly 24 hours of steady use
            clock.advance(hours=2, minutes=-1)
            assert (await http.get("/api/me")).status_code == 200
        clock.advance(hours=2, minutes=-1)
        assert (await http.get("/api/me")).status_code == 401


async def test_logging_in_gives_a_new_session_and_ends_the_one_brought_along(
    client: httpx.AsyncClient, database: Database
) -> None:
    assert (await sign_up(client)).status_code == 200
    before = stolen(client)
    await log_in(client)
    after = stolen(client)
    assert after != before
    client.cookies.clear()
    assert (await client.get("/api/me", headers=before)).status_code == 401
    assert (await client.get("/api/me", headers=after)).status_code == 200
    assert await sessions_of(database) == 1


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with (
        browser(settings, database, clock) as here,
        browser(settings, database, clock) as there,
    ):
        assert (await sign_up(here)).status_code == 200
        await log_in(there)
        old = stolen(here)
        changed = await here.post(
            "/api/me/password",
            json={"current_password": STRONG, "new_password": "another-long-phrase-77"},
            headers=await csrf(here),
        )
        assert changed.status_code == 204
        assert (await here.get("/api/me")).status_code == 200
        assert (await there.get("/api/me")).status_code == 401
        assert (await there.get("/api/me", headers=old)).status_code == 401


async def test_an_open_session_is_no_way_to_guess_the_password(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with browser(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        headers = await csrf(http)
        guess = {"current_password": "a-guess-at-it", "new_password": "another-long-phrase-77"}
        answers = [
            (await http.post("/api/me/password", json=guess, headers=headers)).status_code
            for _ in range(settings.login_max_failures + 1)
        ]
        assert answers == [422] * settings.login_max_failures + [429]
        erase = await http.post("/api/me/erase", json={"password": "guess"}, headers=headers)
        assert erase.status_code == 429
        clock.advance(seconds=1)
        right = {**guess, "current_password": STRONG}
        assert (await http.post("/api/me/password", json=right, headers=headers)).status_code == 204
