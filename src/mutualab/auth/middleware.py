"""Authentication middleware: resolves the :class:`Actor` from a bearer token or a session."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlmodel.ext.asyncio.session import AsyncSession

from mutualab.auth.actor import ANONYMOUS, Actor
from mutualab.auth.identity import actor_for_api_token, actor_for_session
from mutualab.db import get_database
from mutualab.errors import UnauthenticatedError


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class ActorMiddleware(AbstractAuthenticationMiddleware):
    """Attach an actor to every request; anonymous when no credentials are sent.

    A bearer token that is sent but not valid is refused (401) rather than treated as
    anonymous, so a program with a revoked token learns it at once.
    """

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Resolve credentials into an actor."""
        token = bearer_token(connection)
        session_data = connection.scope.get("session")
        if token is None and not session_data:
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        database = get_database(connection.app.state)
        async with database.reader() as session:
            actor = await self._resolve(connection, session, token, session_data)
        return AuthenticationResult(user=actor, auth=token)

    async def _resolve(
        self,
        connection: ASGIConnection[Any, Any, Any, Any],
        session: AsyncSession,
        token: str | None,
        session_data: Any,
    ) -> Actor:
        if token is not None:
            actor = await actor_for_api_token(session, token)
            if actor is None:
                raise UnauthenticatedError("The token is not valid (unknown or revoked).")
            return actor
        if isinstance(session_data, dict):
            actor = await actor_for_session(session, session_data)
            if actor is not None:
                return actor
        return ANONYMOUS
