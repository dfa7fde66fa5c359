"""Loading an :class:`Actor` from stored credentials.

Every authenticated request goes through here, so it costs two statements built once: the
credential with its user, then the user's roles (managed places and organisations) in one
``UNION ALL``. Plain Core rows, no ORM objects: nothing here is changed afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, and_, bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from mutualab.accounts.models import ApiToken, Membership, PlaceManager, User
from mutualab.auth.actor import Actor
from mutualab.auth.tokens import digest

SESSION_USER_KEY = "uid"
SESSION_VERSION_KEY = "sv"
_MANAGER = "place_manager"  # the role column of a managed place in the roles query

_users = User.__table__.c  # type: ignore[attr-defined]
_tokens = ApiToken.__table__.c  # type: ignore[attr-defined]
_managers = PlaceManager.__table__.c  # type: ignore[attr-defined]
_members = Membership.__table__.c  # type: ignore[attr-defined]
_USABLE = and_(_users.active.is_(True), _users.deleted_at.is_(None))
_USER_COLUMNS = (_users.id, _users.user_type_code, _users.is_platform_admin)

_BY_TOKEN = (
    select(*_USER_COLUMNS, _tokens.scope)
    .join_from(ApiToken.__table__, User.__table__, _tokens.user_id == _users.id)  # type: ignore[attr-defined]
    .where(
        _tokens.token_sha256 == bindparam("digest"),
        _tokens.revoked_at.is_(None),
        _USABLE,
    )
)
_BY_SESSION = select(*_USER_COLUMNS, _users.session_version).where(
    _users.id == bindparam("user_id"), _USABLE
)
_ROLES = union_all(
    select(_managers.place_id.label("target"), literal(_MANAGER).label("role")).where(
        _managers.user_id == bindparam("user_id")
    ),
    select(_members.organisation_id, _members.role).where(_members.user_id == bindparam("user_id")),
)


async def _connection(session: AsyncSession | AsyncConnection) -> AsyncConnection:
    return await session.connection() if isinstance(session, AsyncSession) else session


async def _actor(
    connection: AsyncConnection, user: Row[Any] | User, *, can_write: bool, via: str
) -> Actor:
    assert user.id is not None
    places: set[int] = set()
    organisations: dict[int, str] = {}
    for target, role in await connection.execute(_ROLES, {"user_id": user.id}):
        if role == _MANAGER:
            places.add(target)
        else:
            organisations[target] = role
    return Actor(
        user_id=user.id,
        user_type_code=user.user_type_code,
        is_admin=user.is_platform_admin,
        managed_place_ids=frozenset(places),
        organisation_roles=organisations,
        can_write=can_write,
        via=via,
    )


async def actor_for_user(
    session: AsyncSession | AsyncConnection, user: User, *, can_write: bool, via: str
) -> Actor:
    """The actor of a loaded user, with the places they manage and their organisations."""
    return await _actor(await _connection(session), user, can_write=can_write, via=via)


async def actor_for_api_token(session: AsyncSession | AsyncConnection, token: str) -> Actor | None:
    """The actor behind an API token, or None if it is unknown, revoked or its user gone."""
    connection = await _connection(session)
    row = (await connection.execute(_BY_TOKEN, {"digest": digest(token)})).first()
    if row is None:
        return None
    return await _actor(connection, row, can_write=row.scope == "read_write", via="api_token")


async def actor_for_session(
    session: AsyncSession | AsyncConnection, data: Mapping[str, Any]
) -> Actor | None:
    """The actor of a browser session, or None if it is stale (logout, password change)."""
    user_id = data.get(SESSION_USER_KEY)
    version = data.get(SESSION_VERSION_KEY)
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    connection = await _connection(session)
    row = (await connection.execute(_BY_SESSION, {"user_id": user_id})).first()
    if row is None or row.session_version != version:
        return None
    return await _actor(connection, row, can_write=True, via="session")
