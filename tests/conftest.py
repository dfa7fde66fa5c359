"""Fixtures shared by the whole suite: both databases, migrated by alembic, and an app client.

Every test that asks for ``client`` or ``database_url`` runs twice: on SQLite and on
PostgreSQL. The schema is built with ``alembic upgrade head``, so migrations are tested too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from mutualab import migrate
from mutualab.app import create_app
from mutualab.db import Database
from mutualab.metadata import metadata
from mutualab.settings import Settings
from tests.support.accounts import make_user
from tests.support.postgres import PostgresServer, find_server

IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]

_pg_notice: list[str] = []


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    """A PostgreSQL server for this run (or None, loudly, outside CI)."""
    server = find_server()
    if server is None:
        message = "No PostgreSQL server found: the PostgreSQL half of the suite is SKIPPED."
        if IN_CI:
            pytest.fail(f"{message} CI=true requires PostgreSQL.", pytrace=False)
        _pg_notice.append(message)
        yield None
        return
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer | None) -> str | None:
    """A PostgreSQL database of this run, migrated to head once."""
    if postgres_server is None:
        return None
    url = postgres_server.create_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind a test runs on."""
    name: str = request.param
    return name


@pytest.fixture
def database_url(
    backend: str,
    sqlite_template: Path,
    postgres_url: str | None,
    tmp_path: Path,
) -> str:
    """A migrated database for one test: a fresh SQLite copy, or the run's PostgreSQL database."""
    if backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    if postgres_url is None:
        pytest.skip("PostgreSQL unavailable (see the notice at the end of the run)")
    return postgres_url


# Reference data the migrations insert; kept across the emptying of tables between tests.
SEEDED_TABLES = ("user_type",)


async def _empty_tables(database: Database) -> None:
    if database.dialect != "postgresql":
        return  # SQLite tests get a fresh copy of the template instead
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat loudly, at the end, that a database half was skipped."""
    for message in _pg_notice:
        terminalreporter.write_sep("!", message, red=True, bold=True)
