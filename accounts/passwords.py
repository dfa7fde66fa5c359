"""Password hashing (argon2id) and strength checks (zxcvbn)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 copes with more, but nobody types more; it bounds the hashing cost


class WeakPasswordError(ValueError):
    """The password is too easy to guess; the message says why and how to do better."""


class Passwords:
    """argon2id with given parameters. Hashes carry their parameters: any instance verifies any
    hash, at the cost the hash was made with; ``needs_rehash`` tells hashes made otherwise."""

    def __init__(
        self,
        time_cost: int = RFC_9106_LOW_MEMORY.time_cost,
        memory_kib: int = RFC_9106_LOW_MEMORY.memory_cost,
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified when the e-mail is unknown, so a wrong e-mail costs as much as a wrong password.
        self._dummy_hash = self._hasher.hash("not-a-real-password-used-for-timing-only")

    def hash(self, password: str) -> str:
        """An argon2id hash with a random salt."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; constant work whether or not a hash exists."""
        try:
            return (
                self._hasher.verify(stored_hash or self._dummy_hash, password)
                and stored_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters than these."""
        return self._hasher.check_needs_rehash(stored_hash)


@cache
def passwords(time_cost: int, memory_kib: int) -> Passwords:
    """The hasher for these parameters, made once (it hashes a dummy password when made)."""
    return Passwords(time_cost, memory_kib)


def _default() -> Passwords:
    return passwords(RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost)


def hash_password(password: str) -> str:
    """An argon2id hash with a random salt, with the default parameters."""
    return _default().hash(password)


def check_strength(password: str, user_inputs: Sequence[str], min_score: int) -> None:
    """Refuse short or guessable passwords, with a message a person can act on."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"Use at most {MAX_LENGTH} characters.")
    # zxcvbn refuses more than 72 characters; the first 72 say all there is to say.
    result = zxcvbn(password[:72], user_inputs=[u[:72] for u in user_inputs if u])
    if result["score"] < min_score:
        feedback = result.get("feedback") or {}
        hints = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
        advice = " ".join(h for h in hints if h) or "Add more words or characters."
        raise WeakPasswordError(f"This password is too easy to guess. {advice}")
