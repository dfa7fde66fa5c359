"""Which addresses a subscription may name."""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit

from kernel.errors import InvalidInputError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_url(url: str, *, allow_loopback_http: bool) -> str:
    """``url`` if deliveries may go there: https to another machine, or this machine (plain
    http too) when the instance allows it (tests, demo); 422 naming ``url`` otherwise."""
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
    loopback = parts.hostname in LOOPBACK_HOSTS
    if parts.scheme in ("http", "https") and allow_loopback_http and loopback:
        return url
    if parts.scheme == "https" and not _this_machine(parts.hostname):
        return url
    if parts.scheme == "https":
        # The workers' own machine and the cloud's metadata address are not subscribers'.
        raise InvalidInputError(
            "Deliveries cannot go to this machine or to a link-local address.",
            field="url",
            code="address_refused",
        )
    raise InvalidInputError(
        "Webhooks are delivered over https:// only.", field="url", code="https_required"
    )


def _this_machine(host: str) -> bool:
    """A loopback, link-local, unspecified or multicast host (a name or an address literal)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
    )
