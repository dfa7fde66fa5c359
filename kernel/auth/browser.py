"""Browser sessions (encrypted cookie) and CSRF protection, from Litestar's own middleware."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from kernel.auth.actor import Actor
from kernel.settings import Settings

SESSION_COOKIE = "mutualab_session"
CSRF_COOKIE = "mutualab_csrf"
CSRF_HEADER = "x-csrf-token"


class CSRFUnlessBearerMiddleware(CSRFMiddleware):
    """Litestar's CSRF check wherever a browser's cookies could be abused.

    CSRF abuses the cookies a browser adds by itself. So the check is skipped for requests
    whose bearer token the authentication middleware (which runs first) accepted: they act
    with that token and their cookies are never read. It is skipped too for API calls that
    carry no session cookie at all (they act anonymously and get a clear 401). Pages, forms
    and the endpoints that open a session (``/api/auth/``) are always checked; so is anything
    else, such as a request with a session cookie and a header that merely says "Bearer".
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Skip the check where no ambient credential is at stake."""
        if scope["type"] == ScopeType.HTTP and _needs_no_csrf(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _needs_no_csrf(scope: Scope) -> bool:
    user = scope.get("user")
    if isinstance(user, Actor) and user.via == "api_token":
        return True
    headers = dict(scope.get("headers", []))
    path = scope.get("path", "")
    has_session = SESSION_COOKIE.encode() + b"=" in headers.get(b"cookie", b"")
    return path.startswith("/api/") and not path.startswith("/api/auth/") and not has_session


def _key(settings: Settings, purpose: bytes) -> bytes:
    # One configured secret, a distinct derived key per use.
    return hashlib.sha256(purpose + settings.resolved_secret_key()).digest()


class CookieSessionMiddleware(SessionMiddleware[ClientSideSessionBackend]):
    """Litestar's session middleware, which does nothing for a request that sends no cookie.

    Such a request (an API call with a bearer token, an anonymous read) has no session to load,
    and its answer has no session cookie to set or clear unless the request opened a session
    (a sign-in). Litestar's middleware still parsed the cookies and wrapped the answer to look
    for them: about 12 µs of every API call, timed alone (issue 18, session 30).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Load and store the session only where a cookie was sent or a session was opened."""
        if any(name == b"cookie" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return
        scope["session"] = {}
        ScopeState.from_scope(scope).session_id = None  # what the cookie backend sets

        async def send_opened_session(message: Message) -> None:
            opened = scope.get("session")
            if message["type"] == "http.response.start" and opened:
                connection = ASGIConnection[Any, Any, Any, Any](scope, receive=receive, send=send)
                await self.backend.store_in_message(opened, message, connection)
            await send(message)

        await self.app(scope, receive, send_opened_session)


def session_middleware(settings: Settings) -> DefineMiddleware:
    """Encrypted (AES-GCM) client-side sessions: stateless, so any worker can serve anyone."""
    config = CookieBackendConfig(
        secret=_key(settings, b"session"),
        key=SESSION_COOKIE,
        max_age=settings.session_max_age_days * 86400,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
        exclude=["^/static/", "^/schema"],
    )
    return DefineMiddleware(
        CookieSessionMiddleware, backend=ClientSideSessionBackend(config=config)
    )


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    """Double-submit CSRF tokens on every unsafe request that relies on cookies."""
    config = CSRFConfig(
        secret=_key(settings, b"csrf").hex(),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="lax",
        exclude=["^/static/", "^/schema"],
    )
    return DefineMiddleware(CSRFUnlessBearerMiddleware, config=config)


def csrf_token_of(request: Any) -> str:
    """The CSRF token to echo back in the header or a form's hidden field."""
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""
