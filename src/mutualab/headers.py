"""Security headers on every answer: API, pages, files, the OpenAPI page, errors and redirects.

A ``before_send`` hook of the app, so that nothing escapes it, not even the answers Litestar
makes outside any route (an unknown address, a wrong method). A header the answer already
carries wins: pages and the OpenAPI page set the Content-Security-Policy they need, calendar
feeds their own caching.
"""

from __future__ import annotations

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
# As ASGI carries them (lower-case bytes), made once: the hook runs on every answer.
_RAW_DEFAULTS = tuple((name.lower().encode(), value.encode()) for name, value in DEFAULTS)
_RAW_HSTS = (b"strict-transport-security", HSTS.encode())
_RAW_NO_STORE = (b"cache-control", b"no-store")


def _personal(scope: Scope, present: set[bytes]) -> bool:
    """Whether the answer was made for one person: their credentials, or a cookie set."""
    actor = scope.get("user")
    return (isinstance(actor, Actor) and actor.is_authenticated) or b"set-cookie" in present


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """The hook adding the security headers an answer does not set itself."""
    published_over_https = settings.public_base_url.startswith("https://")

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        # One pass over the raw headers (a header-by-header lookup cost more than the rest of
        # the hook on a small answer).
        headers = list(message.get("headers", ()))
        present = {name.lower() for name, _ in headers}
        headers.extend(header for header in _RAW_DEFAULTS if header[0] not in present)
        # Browsers ignore the header on plain HTTP; a proxy in front may terminate TLS.
        if published_over_https or scope.get("scheme") == "https":
            if _RAW_HSTS[0] in present:  # ours is the one that holds
                headers = [header for header in headers if header[0].lower() != _RAW_HSTS[0]]
            headers.append(_RAW_HSTS)
        # Personal answers stay out of every cache, the browser's included (a shared computer).
        if b"cache-control" not in present and _personal(scope, present):
            headers.append(_RAW_NO_STORE)
        message["headers"] = headers

    return add_headers
