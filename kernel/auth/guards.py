"""Guards: functions Litestar runs before a handler to allow or refuse the call.

They are coroutines though they never wait: Litestar runs a plain function guard in a worker
thread, a hand-off that cost every guarded request more than the check itself.

Each handler also declares its rule in ``opt["auth"]`` (public, user, manager, admin) so the
authorization test matrix can be generated from the route table. Finer checks (which place,
which organisation, whose booking) happen in services, which get the :class:`Actor`.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from kernel.auth.actor import Actor, actor_of
from kernel.db import SAFE_METHODS
from kernel.errors import ForbiddenError, UnauthenticatedError

Connection = ASGIConnection[Any, Any, Any, Any]


def _authenticated(connection: Connection) -> Actor:
    actor = actor_of(connection)
    if not actor.is_authenticated:
        raise UnauthenticatedError("Log in or send an API token (Authorization: Bearer).")
    if connection.scope.get("method", "GET") not in SAFE_METHODS and not actor.can_write:
        raise ForbiddenError("This API token is read-only.", code="insufficient_scope")
    return actor


async def require_user(connection: Connection, _handler: BaseRouteHandler) -> None:
    """Any logged-in user (or a program with one of their tokens)."""
    _authenticated(connection)


async def require_manager(connection: Connection, _handler: BaseRouteHandler) -> None:
    """A manager of at least one place; which place is checked by the service."""
    if not _authenticated(connection).is_manager:
        raise ForbiddenError("Only the managers of a place may do this.", code="not_a_manager")


async def require_admin(connection: Connection, _handler: BaseRouteHandler) -> None:
    """A platform administrator."""
    if not _authenticated(connection).is_admin:
        raise ForbiddenError("Only platform administrators may do this.", code="not_an_admin")
