"""Password hashing (argon2id) and strength checks (zxcvbn)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from anyio import CapacityLimiter, to_thread
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
    hash, at the cost the hash was made with; ``needs_rehash`` tells hashes made otherwise.

    A hash takes tens of milliseconds of a core and ``memory_kib`` of memory: in a request it
    runs in a worker thread (argon2 releases the GIL), at most ``concurrency`` at once per
    process, so the event loop keeps serving everyone else meanwhile.
    """

    def __init__(
        self,
        time_cost: int = RFC_9106_LOW_MEMORY.time_cost,
        memory_kib: int = RFC_9106_LOW_MEMORY.memory_cost,
        concurrency: int = 2,
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._limiter = CapacityLimiter(concurrency)
        # Verified when the e-mail is unknown, so a wrong e-mail costs as much as a wrong password.
        self._dummy_hash = self._hasher.hash("not-a-real-password-used-for-timing-only")

    async def hash(self, password: str) -> str:
        """An argon2id hash with a random salt, computed off the event loop."""
        return await to_thread.run_sync(self.hash_blocking, password, limiter=self._limiter)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches, computed off the event loop; constant work whether or
        not a hash exists."""
        return await to_thread.run_sync(
            self._verify_blocking, stored_hash, password, limiter=self._limiter
        )

    @property
    def in_progress(self) -> int:
        """How many hashes (or checks) of this hasher are being computed right now."""
        return self._limiter.borrowed_tokens

    def hash_blocking(self, password: str) -> str:
        """:meth:`hash` in the calling thread: for commands and seeds, never in a request."""
        return self._hasher.hash(password)

    def _verify_blocking(self, stored_hash: str | None, password: str) -> bool:
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
def passwords(time_cost: int, memory_kib: int, concurrency: int = 2) -> Passwords:
    """The hasher for these parameters, made once per process (it hashes a dummy password when
    made, and its limit on concurrent hashes holds for every request of the process)."""
    return Passwords(time_cost, memory_kib, concurrency)


def hash_password(password: str) -> str:
    """An argon2id hash with the default parameters, in the calling thread (commands only)."""
    default = passwords(RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost)
    return default.hash_blocking(password)


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
