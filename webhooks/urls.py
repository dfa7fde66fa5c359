"""Which addresses a subscription may name."""

from __future__ import annotations

from urllib.parse import urlsplit

from kernel.errors import InvalidInputError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_url(url: str, *, allow_loopback_http: bool) -> str:
    """``url`` if deliveries may go there: https, or plain http to this machine when the
    instance allows it (tests, demo); 422 naming ``url`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise InvalidInputError("Not a valid address.", field="url", code="invalid_url") from None
    del port
    if not parts.hostname or parts.username is not None or parts.password is not None:
        # Credentials in the address would be shown to everyone who lists the subscriptions.
        raise InvalidInputError(
            "Give an address with a host and without credentials (sign with the secret).",
            field="url",
            code="invalid_url",
        )
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_loopback_http and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise InvalidInputError(
        "Webhooks are delivered over https:// only.", field="url", code="https_required"
    )
