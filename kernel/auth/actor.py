"""Who is calling: the principal every guard and service reasons about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from kernel.auth.rates import Rates


@dataclass(frozen=True)
class Actor:
    """The caller of a request: anonymous, a user (citizen, member, manager) or an admin."""

    user_id: int | None = None
    # The platform-wide rate (admins grant it); place_rates override it at their place.
    user_type_code: str = "citizen"
    place_rates: Mapping[int, str] = field(default_factory=dict)
    is_admin: bool = False
    managed_place_ids: frozenset[int] = frozenset()
    # organisation id -> role ("admin" or "booker")
    organisation_roles: Mapping[int, str] = field(default_factory=dict)
    # False for read-only API tokens.
    can_write: bool = True
    via: str = "anonymous"  # or "session", "api_token"
    # Whether the user proved their e-mail address (paying on invoice waits for it).
    email_verified: bool = False

    @property
    def is_authenticated(self) -> bool:
        """Whether credentials were presented and accepted."""
        return self.user_id is not None or self.is_admin

    @property
    def is_manager(self) -> bool:
        """Whether the actor manages at least one place (or administers the platform)."""
        return self.is_admin or bool(self.managed_place_ids)

    @property
    def rates(self) -> Rates:
        """The actor's own rate at each place."""
        return Rates(self.user_type_code, self.place_rates, email_verified=self.email_verified)

    def user_type_at(self, place_id: int) -> str:
        """The actor's own rate at ``place_id``."""
        return self.place_rates.get(place_id, self.user_type_code)

    def manages(self, place_id: int) -> bool:
        """Whether the actor may manage ``place_id``."""
        return self.is_admin or place_id in self.managed_place_ids

    def member_of(self, organisation_id: int) -> bool:
        """Whether the actor may book on behalf of ``organisation_id``."""
        return self.is_admin or organisation_id in self.organisation_roles

    def administers(self, organisation_id: int) -> bool:
        """Whether the actor may manage the members and details of ``organisation_id``."""
        return self.is_admin or self.organisation_roles.get(organisation_id) == "admin"


ANONYMOUS = Actor()


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The actor the authentication middleware attached to the connection."""
    user = connection.scope.get("user")
    return user if isinstance(user, Actor) else ANONYMOUS


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """Dependency: the current actor (anonymous when no credentials were given)."""
    return actor_of(request)
