"""Fixtures shared by the whole suite: a PostgreSQL database migrated by alembic, an app client.

The schema is built with ``alembic upgrade head``, so migrations are tested too. The server is
``MUTUALAB_TEST_DATABASE_URL``, else the local one on 127.0.0.1:5432, else a private cluster
run with the embedded wheel's binaries (tests.support.postgres).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text

from kernel.db import Database
from kernel.settings import Settings
from mutualab import migrate
from mutualab.app import create_app
from mutualab.metadata import metadata
from tests.support.accounts import make_user
from tests.support.postgres import PostgresServer, find_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of this run."""
    server = find_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A PostgreSQL database of this run, migrated to head once."""
    url = postgres_server.create_database()
    migrate.upgrade(url)
    return url


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """The migrated database the tests share (emptied before each test by ``database``)."""
    return postgres_url


# Reference data the migrations insert; kept across the emptying of tables between tests.
SEEDED_TABLES = ("user_type",)


async def _empty_tables(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with database.engine.begin() as conn:
        seeded = {
            table: [
                dict(row)
                for row in (
                    await conn.execute(
                        metadata.tables[table]
                        .select()
                        .where(metadata.tables[table].c.place_id.is_(None))
                    )
                ).mappings()
            ]
            for table in SEEDED_TABLES
        }
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table, rows in seeded.items():
            if rows:
                await conn.execute(metadata.tables[table].insert(), rows)
        # The migration's single counter row (booking.snapshots reads it).
        await conn.execute(text("INSERT INTO catalogue_revision (id, value) VALUES (1, 0)"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The database of one test, emptied, with its engine closed afterwards."""
    db = Database.from_settings(Settings(database_url=database_url, database_pool_size=20))
    await _empty_tables(db)
    yield db
    await db.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings of the app under test."""
    return Settings(
        database_url=database_url,
        public_base_url="https://mutualab.test",
        secret_key="test-secret-key-not-used-anywhere-else-0123456789",
    )


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling a fresh app in this event loop, bound to the test database."""
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    # HTTPS, like the public address in ``settings``: cookies are Secure.
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as http:
        yield http


@pytest.fixture
async def admin_headers(database: Database) -> dict[str, str]:
    """Credentials of a platform administrator (may create places and write any catalogue)."""
    admin = await make_user(database, "admin@mutualab.test", admin=True)
    return admin.headers
