"""Loading an :class:`Actor` from stored credentials, and recording that they were used.

Every authenticated request goes through here, so it costs one statement built once: the
credential with its user, joined to the user's roles (managed places, organisations and the
reduced rates granted per place, one ``UNION ALL``). Plain Core rows, no ORM objects: nothing
here is changed afterwards.

When a credential was last used (a token's ``last_used_at``, a session's ``last_seen_at``, which
the idle timeout reads) comes back with it, and is written again only when it is a minute old
(:func:`record_use`): one short write a minute per credential in use, not one per request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, and_, bindparam, literal, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.credential_cache import CredentialCache, Remembered
from accounts.models import ApiToken, BrowserSession, Membership, PlaceManager, RateGrant, User
from kernel.auth.actor import Actor
from kernel.auth.tokens import digest
from kernel.db import Database
from kernel.driver import Statement, fetch

SESSION_KEY = "sid"  # the browser session's random key, in the encrypted cookie
RECORD_USE_EVERY = timedelta(minutes=1)
_MANAGER = "place_manager"  # the role column of a managed place in the roles query
_RATE = "rate:"  # prefix of the role column of a rate granted at a place (then its code)

_users = User.__table__.c  # type: ignore[attr-defined]
_tokens = ApiToken.__table__.c  # type: ignore[attr-defined]
_sessions = BrowserSession.__table__.c  # type: ignore[attr-defined]
_managers = PlaceManager.__table__.c  # type: ignore[attr-defined]
_members = Membership.__table__.c  # type: ignore[attr-defined]
_grants = RateGrant.__table__.c  # type: ignore[attr-defined]
_USABLE = and_(_users.active.is_(True), _users.deleted_at.is_(None))
_USER_COLUMNS = (
    _users.id,
    _users.user_type_code,
    _users.is_platform_admin,
    _users.email_verified_at.is_not(None).label("email_verified"),
)

# Every role of every user: (user, place managed or organisation, role).
_ROLES = union_all(
    select(
        _managers.user_id.label("user_id"),
        _managers.place_id.label("target"),
        literal(_MANAGER).label("role"),
    ),
    select(_members.user_id, _members.organisation_id, _members.role),
    select(_grants.user_id, _grants.place_id, literal(_RATE) + _grants.user_type_code),
).subquery("roles")
_ROLE_COLUMNS = (_ROLES.c.target, _ROLES.c.role)
_WITH_ROLES = User.__table__.outerjoin(_ROLES, _ROLES.c.user_id == _users.id)  # type: ignore[attr-defined]

# One statement per authenticated request: the credential, its user and their roles, a row per
# role (one row with empty role columns when there is none).
_BY_TOKEN = (
    select(
        *_USER_COLUMNS,
        _tokens.scope,
        _tokens.id.label("credential_id"),
        _tokens.last_used_at.label("used_at"),
        _tokens.expires_at,
        *_ROLE_COLUMNS,
    )
    .select_from(ApiToken.__table__.join(_WITH_ROLES, _tokens.user_id == _users.id))  # type: ignore[attr-defined]
    .where(
        _tokens.token_sha256 == bindparam("digest"),
        _tokens.revoked_at.is_(None),
        or_(_tokens.expires_at.is_(None), _tokens.expires_at > bindparam("now")),
        _USABLE,
    )
)
_BY_TOKEN_DRIVER = Statement.of(_BY_TOKEN)  # every API request runs it (kernel.driver)
_BY_SESSION = (
    select(
        *_USER_COLUMNS,
        _sessions.id.label("credential_id"),
        _sessions.last_seen_at.label("used_at"),
        *_ROLE_COLUMNS,
    )
    .select_from(BrowserSession.__table__.join(_WITH_ROLES, _sessions.user_id == _users.id))  # type: ignore[attr-defined]
    .where(
        _sessions.token_sha256 == bindparam("digest"),
        _sessions.last_seen_at > bindparam("idle_since"),
        _sessions.created_at > bindparam("opened_since"),
        _USABLE,
    )
)
_BY_SESSION_DRIVER = Statement.of(_BY_SESSION)
_TOUCH_TOKEN = (
    update(ApiToken)
    .where(
        _tokens.id == bindparam("credential_id"),
        or_(_tokens.last_used_at.is_(None), _tokens.last_used_at < bindparam("now")),
    )
    .values(last_used_at=bindparam("now"))
)
_TOUCH_SESSION = (
    update(BrowserSession)
    .where(_sessions.id == bindparam("credential_id"), _sessions.last_seen_at < bindparam("now"))
    .values(last_seen_at=bindparam("now"))
)
_BY_USER = select(*_ROLE_COLUMNS).where(_ROLES.c.user_id == bindparam("user_id"))


def _roles(rows: Sequence[Any]) -> list[tuple[Any, Any]]:
    """The (target, role) pairs of the rows of a credential joined to its user's roles."""
    return [(row["target"], row["role"]) for row in rows]


