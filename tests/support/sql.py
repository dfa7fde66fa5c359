"""What the app sends to PostgreSQL while a block runs, for tests that count or look for
statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine

from kernel.worker import libpq_dsn

# asyncpg's query methods: the driver's statements past SQLAlchemy (kernel.driver) go through
# them; SQLAlchemy's own go through prepared statements, seen by its cursor event instead.
_QUERY_METHODS = ("fetch", "execute", "fetchrow", "fetchval")


@contextmanager
def sent_statements() -> Iterator[list[str]]:
    """Every statement sent while the block runs, in order: SQLAlchemy's and the driver's."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    def recording(original: Any) -> Any:
        async def call(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
            seen.append(query)
            return await original(self, query, *args, **kw)

        return call

    originals = {name: getattr(asyncpg.Connection, name) for name in _QUERY_METHODS}
    for name, original in originals.items():
        setattr(asyncpg.Connection, name, recording(original))
    event.listen(Engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
        for name, original in originals.items():
            setattr(asyncpg.Connection, name, original)


async def connect(url: str) -> asyncpg.Connection:
    """A connection of asyncpg's own to the database of a SQLAlchemy ``url``: past the app's
    engines, as another process or a script reaches it."""
    return await asyncpg.connect(libpq_dsn(url))
