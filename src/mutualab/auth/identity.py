"""Loading an :class:`Actor` from stored credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mutualab.accounts.models import ApiToken, Membership, PlaceManager, User
from mutualab.auth.actor import Actor
from mutualab.auth.tokens import digest

SESSION_USER_KEY = "uid"
SESSION_VERSION_KEY = "sv"


async def actor_for_user(session: AsyncSession, user: User, *, can_write: bool, via: str) -> Actor:
    """The actor of a loaded user, with the places they manage and their organisations."""
    assert user.id is not None
    places = await session.exec(
        select(PlaceManager.place_id).where(PlaceManager.user_id == user.id)
    )
    roles = await session.exec(
        select(Membership.organisation_id, Membership.role).where(Membership.user_id == user.id)
    )
    return Actor(
        user_id=user.id,
        user_type_code=user.user_type_code,
        is_admin=user.is_platform_admin,
        managed_place_ids=frozenset(places.all()),
        organisation_roles=dict(roles.all()),
        can_write=can_write,
        via=via,
    )


async def _usable_user(session: AsyncSession, user_id: int) -> User | None:
    user = await session.get(User, user_id)
    if user is None or not user.active or user.deleted_at is not None:
        return None
    return user


async def actor_for_api_token(session: AsyncSession, token: str) -> Actor | None:
    """The actor behind an API token, or None if it is unknown or revoked."""
    rows = await session.exec(
        select(ApiToken).where(
            ApiToken.token_sha256 == digest(token), col(ApiToken.revoked_at).is_(None)
        )
    )
    api_token = rows.first()
    if api_token is None:
        return None
    user = await _usable_user(session, api_token.user_id)
    if user is None:
        return None
    return await actor_for_user(
        session, user, can_write=api_token.scope == "read_write", via="api_token"
    )


async def actor_for_session(session: AsyncSession, data: Mapping[str, Any]) -> Actor | None:
    """The actor of a browser session, or None if it is stale (logout, password change)."""
    user_id = data.get(SESSION_USER_KEY)
    version = data.get(SESSION_VERSION_KEY)
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = await _usable_user(session, user_id)
    if user is None or user.session_version != version:
        return None
    return await actor_for_user(session, user, can_write=True, via="session")