async def _connection(session: AsyncSession | AsyncConnection) -> AsyncConnection:
    return await session.connection() if isinstance(session, AsyncSession) else session


def _actor(
    user_id: int,
    user_type_code: str,
    is_admin: bool,
    roles: Iterable[tuple[Any, Any]],
    *,
    can_write: bool,
    via: str,
    email_verified: bool,
) -> Actor:
    places: set[int] = set()
    organisations: dict[int, str] = {}
    rates: dict[int, str] = {}
    for target, role in roles:
        if role == _MANAGER:
            places.add(target)
        elif role is not None and role.startswith(_RATE):
            rates[target] = role[len(_RATE) :]
        elif role is not None:
            organisations[target] = role
    return Actor(
        user_id=user_id,
        user_type_code=user_type_code,
        place_rates=rates,
        is_admin=is_admin,
        managed_place_ids=frozenset(places),
        organisation_roles=organisations,
        can_write=can_write,
        via=via,
        email_verified=email_verified,
    )


def _actor_of_rows(rows: Sequence[Any], *, can_write: bool, via: str) -> Actor:
    """The actor of a user's rows joined to their roles (one row per role), read by name."""
    user = rows[0]
    return _actor(
        user["id"],
        user["user_type_code"],
        user["is_platform_admin"],
        _roles(rows),
        can_write=can_write,
        via=via,
        email_verified=bool(user["email_verified"]),
    )


async def actor_for_user(
    session: AsyncSession | AsyncConnection, user: User, *, can_write: bool, via: str
) -> Actor:
    """The actor of a loaded user, with the places they manage and their organisations."""
    connection = await _connection(session)
    assert user.id is not None
    return _actor(
        user.id,
        user.user_type_code,
        user.is_platform_admin,
        _roles((await connection.execute(_BY_USER, {"user_id": user.id})).mappings().all()),
        can_write=can_write,
        via=via,
        email_verified=user.email_verified_at is not None,
    )


@dataclass(frozen=True)
class Use:
    """A credential that was just accepted, and when its use was last written down."""

    statement: Update
    credential_id: int
    last: datetime | None

    def due(self, now: datetime) -> bool:
        """Whether this use should be written (the last one written is a minute old)."""
        return self.last is None or now - self.last >= RECORD_USE_EVERY


@dataclass(frozen=True)
class SessionLimits:
    """How long a browser session lasts: in all, and without a request."""

    max_age: timedelta
    idle: timedelta


async def actor_for_api_token(
    session: AsyncSession | AsyncConnection,
    token: str,
    now: datetime,
    cache: CredentialCache | None = None,
) -> tuple[Actor, Use] | None:
    """The actor behind an API token, or None if it is unknown, revoked, expired or its user
    gone; remembered by ``cache`` for a few seconds (accounts.credential_cache)."""
    key = digest(token)
    if cache is not None and (known := cache.get(key, now)) is not None:
        last = known.last_used
        if last is None or now - last >= RECORD_USE_EVERY:
            known.last_used = now  # this request writes it down: the next ones need not
        return known.actor, Use(_TOUCH_TOKEN, known.credential_id, last)
    generation = cache.generation if cache is not None else 0
    connection = await _connection(session)
    rows = await fetch(connection, _BY_TOKEN_DRIVER, {"digest": key, "now": now})
    if not rows:
        return None
    actor = _actor_of_rows(rows, can_write=rows[0]["scope"] == "read_write", via="api_token")
    use = Use(_TOUCH_TOKEN, rows[0]["credential_id"], rows[0]["used_at"])
    if cache is not None and cache.enabled:
        remembered = Remembered(
            actor,
            use.credential_id,
            now if use.due(now) else use.last,
            now,
            cache.remembered_for(now),
        )
        cache.put(key, generation, remembered, rows[0]["expires_at"])
    return actor, use


async def actor_for_session(
    session: AsyncSession | AsyncConnection,
    data: Mapping[str, Any],
    now: datetime,
    limits: SessionLimits,
) -> tuple[Actor, Use] | None:
    """The actor of a browser session, or None if it ended (log-out, password change, too long
    idle or too old)."""
    key = data.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        return None
    connection = await _connection(session)
    params = {
        "digest": digest(key),
        "idle_since": now - limits.idle,
        "opened_since": now - limits.max_age,
    }
    rows = await fetch(connection, _BY_SESSION_DRIVER, params)
    if not rows:
        return None
    actor = _actor_of_rows(rows, can_write=True, via="session")
    return actor, Use(_TOUCH_SESSION, rows[0]["credential_id"], rows[0]["used_at"])


async def record_use(database: Database, use: Use, now: datetime) -> None:
    """Write down that a credential was used, in a short transaction of its own: kept whatever
    the request's outcome, and no lock held on the credential meanwhile."""
    async with database.engine.begin() as connection:
        await connection.execute(use.statement, {"credential_id": use.credential_id, "now": now})
