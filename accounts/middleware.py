"""Authentication middleware: resolves the :class:`Actor` from a bearer token or a session."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Receive, Scope, Send
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.credential_cache import CredentialCache
from accounts.identity import (
    SessionLimits,
    Use,
    actor_for_api_token,
    actor_for_session,
    record_use,
)
from kernel.auth.actor import ANONYMOUS, Actor
from kernel.auth.tokens import TOKEN_PATTERN
from kernel.clock import Clock
from kernel.db import (
    REQUEST_SESSION,
    SAFE_METHODS,
    EdgeTransaction,
    close_if_used,
    get_database,
)
from kernel.errors import UnauthenticatedError
from kernel.settings import Settings

logger = logging.getLogger("mutualab.accounts")
# ASGI scope key of a credential whose use is to be written down after the answer.
_USE_DUE = "mutualab.credential_use"


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None when there is no such header.

    A header that is there but is not one bearer token of ours is refused outright (401): it
    must not quietly fall back to the browser's cookies.
    """
    values = connection.headers.getall("authorization", [])
    if not values:
        return None
    scheme, _, token = values[0].partition(" ")
    if len(values) > 1 or scheme.lower() != "bearer" or not TOKEN_PATTERN.fullmatch(token):
        raise UnauthenticatedError(
            "Send credentials as 'Authorization: Bearer <token>', with one of your API tokens.",
            code="malformed_authorization",
        )
    return token


def session_limits(settings: Settings) -> SessionLimits:
    """How long the browser sessions of an application last."""
    return SessionLimits(
        max_age=timedelta(days=settings.session_max_age_days),
        idle=timedelta(minutes=settings.session_idle_minutes),
    )


def credential_cache(state: State) -> CredentialCache | None:
    """The application's memory of accepted tokens (None when the runtime keeps none)."""
    cache: CredentialCache | None = getattr(state, "credentials", None)
    return cache


class ActorMiddleware(AbstractAuthenticationMiddleware):
    """Attach an actor to every request; anonymous when no credentials are sent.

    A bearer token that is sent but not valid (unknown, revoked, expired, malformed) is refused
    (401) rather than treated as anonymous, so a program with a bad token learns it at once;
    with an ``Authorization`` header the session cookie is never read.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the request's database session here, so credentials and work share it.

        One pooled connection and one transaction per request, instead of a second checkout
        for the credentials. The session connects lazily (a request that never touches the
        database costs nothing); its transaction ends as the answer starts, committed for a
        2xx/3xx status and rolled back otherwise (:class:`kernel.db.EdgeTransaction`), and it is
        closed once the answer is sent.

        When the credential's use is due to be written down (once a minute), that is done last,
        once the answer is sent and the request's connection is back in the pool: a request
        never holds one connection while it waits for a second.
        """
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        database = get_database(scope["app"].state)
        write = scope["method"] not in SAFE_METHODS
        session = (database.writer if write else database.reader)()
        try:
            scope[REQUEST_SESSION] = session  # type: ignore[literal-required]
            edge = EdgeTransaction(session, scope, receive, send)
            await super().__call__(scope, receive, edge.send)
        finally:
            await close_if_used(session)
        due: tuple[Use, datetime] | None = scope.get(_USE_DUE)  # type: ignore[assignment]
        if due is not None:
            try:
                await record_use(database, *due)
            except Exception:  # the answer is sent; the next request records its use
                logger.warning("could not record a credential's use", exc_info=True)

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Resolve credentials into an actor."""
        token = bearer_token(connection)
        session_data = connection.scope.get("session")
        if token is None and not session_data:
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        state = connection.app.state
        clock: Clock = state.clock
        now = clock()
        session = connection.scope.get(REQUEST_SESSION)
        if isinstance(session, AsyncSession):
            found = await self._resolve(state, session, token, session_data, now)
        else:  # not opened by __call__ (not an HTTP request): a short one of its own
            async with get_database(state).reader() as own:
                found = await self._resolve(state, own, token, session_data, now)
        if found is None:
            return AuthenticationResult(user=ANONYMOUS, auth=None)
        actor, use = found
        if use.due(now):
            connection.scope[_USE_DUE] = (use, now)  # type: ignore[literal-required]
        return AuthenticationResult(user=actor, auth=token)

    async def _resolve(
        self,
        state: State,
        session: AsyncSession,
        token: str | None,
        session_data: Any,
        now: datetime,
    ) -> tuple[Actor, Use] | None:
        if token is not None:
            found = await actor_for_api_token(session, token, now, credential_cache(state))
            if found is None:
                raise UnauthenticatedError(
                    "The token is not valid (unknown, expired or revoked).", code="invalid_token"
                )
            return found
        if isinstance(session_data, dict):
            limits = session_limits(state.settings)
            return await actor_for_session(session, session_data, now, limits)
        return None
