"""Migrations go from empty to head, back to empty and up again, and match the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from mutualab import migrate
from mutualab.db import create_engine
from mutualab.metadata import metadata
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | None
) -> str:
    """A brand-new empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    if postgres_server is None:
        pytest.skip("PostgreSQL unavailable (see the notice at the end of the run)")
    return postgres_server.create_database("mutualab_migrations")


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    import asyncio

    migrate.upgrade(empty_database_url)
    assert asyncio.run(_inspect(empty_database_url, _tables)) == set(metadata.tables)
    assert asyncio.run(_inspect(empty_database_url, _differences)) == []
    migrate.downgrade(empty_database_url, "base")
    assert asyncio.run(_inspect(empty_database_url, _tables)) == set()
    migrate.upgrade(empty_database_url)
    assert asyncio.run(_inspect(empty_database_url, _tables)) == set(metadata.tables)
