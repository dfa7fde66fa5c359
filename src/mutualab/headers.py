"""Security headers on every answer: API, pages, files, the OpenAPI page, errors and redirects.

A ``before_send`` hook of the app, so that nothing escapes it, not even the answers Litestar
makes outside any route (an unknown address, a wrong method). A header the answer already
carries wins: pages and the OpenAPI page set the Content-Security-Policy they need, calendar
feeds their own caching.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from kernel.auth.actor import Actor
from kernel.settings import Settings

# Nothing of ours is meant to be framed, nor to load anything when it is not a page: a JSON or
# CSV answer opened in a browser runs nothing.
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DEFAULTS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", DEFAULT_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),  # frame-ancestors, for browsers that predate it
    ("Referrer-Policy", "same-origin"),
)
# One year; without includeSubDomains: a town's other sites are not ours to pin to HTTPS.
HSTS = "max-age=31536000"


def _personal(scope: Scope, headers: MutableScopeHeaders) -> bool:
    """Whether the answer was made for one person: their credentials, or a cookie set."""
    actor = scope.get("user")
    return (isinstance(actor, Actor) and actor.is_authenticated) or "set-cookie" in headers


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """The hook adding the security headers an answer does not set itself."""
    published_over_https = settings.public_base_url.startswith("https://")

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in DEFAULTS:
            if name not in headers:
                headers[name] = value
        # Browsers ignore the header on plain HTTP; a proxy in front may terminate TLS.
        if published_over_https or scope.get("scheme") == "https":
            headers["Strict-Transport-Security"] = HSTS
        # Personal answers stay out of every cache, the browser's included (a shared computer).
        if "cache-control" not in headers and _personal(scope, headers):
            headers["Cache-Control"] = "no-store"

    return add_headers
