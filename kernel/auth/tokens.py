"""Bearer tokens: generated at random, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "mla_"  # noqa: S105  (a public prefix, not a secret)
# What new_token() makes: the prefix and 32 random bytes in URL-safe base64 (43 characters).
TOKEN_PATTERN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The stored form of a token. A fast hash is right here: tokens carry full entropy."""
    return hashlib.sha256(token.encode()).hexdigest()
