"""The authorization rules a handler declares in ``opt`` (read by the authorization matrix test).

``auth`` says who may call at all; ``scope`` says which object the caller must be tied to,
checked by the service with the :class:`~kernel.auth.actor.Actor`:

- ``self``: the caller's own account;
- ``organisation``: an organisation the caller belongs to (its admins for changes);
- ``booking``: the booker, a member of the booking's organisation, or a manager of its place;
- ``membership``: its holder, a member of its organisation, or a manager of its place;
- ``place``: a place the caller manages (trainings and resources follow their place);
- none: any caller that passes ``auth``.
"""

from __future__ import annotations

from typing import Any

# Every rule names both keys: Litestar merges a handler's opt over its controller's.
PUBLIC: dict[str, Any] = {"auth": "public", "scope": None}
USER: dict[str, Any] = {"auth": "user", "scope": None}
SELF: dict[str, Any] = {"auth": "user", "scope": "self"}
ORGANISATION: dict[str, Any] = {"auth": "user", "scope": "organisation"}
BOOKING: dict[str, Any] = {"auth": "user", "scope": "booking"}
MEMBERSHIP: dict[str, Any] = {"auth": "user", "scope": "membership"}
MANAGER: dict[str, Any] = {"auth": "manager", "scope": None}  # any manager (front-desk look-ups)
PLACE_MANAGER: dict[str, Any] = {"auth": "manager", "scope": "place"}
ADMIN: dict[str, Any] = {"auth": "admin", "scope": None}
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
