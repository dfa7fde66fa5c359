"""Guards: plain functions Litestar runs before a handler to allow or refuse the call."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from mutualab.auth.tokens import is_valid_admin_token
from mutualab.db import get_database
from mutualab.errors import UnauthenticatedError
from mutualab.settings import Settings


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def require_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """Allow only callers holding an admin token (configured or created by ``create-admin``)."""
    token = bearer_token(connection)
    if token is None:
        raise UnauthenticatedError("This operation needs an admin token (Authorization: Bearer).")
    settings: Settings = connection.app.state.settings
    configured = settings.admin_token.get_secret_value() if settings.admin_token else None
    database = get_database(connection.app.state)
    async with database.reader() as session:
        if not await is_valid_admin_token(session, token, configured):
            raise UnauthenticatedError("The admin token is not valid.")
