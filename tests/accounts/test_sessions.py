"""Sign-up, log-in, sessions, CSRF, throttling and passwords, through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from tests.support.apps import leased_app
from tests.support.mailbox import TEST_SECRET_KEY, database_of, mailed_token

STRONG = "violet-harbour-compass-42"


async def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    """Fetch a CSRF token (and its cookie) the way a browser page would."""
    response = await client.get("/api/auth/csrf")
    assert response.status_code == 200
    return {"X-CSRF-Token": response.json()["csrf_token"]}


async def ask_sign_up(
    client: httpx.AsyncClient, email: str = "alice@example.fr", **extra: Any
) -> httpx.Response:
    """Ask for an account through the API with a CSRF token (202: check your inbox)."""
    body = {"email": email, "password": STRONG, "display_name": "Alice", **extra}
    return await client.post("/api/auth/signup", json=body, headers=await csrf(client))


async def sign_up(
    client: httpx.AsyncClient, email: str = "alice@example.fr", **extra: Any
) -> httpx.Response:
    """Sign up through the API, then confirm the address with the mailed link and the password,
    as a person does: the answer of the confirmation (200, logged in)."""
    asked = await ask_sign_up(client, email, **extra)
    assert asked.status_code == 202, asked.text
    address = email.strip().lower()
    token = await mailed_token(database_of(client), address, "account_verify", "/verify-email")
    return await client.post(
        "/api/auth/verify-email",
        json={"token": token, "password": STRONG},
        headers=await csrf(client),
    )


async def test_sign_up_then_the_mailed_link_logs_in_at_citizen_rate(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_up(client, "  Alice.Dupont@Example.FR ", requested_user_type="student")
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["email_verified"] is True
    assert me["email"] == "alice.dupont@example.fr"
    assert me["user_type"] == "citizen"  # a reduced rate waits for a manager
    assert me["requested_user_type"] == "student"
    assert "mutualab_session" in client.cookies
    assert (await client.get("/api/me")).json()["id"] == me["id"]


async def test_session_cookie_flags(database: Database) -> None:
    settings = Settings(
        database_url=str(database.engine.url.render_as_string(hide_password=False)),
        public_base_url="https://reserver.example.fr",
        secret_key=TEST_SECRET_KEY,  # the key the mailed links are read back with
    )
    async with (
        leased_app(settings, database) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://127.0.0.1"
        ) as http,
    ):
        response = await sign_up(http)
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("mutualab_session=")
    )
    flags = cookie.lower()
    assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags


async def test_weak_password_and_malformed_address(client: httpx.AsyncClient) -> None:
    weak = await client.post(
        "/api/auth/signup",
        json={"email": "bob@example.fr", "password": "password123", "display_name": "Bob"},
        headers=await csrf(client),
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert weak.json()["errors"][0]["field"] == "password"
    assert "guess" in weak.json()["detail"]
    bad_email = await client.post(
        "/api/auth/signup",
        json={"email": "not-an-email", "password": STRONG, "display_name": "Bob"},
        headers=await csrf(client),
    )
    assert bad_email.status_code == 422
    assert bad_email.json()["errors"][0]["field"] == "email"


async def test_forms_without_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    body = {"email": "eve@example.fr", "password": STRONG, "display_name": "Eve"}
    response = await client.post("/api/auth/signup", json=body)
    assert response.status_code == 403
    await csrf(client)
    forged = await client.post(
        "/api/auth/signup", json=body, headers={"X-CSRF-Token": "forged-token"}
    )
    assert forged.status_code == 403
    # A logged-in browser cannot change its data without the token either.
    assert (await sign_up(client)).status_code == 200
    patch = await client.patch("/api/me", json={"display_name": "Mallory"})
    assert patch.status_code == 403
    assert (await client.get("/api/me")).json()["display_name"] == "Alice"


async def test_wrong_password_gives_no_hint(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 200
    await client.post("/api/auth/logout", headers=await csrf(client))
    headers = await csrf(client)
    wrong = await client.post(
        "/api/auth/login", json={"email": "alice@example.fr", "password": "nope"}, headers=headers
    )
    unknown = await client.post(
        "/api/auth/login",
        json={"email": "nobody@example.fr", "password": "nope"},
        headers=headers,
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    right = await client.post(
        "/api/auth/login", json={"email": "Alice@Example.fr", "password": STRONG}, headers=headers
    )
    assert right.status_code == 200
    assert right.json()["email"] == "alice@example.fr"


async def test_repeated_failures_are_rate_limited(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 200
    headers = await csrf(client)
    body = {"email": "alice@example.fr", "password": "wrong"}
    statuses = [
        (await client.post("/api/auth/login", json=body, headers=headers)).status_code
        for _ in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 401, 429]
    locked = await client.post(
        "/api/auth/login", json={**body, "password": STRONG}, headers=headers
    )
    assert locked.status_code == 429  # even the right password waits
    assert int(locked.headers["retry-after"]) > 0
    assert locked.json()["code"] == "too_many_attempts"


async def test_lockout_ends_after_the_window(database: Database, settings: Settings) -> None:
    now = [datetime(2027, 1, 4, 9, 0, tzinfo=UTC)]
    async with (
        leased_app(settings, database, lambda: now[0]) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://127.0.0.1"
        ) as http,
    ):
        assert (await sign_up(http)).status_code == 200
        headers = await csrf(http)
        for _ in range(5):
            await http.post(
                "/api/auth/login",
                json={"email": "alice@example.fr", "password": "x"},
                headers=headers,
            )
        good = {"email": "alice@example.fr", "password": STRONG}
        assert (await http.post("/api/auth/login", json=good, headers=headers)).status_code == 429
        now[0] += timedelta(minutes=16)
        assert (await http.post("/api/auth/login", json=good, headers=headers)).status_code == 200


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    assert (await sign_up(client)).status_code == 200
    assert (await client.post("/api/auth/logout", headers=await csrf(client))).status_code == 204
    assert (await client.get("/api/me")).status_code == 401


async def test_password_change_logs_out_other_sessions(
    client: httpx.AsyncClient, settings: Settings, database: Database
) -> None:
    assert (await sign_up(client)).status_code == 200
    async with (
        leased_app(settings, database) as other_app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other_app), base_url="https://127.0.0.1"
        ) as other,
    ):
        login = await other.post(
            "/api/auth/login",
            json={"email": "alice@example.fr", "password": STRONG},
            headers=await csrf(other),
        )
        assert login.status_code == 200
        headers = await csrf(client)
        wrong = await client.post(
            "/api/me/password",
            json={"current_password": "nope", "new_password": "another-long-phrase-77"},
            headers=headers,
        )
        assert wrong.status_code == 422
        assert wrong.json()["code"] == "wrong_password"
        changed = await client.post(
            "/api/me/password",
            json={"current_password": STRONG, "new_password": "another-long-phrase-77"},
            headers=headers,
        )
        assert changed.status_code == 204
        assert (await client.get("/api/me")).status_code == 200  # this browser stays in
        assert (await other.get("/api/me")).status_code == 401  # the other one is out


@pytest.mark.parametrize("path", ["/api/me", "/api/me/tokens", "/api/me/export"])
async def test_own_data_needs_credentials(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
