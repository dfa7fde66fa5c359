"""Migrations go from empty to head, back to empty and up again, and match the models."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from kernel.db import create_engine
from mutualab import migrate
from mutualab.metadata import metadata
from tests.support.postgres import PostgresServer


@pytest.fixture
def empty_database_url(postgres_server: PostgresServer) -> str:
    """A brand-new empty database."""
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


# Run in a fresh interpreter: nothing but mutualab.metadata is imported, so a domain whose
# models it forgets to import shows up as tables autogenerate would drop.
_AUTOGENERATE_ALONE = """
import asyncio, sys
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from mutualab.metadata import metadata

def differences(conn):
    return compare_metadata(MigrationContext.configure(conn), metadata)

async def main():
    engine = create_async_engine(sys.argv[1])
    async with engine.connect() as conn:
        found = await conn.run_sync(differences)
    await engine.dispose()
    print(repr(found))
    sys.exit(1 if found else 0)

asyncio.run(main())
"""


def test_metadata_alone_matches_the_migrated_database(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    result = subprocess.run(
        [sys.executable, "-c", _AUTOGENERATE_ALONE, empty_database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"
