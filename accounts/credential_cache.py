"""A worker's short memory of the API tokens it accepted: one statement less per API request.

Every API request used to read its token, the user and the user's roles (one statement, with
its round trip: about a sixth of a booking's cost in the worker and in PostgreSQL). A token
accepted here is remembered for ``seconds`` (5 by default, ``MUTUALAB_CREDENTIAL_CACHE_SECONDS``;
0 turns this off), never past the token's own expiry, by the application's clock.

What a change to the credentials does to the remembered ones:

* every statement this process sends that writes one of the tables the actor is read from
  (tokens, users, managed places, memberships, granted rates) forgets them all, when it is
  sent and again when its transaction ends (committed or rolled back), so the next request of
  this worker reads the change: a revoked token is refused at once, a new role is seen at once;
* a read that started before such a change is not remembered (the generation it began under
  is over), so a request racing the change cannot put the old state back;
* another process (another worker, a script) is seen within ``seconds`` at most. That is the
  price of the cache, and the reason it is short: a token revoked through one worker may still
  be accepted by the others for a few seconds, as a request that read it just before the
  revocation would have been.

Browser sessions are not remembered: their idle timeout moves with every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from kernel.auth.actor import Actor

# Writes of the tables accounts.identity reads an actor from (INSERT, UPDATE, DELETE, TRUNCATE;
# a TRUNCATE names several tables).
_CREDENTIAL_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s[^;]*?"
    r"\b(?:api_token|user_account|place_manager|membership|rate_grant)\b",
    re.IGNORECASE,
)
# A token's last use, written once a minute (accounts.identity.record_use), changes nothing an
# actor is made of.
_LAST_USE = re.compile(r"^\s*UPDATE\s+api_token\s+SET\s+last_used_at\b", re.IGNORECASE)
_CHANGED = "mutualab.credentials_changed"  # connection.info key: a write to forget at its end
MAX_ENTRIES = 10_000  # tokens remembered at once; past it, all are forgotten and it starts over


@dataclass
class Remembered:
    """An accepted token: its actor, its id, and when its use was last written down."""

    actor: Actor
    credential_id: int
    last_used: datetime | None
    stored_at: datetime
    until: datetime


class CredentialCache:
    """Accepted API tokens by digest, for ``seconds``; see the module's docstring."""

    def __init__(self, seconds: float) -> None:
        self.lifetime = timedelta(seconds=seconds)
        self.generation = 0
        self._entries: dict[str, Remembered] = {}
        self._watched: list[AsyncEngine] = []

    @property
    def enabled(self) -> bool:
        """Whether tokens are remembered at all."""
        return self.lifetime > timedelta(0)

    def get(self, digest: str, now: datetime) -> Remembered | None:
        """The token remembered under ``digest``, if it still may be used as remembered."""
        found = self._entries.get(digest)
        if found is None:
            return None
        if not found.stored_at <= now < found.until:  # past its time (or the clock went back)
            del self._entries[digest]
            return None
        return found

    def put(
        self,
        digest: str,
        generation: int,
        remembered: Remembered,
        expires_at: datetime | None,
    ) -> None:
        """Remember a token read under ``generation``, unless the credentials changed since."""
        if not self.enabled or generation != self.generation:
            return
        if expires_at is not None:
            remembered.until = min(remembered.until, expires_at)
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest] = remembered

    def remembered_for(self, now: datetime) -> datetime:
        """Until when a token read at ``now`` may be remembered."""
        return now + self.lifetime

    def forget_all(self) -> None:
        """Forget every token, and every read under way (a credential changed)."""
        self._entries.clear()
        self.generation += 1

    def watch(self, engine: AsyncEngine) -> None:
        """Forget everything whenever ``engine`` writes credentials (see the module)."""
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._on_statement)
        event.listen(sync, "commit", self._on_end)
        event.listen(sync, "rollback", self._on_end)
        self._watched.append(engine)

    def unwatch(self) -> None:
        """Stop watching the engines (the runtime is closing)."""
        for engine in self._watched:
            sync = engine.sync_engine
            event.remove(sync, "before_cursor_execute", self._on_statement)
            event.remove(sync, "commit", self._on_end)
            event.remove(sync, "rollback", self._on_end)
        self._watched.clear()

    def _on_statement(
        self,
        connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _many: bool,
    ) -> None:
        if _CREDENTIAL_WRITE.match(statement) and not _LAST_USE.match(statement):
            connection.info[_CHANGED] = True
            self.forget_all()

    def _on_end(self, connection: Connection) -> None:
        # A connection the database dropped (a restart) can no longer show its info: reading
        # it would raise inside the rollback. Forgetting everything is always safe.
        if connection.invalidated or connection.closed or connection.info.pop(_CHANGED, False):
            self.forget_all()
