"""Bearer tokens: generated at random, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from mutualab.auth.models import AdminToken

TOKEN_PREFIX = "mla_"  # noqa: S105  (a public prefix, not a secret)


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The stored form of a token. A fast hash is right here: tokens carry full entropy."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_admin_token(session: AsyncSession, name: str) -> str:
    """Store a new admin token and return its clear value, which is never stored."""
    token = new_token()
    session.add(AdminToken(name=name, token_sha256=digest(token)))
    await session.flush()
    return token


async def is_valid_admin_token(session: AsyncSession, token: str, configured: str | None) -> bool:
    """Whether ``token`` is the configured admin token or a stored, unrevoked one."""
    if configured and hmac.compare_digest(token.encode(), configured.encode()):
        return True
    rows = await session.exec(
        select(AdminToken).where(
            AdminToken.token_sha256 == digest(token), col(AdminToken.revoked_at).is_(None)
        )
    )
    row = rows.first()
    return row is not None
