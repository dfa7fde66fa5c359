"""Pages that run a script: their Content-Security-Policy opens exactly what they need.

Pages carry no script by default (``script-src 'none'``); the few progressive enhancements
(the week grid's previous/next without a reload, the booking form's quote following the time,
the feed address's copy button, Stripe's card form) open their page only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from litestar import Response

AnyResponse = TypeVar("AnyResponse", bound=Response)  # type: ignore[type-arg]
OWN_SCRIPTS = {"script-src": "'self'"}


def with_policy(response: AnyResponse, directives: Mapping[str, str]) -> AnyResponse:
    """``response`` with these directives of its Content-Security-Policy replaced or added."""
    current = response.headers.get("Content-Security-Policy", "")
    policy: dict[str, str] = {}
    for item in current.split(";"):
        name, _, value = item.strip().partition(" ")
        if name:
            policy[name] = value
    policy.update(directives)
    response.headers["Content-Security-Policy"] = "; ".join(
        f"{name} {value}" for name, value in policy.items()
    )
    return response
