"""Who is at the other end: the client's address behind trusted proxies, and its throttling key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from typing import Any

from kernel.settings import Network

IPv6_SITE_PREFIX = 64  # one subscriber's share of IPv6: throttled as one address
UNKNOWN = "unknown"

Address = IPv4Address | IPv6Address


def _parse(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:443
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]
) -> str:
    """The client's address: the peer's, or the nearest one a trusted proxy vouches for.

    ``X-Forwarded-For`` lists the hops, each proxy appending the address it saw. Read from the
    right, every entry after a trusted hop was written by that proxy; the first hop that is not
    a trusted proxy is the client. Anything further left came from the client itself and is
    ignored, so a forged header changes nothing. Without trusted proxies the header is never read.
    """
    hop = _parse(peer) if peer else None
    if hop is None:
        return peer or UNKNOWN
    if not proxies:
        return str(hop)
    entries = [entry for header in forwarded_for for entry in header.split(",")]
    while _trusted(hop, proxies) and entries:
        previous = _parse(entries.pop())
        if previous is None:  # a trusted proxy wrote nonsense: keep the last hop we believe
            break
        hop = previous
    return str(hop)


def throttling_key(address: str) -> str:
    """The key an address is throttled under: an IPv6 address by its /64, which one subscriber
    gets whole (a new address in it costs them nothing); IPv4 and anything else as it is."""
    parsed = _parse(address)
    if isinstance(parsed, IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(IPv6Network((parsed, IPv6_SITE_PREFIX), strict=False))
    return str(parsed) if parsed is not None else address


def client_of(scope: Mapping[str, Any], proxies: Sequence[Network]) -> str:
    """The client's address of an ASGI request (see :func:`client_address`)."""
    client = scope.get("client")
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
    ]
    return client_address(client[0] if client else None, forwarded, proxies)
