"""HTTP route decorators like Litestar's, whose guards get the route handler itself.

Litestar calls each guard with a copy of the route handler, so that a guard cannot change the
handler it was given. Copying a handler (about forty attributes, through ``copy.copy``) took
10 µs of every guarded request, and py-spy put it at up to 3 % of a worker's CPU per booking
(7 December, session 29). Our guards (:mod:`kernel.auth.guards`) read the connection and never
touch the handler, so every route of the application is declared with these decorators, and
each guard gets the handler as it is. They are functions, as Litestar 3 makes its own (it
deprecates subclassing its ``get``, ``post``... classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler

RoutePath = str | Sequence[str] | None


class GuardedRoute(HTTPRouteHandler):
    """A route handler that runs its guards without copying itself for each of them."""

    __slots__ = ()

    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Ensure the connection is authorized by every guard in scope, in order."""
        for guard in self.resolve_guards():  # each made awaitable by resolve_guards
            await guard(connection, self)  # type: ignore[misc]


def get(path: RoutePath = None, **options: Any) -> GuardedRoute:
    """A GET route; ``options`` are those of Litestar's ``get``."""
    return GuardedRoute(path, http_method=HttpMethod.GET, **options)


def post(path: RoutePath = None, **options: Any) -> GuardedRoute:
    """A POST route (201 unless ``status_code`` says otherwise)."""
    return GuardedRoute(path, http_method=HttpMethod.POST, **options)


def put(path: RoutePath = None, **options: Any) -> GuardedRoute:
    """A PUT route."""
    return GuardedRoute(path, http_method=HttpMethod.PUT, **options)


def patch(path: RoutePath = None, **options: Any) -> GuardedRoute:
    """A PATCH route."""
    return GuardedRoute(path, http_method=HttpMethod.PATCH, **options)


def delete(path: RoutePath = None, **options: Any) -> GuardedRoute:
    """A DELETE route (204 unless ``status_code`` says otherwise)."""
    return GuardedRoute(path, http_method=HttpMethod.DELETE, **options)
