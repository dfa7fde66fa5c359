"""The browser session middleware: nothing done for cookie-less requests, sessions kept intact.

`kernel.auth.browser.CookieSessionMiddleware` skips Litestar's cookie parsing and answer
wrapping for a request that sends no cookie at all; these tests hold it to Litestar's
behaviour everywhere a session is at stake (opened, read back, cleared) through a real
Litestar app with the application's own session settings.
"""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar, Request, get, post

from kernel.auth.browser import SESSION_COOKIE, session_middleware
from kernel.settings import Settings
from tests.support.mailbox import TEST_SECRET_KEY

Caller = Request[Any, Any, Any]


@post("/open", status_code=200)
async def open_session(request: Caller) -> dict[str, Any]:
    """Open a session, as a sign-in does."""
    request.set_session({"user_id": 42})
    return {}


@get("/read")
async def read_session(request: Caller) -> dict[str, Any]:
    """What the request's session holds."""
    return {"session": dict(request.session)}


@post("/close", status_code=200)
async def close_session(request: Caller) -> dict[str, Any]:
    """End the session, as a sign-out does."""
    request.clear_session()
    return {}


def _app() -> Litestar:
    settings = Settings(
        database_url="postgresql+asyncpg://unused/unused", secret_key=TEST_SECRET_KEY
    )
    return Litestar(
        route_handlers=[open_session, read_session, close_session],
        middleware=[session_middleware(settings)],
    )


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test")


def _set_cookies(response: httpx.Response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie"]


async def test_a_request_without_cookies_gets_no_session_cookie() -> None:
    async with _client() as http:
        response = await http.get("/read")
    assert response.json() == {"session": {}}
    assert _set_cookies(response) == []


async def test_a_session_opened_without_cookies_is_set_and_read_back() -> None:
    async with _client() as http:
        opened = await http.post("/open")
        assert opened.status_code == 200
        [cookie] = _set_cookies(opened)
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        # The client sends the cookie back: the session is read from it.
        assert (await http.get("/read")).json() == {"session": {"user_id": 42}}


async def test_other_cookies_alone_leave_the_session_empty() -> None:
    async with _client() as http:
        response = await http.get("/read", headers={"Cookie": "theme=dark"})
    assert response.json() == {"session": {}}
    assert _set_cookies(response) == []


async def test_a_cleared_session_clears_its_cookie() -> None:
    async with _client() as http:
        await http.post("/open")
        closed = await http.post("/close")
        [cleared] = _set_cookies(closed)
        assert cleared.startswith(f"{SESSION_COOKIE}=null")
        assert (await http.get("/read")).json() == {"session": {}}


async def test_a_forged_session_cookie_is_ignored() -> None:
    async with _client() as http:
        response = await http.get(
            "/read", headers={"Cookie": f"{SESSION_COOKIE}=bm90IGEgc2Vzc2lvbg=="}
        )
    assert response.json() == {"session": {}}
