"""Browser sessions (encrypted cookie) and CSRF protection, from Litestar's own middleware."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.types import Receive, Scope, Send
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
    return config.middleware


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
