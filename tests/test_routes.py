"""Route decorators whose guards get the route handler itself (kernel.routes)."""

from __future__ import annotations

from typing import Any

import litestar
from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from kernel.routes import GuardedRoute, delete, get, patch, post, put
from tests.support.apps import route_table_app


async def test_guards_run_in_order_on_the_handler_itself_and_can_refuse() -> None:
    seen: list[tuple[str, BaseRouteHandler]] = []

    async def first(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        seen.append(("first", handler))

    async def refuse_without_header(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        seen.append(("second", handler))
        if "x-allowed" not in connection.headers:
            raise NotAuthorizedException("no")

    @post("/things", guards=[first, refuse_without_header], status_code=201)
    async def make() -> dict[str, bool]:
        return {"made": True}

    app = Litestar([make])
    async with AsyncTestClient(app) as client:
        refused = await client.post("/things")
        allowed = await client.post("/things", headers={"x-allowed": "1"})
    assert refused.status_code == 401
    assert (allowed.status_code, allowed.json()) == (201, {"made": True})
    registered = app.route_handler_method_map["/things"]["POST"]
    assert [name for name, _ in seen] == ["first", "second"] * 2
    assert all(handler is registered for _, handler in seen)  # not a copy made per guard


def test_every_decorator_declares_what_litestars_own_declares() -> None:
    async def answer() -> None:
        return None

    ours = (get, post, put, patch, delete)
    theirs = (litestar.get, litestar.post, litestar.put, litestar.patch, litestar.delete)
    for mine, litestars in zip(ours, theirs, strict=True):
        made, reference = mine("/x")(answer), litestars("/x")(answer)
        assert (made.http_methods, made.status_code, made.paths) == (
            reference.http_methods,
            reference.status_code,
            reference.paths,
        )
    assert [next(iter(d("/x").http_methods)) for d in ours] == [
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
    ]
    assert (post("/x", status_code=200)(answer).status_code, delete("/x")(answer).status_code) == (
        200,
        204,
    )


def test_every_guarded_route_of_the_app_is_declared_with_these_decorators() -> None:
    app = route_table_app()
    copying = [
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        # Litestar answers OPTIONS itself, with a handler of its own (rare: CORS preflights).
        if handler.http_methods != {"OPTIONS"}
        and handler.resolve_guards()
        and not isinstance(handler, GuardedRoute)
    ]
    assert copying == []
