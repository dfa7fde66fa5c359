"""API tokens: the Authorization header, CSRF, expiry, last use, and erasing an account."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from tests.accounts.test_sessions import STRONG, csrf, sign_up
from tests.accounts.test_throttle import app_client
from tests.support.booking import MutableClock


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


async def make_token(http: httpx.AsyncClient, **extra: object) -> dict[str, str]:
    created = await http.post(
        "/api/me/tokens", json={"name": "script", **extra}, headers=await csrf(http)
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer ", "Bearer \t", "Bearer", "Basic YWxpY2U6cHc=", "Bearer mla_short", "Token abc"],
)
async def test_a_malformed_authorization_header_is_refused_not_ignored(
    client: httpx.AsyncClient, authorization: str
) -> None:
    assert (await sign_up(client)).status_code == 200
    # The browser's session cookie goes along, without a CSRF token.
    changed = await client.patch(
        "/api/me", json={"display_name": "Mallory"}, headers={"Authorization": authorization}
    )
    assert changed.status_code == 401
    assert changed.json()["code"] == "malformed_authorization"
    assert (await client.get("/api/me")).json()["display_name"] == "Alice"


async def test_only_an_accepted_token_skips_the_csrf_check(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 200
    bearer = await make_token(client, scope="read_write")
    unknown = {"Authorization": "Bearer mla_" + "A" * 43}
    refused = await client.patch("/api/me", json={"display_name": "Mallory"}, headers=unknown)
    assert refused.status_code == 401
    client.cookies.clear()  # a program: its token, no cookies, no CSRF token
    renamed = await client.patch("/api/me", json={"display_name": "Bot"}, headers=bearer)
    assert renamed.status_code == 200
    assert renamed.json()["display_name"] == "Bot"


async def test_a_token_can_expire(settings: Settings, database: Database) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        bearer = await make_token(http, expires_in_days=30)
        listed = (await http.get("/api/me/tokens")).json()
        assert at(listed[0]["expires_at"]) == clock.now + timedelta(days=30)
        forever = await make_token(http)
        assert (await http.get("/api/me/tokens")).json()[0]["expires_at"] is None
        never = await http.post(
            "/api/me/tokens", json={"name": "x", "expires_in_days": 0}, headers=await csrf(http)
        )
        assert never.status_code == 422
        assert never.json()["errors"][0]["field"] == "expires_in_days"
        clock.advance(days=30, seconds=-1)
        assert (await http.get("/api/me", headers=bearer)).status_code == 200
        clock.advance(seconds=1)
        expired = await http.get("/api/me", headers=bearer)
        assert expired.status_code == 401
        assert expired.json()["code"] == "invalid_token"
        assert (await http.get("/api/me", headers=forever)).status_code == 200


async def test_a_tokens_last_use_is_recorded_once_a_minute(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    async with app_client(settings, database, clock) as http:
        assert (await sign_up(http)).status_code == 200
        bearer = await make_token(http, scope="read_write")

        async def last_used() -> datetime | None:
            return at((await http.get("/api/me/tokens")).json()[0]["last_used_at"])

        assert await last_used() is None
        first = clock.now
        assert (await http.get("/api/me", headers=bearer)).status_code == 200
        assert await last_used() == first
        clock.advance(seconds=30)
        assert (await http.get("/api/me", headers=bearer)).status_code == 200
        assert await last_used() == first  # not a write for every request
        clock.advance(seconds=30)
        # A refused request (422, rolled back) still counts as a use.
        refused = await http.patch("/api/me", json={"display_name": ""}, headers=bearer)
        assert refused.status_code == 422
        assert await last_used() == clock.now


async def test_erasing_an_account_takes_its_password_even_with_a_token(
    client: httpx.AsyncClient,
) -> None:
    assert (await sign_up(client)).status_code == 200
    bearer = await make_token(client, scope="read_write")
    client.cookies.clear()
    for body in ({}, {"password": "not-the-password"}):
        refused = await client.post("/api/me/erase", json=body, headers=bearer)
        assert refused.status_code == 422
        assert refused.json()["code"] == "wrong_password"
        assert refused.json()["errors"][0]["field"] == "password"
    assert (await client.get("/api/me", headers=bearer)).status_code == 200
    erased = await client.post("/api/me/erase", json={"password": STRONG}, headers=bearer)
    assert erased.status_code == 204
    assert (await client.get("/api/me", headers=bearer)).status_code == 401
