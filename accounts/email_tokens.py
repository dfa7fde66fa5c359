"""Links mailed to people: a random token in the link, only its keyed hash in the database.

A link proves that its holder reads the mailbox it was sent to. It is good once (marked used by
the one statement that accepts it) and for a while only (48 h to verify an address, 1 h to
reset a password). The hash is an HMAC under the instance's secret key: the table alone gives
nothing to try links with, and a link cannot be made without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from accounts.models import EmailToken, User
from accounts.repository import AccountRepository
from kernel.errors import GoneError, InvalidInputError

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100


class Purpose(StrEnum):
    """What a link is for."""

    VERIFY = "verify"
    RESET = "reset"


LIFETIME = {Purpose.VERIFY: timedelta(hours=48), Purpose.RESET: timedelta(hours=1)}


class LinkInvalidError(InvalidInputError):
    """The link was not made by this instance (mistyped, cut, or tampered with)."""

    def __init__(self) -> None:
        super().__init__(
            "This link is not valid: copy the whole link from the e-mail.",
            field="token",
            code="link_invalid",
        )


class LinkExpiredError(GoneError):
    """The link is too old."""

    code = "link_expired"


class LinkUsedError(GoneError):
    """The link was used already (each works once)."""

    code = "link_used"


@dataclass(frozen=True)
class Redeemed:
    """A link just used, and its user."""

    token: EmailToken
    user: User


class EmailTokens:
    """Makes and accepts the links of one instance (its secret key)."""

    def __init__(self, repository: AccountRepository, secret_key: bytes) -> None:
        self.repo = repository
        self.key = secret_key

    def _hash(self, token: str, purpose: Purpose) -> str:
        message = f"{purpose}:{token}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    async def issue(self, user: User, purpose: Purpose, now: datetime) -> tuple[str, int]:
        """A new link for ``user`` at their current address: its token (shown once, in the
        mail) and its id."""
        assert user.id is not None
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = EmailToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=self._hash(token, purpose),
            email=user.email,
            created_at=now,
            expires_at=now + LIFETIME[purpose],
        )
        await self.repo.add(row)
        assert row.id is not None
        return token, row.id

    async def check(self, token: str, purpose: Purpose, now: datetime) -> User:
        """The user of a live link, without using it (a form asks for more first)."""
        row = await self._found(token, purpose)
        self._refuse_dead(row, now)
        return await self._owner(row)

    async def redeem(self, token: str, purpose: Purpose, now: datetime) -> Redeemed:
        """Use a link: its user, or why the link cannot be used."""
        if len(token) <= MAX_TOKEN_LENGTH:
            used = await self.repo.use_email_token(self._hash(token, purpose), purpose, now)
            if used is not None:
                return Redeemed(used, await self._owner(used))
        row = await self._found(token, purpose)
        self._refuse_dead(row, now)
        raise LinkUsedError("This link was used already.")  # used between the two statements

    async def _found(self, token: str, purpose: Purpose) -> EmailToken:
        row = None
        if 0 < len(token) <= MAX_TOKEN_LENGTH:
            row = await self.repo.email_token(self._hash(token, purpose), purpose)
        if row is None:
            raise LinkInvalidError()
        return row

    @staticmethod
    def _refuse_dead(row: EmailToken, now: datetime) -> None:
        if row.used_at is not None:
            raise LinkUsedError("This link was used already: each link works once.")
        if row.expires_at <= now:
            raise LinkExpiredError("This link has expired: ask for a new one.")

    async def _owner(self, row: EmailToken) -> User:
        user = await self.repo.user(row.user_id)
        # A link for an address the account no longer has, or a closed account, proves nothing.
        if user is None or user.deleted_at is not None or not user.active:
            raise LinkInvalidError()
        if user.email != row.email:
            raise LinkExpiredError("This link was sent to another address: ask for a new one.")
        return user
