"""Attempt counters with growing delays: log-ins per e-mail and per address, sign-ups per address.

Each attempt is counted *before* the work it guards (a password check, a hash) by one atomic
``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING`` that counts it only if its key is
not waiting:
twenty guesses sent at once are twenty attempts in turn on the row's lock, and those past the
free ones are refused, not checked. A key's first ``free`` attempts in a window go through; then
each further one must wait 1 s, 2 s, 4 s, ... up to the rule's cap: a delay, never a hard lock.

The counters run on a connection of their own and commit at once: a refusal must be kept even
though the request that was refused rolls its own transaction back, and the row's lock must
not be held through a password check.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    Integer,
    bindparam,
    case,
    delete,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from accounts.models import AttemptCounter
from kernel.clock import Clock
from kernel.db import Database
from kernel.errors import AppError
from kernel.settings import Settings

MAX_DOUBLINGS = 24  # 2**24 s is beyond any cap: keeps power() finite however many attempts


class TooManyAttemptsError(AppError):
    """Too many attempts from this address or for this account: wait a little."""

    status_code = 429
    code = "too_many_attempts"
    title = "Too many attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many attempts; try again later.", extra={"retry_after": max(1, retry_after)}
        )
        self.headers = {"Retry-After": str(max(1, retry_after))}


@dataclass(frozen=True)
class Rule:
    """What is counted (``kind``), how many attempts a window lets through, the longest wait."""

    kind: str
    free: int
    max_delay: timedelta


_counters = AttemptCounter.__table__  # type: ignore[attr-defined]
_c = _counters.c
_NOW = bindparam("now", type_=DateTime(timezone=True))
_FREE = bindparam("free", type_=Integer)
_CAP = bindparam("cap", type_=Float)  # seconds
_SECOND: ColumnElement[Any] = literal_column("interval '1 second'")


def _next_attempt(attempts: ColumnElement[int]) -> ColumnElement[datetime]:
    # When the attempt after ``attempts`` may be made: at once while free, then 1 s, 2 s, 4 s...
    # up to the cap.
    doublings = func.least(attempts - _FREE, MAX_DOUBLINGS)
    delay = case((attempts < _FREE, 0.0), else_=func.least(_CAP, func.power(2, doublings)))
    return _NOW + delay * _SECOND


_NEW_WINDOW = _c.window_started_at <= bindparam("window_start", type_=DateTime(timezone=True))
_COUNTED = case((_NEW_WINDOW, 1), else_=_c.attempts + 1)
# Counts the attempt unless the key must still wait; a row comes back only if it was counted.
_ATTEMPT = (
    insert(_counters)
    .values(
        key=bindparam("counter_key"),
        attempts=1,
        window_started_at=_NOW,
        next_attempt_at=_next_attempt(literal(1)),
    )
    .on_conflict_do_update(
        index_elements=[_c.key],
        set_={
            "attempts": _COUNTED,
            "window_started_at": case((_NEW_WINDOW, _NOW), else_=_c.window_started_at),
            "next_attempt_at": _next_attempt(_COUNTED),
        },
        where=_c.next_attempt_at <= _NOW,
    )
    .returning(_c.attempts)
)
_NEXT_ATTEMPT = select(_c.next_attempt_at).where(_c.key == bindparam("counter_key"))
_FORGET = delete(_counters).where(_c.key == bindparam("counter_key"))
# An attempt that turned out legitimate (a right password) stops counting against its address.
_REFUNDED = func.greatest(_c.attempts - 1, 0)
_REFUND = (
    update(_counters)
    .where(_c.key == bindparam("counter_key"))
    .values(
        attempts=_REFUNDED,
        next_attempt_at=func.least(_c.next_attempt_at, _next_attempt(_REFUNDED)),
    )
)
_PURGE = delete(_counters).where(_NEW_WINDOW, _c.next_attempt_at <= _NOW)


def rules(settings: Settings) -> tuple[Rule, Rule, Rule]:
    """The log-in rules (per e-mail, per address) and the sign-up rule (per address)."""
    window = timedelta(minutes=settings.login_window_minutes)
    email_cap = timedelta(seconds=settings.login_max_delay_seconds)
    return (
        Rule("login-email", settings.login_max_failures, email_cap),
        # Many people may share an address (a school, a library): more slack, a longer cap.
        Rule("login-address", settings.login_max_failures * 4, window),
        Rule("signup-address", settings.signups_per_address, window),
    )


class Throttle:
    """The attempt counters of one application (its database, clock and window)."""

    def __init__(self, database: Database, settings: Settings, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self.window = timedelta(minutes=settings.login_window_minutes)

    @staticmethod
    def _key(rule: Rule, value: str) -> str:
        return hashlib.sha256(f"{rule.kind}:{value}".encode()).hexdigest()

    def _params(self, rule: Rule, value: str, now: datetime) -> dict[str, object]:
        return {
            "counter_key": self._key(rule, value),
            "now": now,
            "window_start": now - self.window,
            "free": rule.free,
            "cap": rule.max_delay.total_seconds(),
        }

    async def attempt(self, rule: Rule, value: str) -> None:
        """Count an attempt for ``value``, or refuse it while its key must wait."""
        now = self.clock()
        params = self._params(rule, value, now)
        async with self.database.engine.begin() as connection:
            counted = (await connection.execute(_ATTEMPT, params)).first()
            if counted is not None:
                return
            waiting_until = (await connection.execute(_NEXT_ATTEMPT, params)).scalar()
        wait = (waiting_until - now).total_seconds() if waiting_until is not None else 1
        raise TooManyAttemptsError(math.ceil(wait))

    async def forget(self, rule: Rule, value: str) -> None:
        """Start ``value``'s count again (a right password for the account)."""
        async with self.database.engine.begin() as connection:
            await connection.execute(_FORGET, {"counter_key": self._key(rule, value)})

    async def refund(self, rule: Rule, value: str) -> None:
        """Take back one attempt of ``value`` (it was a right password from this address)."""
        params = self._params(rule, value, self.clock())
        async with self.database.engine.begin() as connection:
            await connection.execute(_REFUND, params)

    async def purge(self) -> None:
        """Delete the counters whose window has passed (they would start again anyway)."""
        async with self.database.engine.begin() as connection:
            now = self.clock()
            await connection.execute(_PURGE, {"window_start": now - self.window, "now": now})
