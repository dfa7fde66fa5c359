"""Which addresses a subscription may name, and where a delivery may connect.

An address is checked twice: when a subscription names it (its host as written, in any numeric
spelling) and before each attempt (every address its host resolves to then), since a name can
point anywhere, and change.
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

import httpx

from kernel.errors import InvalidInputError

Address = IPv4Address | IPv6Address
# A host name once encoded in ASCII (IDNA): dot-separated labels.
HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


@dataclass(frozen=True)
class Reach:
    """Where this instance lets deliveries go beside public addresses."""

    loopback: bool = False  # this machine (tests, the demo), plain http too
    private: bool = False  # private networks (a door controller on the local network)

    def allows(self, address: Address) -> bool:
        """Whether a delivery may connect to ``address``."""
        address = _unwrapped(address)
        if address.is_loopback:
            return self.loopback
        if address.is_link_local or address.is_unspecified or address.is_multicast:
            return False  # the cloud's metadata service lives at 169.254.169.254
        if address.is_global:
            return True
        return self.private and address.is_private


def check_url(url: str, *, allow_loopback_http: bool, allow_private_networks: bool = False) -> str:
    """``url`` if deliveries may go there: https to a public address, to a private network when
    the instance allows it, or to this machine (plain http too) when it allows that (tests,
    demo); 422 naming ``url`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number
        # What the deliveries are sent with; reading the host decodes its IDNA labels.
        _ = httpx.URL(url).host
    except Exception:  # httpx and idna raise several kinds: all mean the same
        raise InvalidInputError("Not a valid address.", field="url", code="invalid_url") from None
    del port
    if not parts.hostname or parts.username is not None or parts.password is not None:
        # Credentials in the address would be shown to everyone who lists the subscriptions.
        raise InvalidInputError(
            "Give an address with a host and without credentials (sign with the secret).",
            field="url",
            code="invalid_url",
        )
    if parts.scheme not in ("http", "https"):
        raise _https_required()
    host = _host(parts.hostname)
    address = literal_address(host)
    if address is None and not _valid_name(host):
        raise InvalidInputError("Not a valid host name.", field="url", code="invalid_url")
    loopback = host == "localhost" or host.endswith(".localhost")
    if address is not None:
        loopback = _unwrapped(address).is_loopback
    reach = Reach(loopback=allow_loopback_http, private=allow_private_networks)
    if loopback and allow_loopback_http:
        return url
    if loopback or (address is not None and not reach.allows(address)):
        # The workers' own machine, its network and the cloud's metadata address are not
        # subscribers'.
        raise InvalidInputError(
            "Deliveries cannot go to this machine, a private network or a link-local address.",
            field="url",
            code="address_refused",
        )
    if parts.scheme != "https":
        raise _https_required()
    return url


async def resolve(host: str, port: int, reach: Reach) -> tuple[Address | None, str | None]:
    """The address a delivery to ``host`` connects to (the first it resolves to), or why it
    may not connect (one of its addresses is not allowed, or it does not resolve).

    The delivery connects to that very address rather than letting the HTTP client look the
    name up again: a name may answer an allowed address to this lookup and this machine or a
    private network to the next (DNS rebinding)."""
    host = _host(host)
    literal = literal_address(host)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            return None, f"cannot resolve {host}: {exc}"
        addresses = [ip_address(str(info[4][0]).split("%")[0]) for info in found]
    refused = sorted({str(a) for a in addresses if not reach.allows(a)})
    if refused or not addresses:
        return None, f"address refused: {host} is {', '.join(refused)} (not a public address)"
    return addresses[0], None


async def refusal(host: str, port: int, reach: Reach) -> str | None:
    """Why a delivery may not connect to ``host`` now, or None (see :func:`resolve`)."""
    return (await resolve(host, port, reach))[1]


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells, however (``127.1``, ``2130706433``, ``0x7f000001``, the
    forms the system's resolver reads as numbers), or None for a name."""
    try:
        return ip_address(host.split("%")[0])  # an IPv6 zone does not change where it goes
    except ValueError:
        pass
    if not re.fullmatch(r"[0-9a-fA-FxX.]+", host):
        return None
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _host(host: str) -> str:
    # "localhost." is localhost: the trailing dot only makes the name absolute.
    return host.lower().removesuffix(".")


def _valid_name(host: str) -> bool:
    try:
        encoded = host.encode("idna").decode("ascii")  # label lengths checked too
    except UnicodeError:
        return False
    return HOST_NAME.fullmatch(encoded) is not None


def _unwrapped(address: Address) -> Address:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _https_required() -> InvalidInputError:
    return InvalidInputError(
        "Webhooks are delivered over https:// only.", field="url", code="https_required"
    )
