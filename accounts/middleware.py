"""Authentication middleware: resolves the :class:`Actor` from a bearer token or a session."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Receive, Scope, Send
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.identity import actor_for_api_token, actor_for_session
from kernel.auth.actor import ANONYMOUS, Actor
from kernel.db import REQUEST_SESSION, SAFE_METHODS, EdgeTransaction, get_database
from kernel.errors import UnauthenticatedError


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the request's database session here, so credentials and work share it.

        One pooled connection and one transaction per request, instead of a second checkout
        for the credentials. The session connects lazily (a request that never touches the
        database costs nothing); its transaction ends as the answer starts, committed for a
        2xx/3xx status and rolled back otherwise (:class:`kernel.db.EdgeTransaction`), and it is
        closed once the answer is sent.
        """
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        database = get_database(scope["app"].state)
        write = scope["method"] not in SAFE_METHODS
        async with (database.writer if write else database.reader)() as session:
            scope[REQUEST_SESSION] = session  # type: ignore[literal-required]
            edge = EdgeTransaction(session, scope, receive, send)
            await super().__call__(scope, receive, edge.send)

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Resolve credentials into an actor."""
        token = bearer_token(connection)
        session_data = connection.scope.get("session")
        if token is None and not session_data:
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        session = connection.scope.get(REQUEST_SESSION)
        if isinstance(session, AsyncSession):
            actor = await self._resolve(connection, session, token, session_data)
        else:  # not opened by __call__ (not an HTTP request): a short one of its own
            async with get_database(connection.app.state).reader() as own:
                actor = await self._resolve(connection, own, token, session_data)
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
