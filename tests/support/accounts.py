"""Factories for people: users with a role and an API token, created straight in the database.

Tests that are not about accounts use these to act as a citizen, a member of an
organisation, a place manager or an admin, through real API tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import ApiToken, Membership, Organisation, PlaceManager, User
from accounts.passwords import passwords
from kernel.auth.tokens import digest, new_token
from kernel.db import Database

# argon2id parameters of the tests' settings: still argon2id, hashed and verified for real
# through the API, at ~1 ms instead of ~0.1 s (production keeps the defaults of Settings).
TEST_PASSWORD_HASHING = {"password_hash_time_cost": 1, "password_hash_memory_kib": 1024}


@cache
def stored_hash(password: str) -> str:
    """An argon2id hash of ``password`` with the tests' parameters, computed once per session:
    seeds store it for the people who log in (logging in verifies it through the API)."""
    time_cost = TEST_PASSWORD_HASHING["password_hash_time_cost"]
    memory_kib = TEST_PASSWORD_HASHING["password_hash_memory_kib"]
    return passwords(time_cost, memory_kib).hash_blocking(password)


@dataclass(frozen=True)
class Person:
    """A user created for a test, with a read-write API token."""

    user_id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization headers for this person."""
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(
    database: Database,
    email: str,
    *,
    user_type: str = "citizen",
    manages: tuple[int, ...] = (),
    organisation_roles: tuple[tuple[int, str], ...] = (),
    admin: bool = False,
    scope: str = "read_write",
    password_hash: str | None = None,
    verified: bool = True,
) -> Person:
    """Create a user with roles and a token; no password (they act through the token)."""
    async with database.writer() as session, session.begin():
        return await add_user(
            session,
            email,
            user_type=user_type,
            manages=manages,
            organisation_roles=organisation_roles,
            admin=admin,
            scope=scope,
            password_hash=password_hash,
            verified=verified,
        )


async def add_user(
    session: AsyncSession,
    email: str,
    *,
    user_type: str = "citizen",
    manages: tuple[int, ...] = (),
    organisation_roles: tuple[tuple[int, str], ...] = (),
    admin: bool = False,
    scope: str = "read_write",
    password_hash: str | None = None,
    verified: bool = True,
) -> Person:
    """Like :func:`make_user`, in the caller's transaction (several at once: one commit).

    People made here proved their address (``verified``) unless a test says otherwise: only
    sign-up makes unverified accounts.
    """
    token = new_token()
    user = User(
        email=email,
        display_name=email.split("@")[0],
        user_type_code=user_type,
        is_platform_admin=admin,
        password_hash=password_hash,
        email_verified_at=datetime.now(UTC) if verified else None,
    )
    session.add(user)
    await session.flush()
    assert user.id is not None
    session.add(ApiToken(user_id=user.id, name="test", token_sha256=digest(token), scope=scope))
    for place_id in manages:
        session.add(PlaceManager(place_id=place_id, user_id=user.id))
    for organisation_id, role in organisation_roles:
        session.add(Membership(organisation_id=organisation_id, user_id=user.id, role=role))
    await session.flush()
    return Person(user_id=user.id, email=email, token=token)


async def make_organisation(
    database: Database,
    name: str = "École Jean Jaurès",
    *,
    user_type: str = "school",
    requires_purchase_order: bool = True,
    verified: bool = True,
) -> int:
    """Create an organisation (verified by an admin unless told) and return its id."""
    async with database.writer() as session, session.begin():
        return await add_organisation(
            session,
            name,
            user_type=user_type,
            requires_purchase_order=requires_purchase_order,
            verified=verified,
        )


async def add_organisation(
    session: AsyncSession,
    name: str = "École Jean Jaurès",
    *,
    user_type: str = "school",
    requires_purchase_order: bool = True,
    verified: bool = True,
) -> int:
    """Like :func:`make_organisation`, in the caller's transaction."""
    organisation = Organisation(
        verified_at=datetime.now(UTC) if verified else None,
        name=name,
        user_type_code=user_type,
        billing_address="1 rue de l'École",
        billing_postcode="22300",
        billing_town="Lannion",
        requires_purchase_order=requires_purchase_order,
    )
    session.add(organisation)
    await session.flush()
    assert organisation.id is not None
    return organisation.id
