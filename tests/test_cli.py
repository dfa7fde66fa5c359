"""The command line, run as a real process against both databases, and a real served instance."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.net import free_port
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | None
) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    if postgres_server is None:
        pytest.skip("PostgreSQL unavailable (see the notice at the end of the run)")
    return postgres_server.create_database("mutualab_cli")


def mutualab(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mutualab ARGS`` with the given database."""
    env = {
        **os.environ,
        "MUTUALAB_DATABASE_URL": database_url,
        "MUTUALAB_ADMIN_PASSWORD": "admin-passphrase-for-tests-91",
    }
    return subprocess.run(
        [sys.executable, "-m", "mutualab", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def served(fresh_database_url: str) -> Iterator[tuple[str, str]]:
    """A migrated, seeded instance served by ``mutualab serve``; yields (base URL, admin token)."""
    assert mutualab(fresh_database_url, "db", "upgrade").returncode == 0
    assert mutualab(fresh_database_url, "seed-demo").returncode == 0
    created = mutualab(fresh_database_url, "create-admin", "--email", "root@example.fr")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    port = free_port()
    env = {**os.environ, "MUTUALAB_DATABASE_URL": fresh_database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "mutualab", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer /health within 30 s")
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_help_lists_every_command() -> None:
    result = mutualab("sqlite+aiosqlite:///unused.sqlite3", "--help")
    assert result.returncode == 0
    for command in ("serve", "demo", "db", "create-admin", "seed-demo"):
        assert command in result.stdout
    db_help = mutualab("sqlite+aiosqlite:///unused.sqlite3", "db", "--help").stdout
    assert "upgrade" in db_help and "downgrade" in db_help
    serve_help = mutualab("sqlite+aiosqlite:///unused.sqlite3", "serve", "--help").stdout
    assert "--host" in serve_help and "--port" in serve_help


def test_migrate_seed_and_downgrade(fresh_database_url: str) -> None:
    assert mutualab(fresh_database_url, "db", "upgrade").returncode == 0
    first = mutualab(fresh_database_url, "seed-demo")
    assert first.returncode == 0, first.stderr
    assert "fablab-tregor-lannion" in first.stdout
    assert "camille@demo.mutualab.example" in first.stdout  # demo people, password shown once
    again = mutualab(fresh_database_url, "seed-demo")
    assert "already loaded" in again.stdout
    down = mutualab(fresh_database_url, "db", "downgrade", "base")
    assert down.returncode == 0, down.stderr


def test_served_instance(served: tuple[str, str]) -> None:
    base, token = served
    assert token.startswith("mla_")
    places = httpx.get(f"{base}/api/places", timeout=5).json()
    assert {p["town"] for p in places["items"]} == {"Lannion", "Metz"}
    for place in places["items"]:
        assert set(place["resource_kinds"]) == {
            "machine",
            "network_access",
            "software_seats",
            "space",
        }
    detail = httpx.get(f"{base}/api/places/{places['items'][0]['id']}", timeout=5).json()
    assert any(r["capacity"] == 12 for r in detail["resources"])
    assert detail["opening_hours"]
    assert httpx.get(f"{base}/schema", timeout=5).status_code == 200
    export = httpx.get(f"{base}/api/opendata/lieux.csv", timeout=5)
    assert export.status_code == 200
    assert export.text.count("\r\n") == 3  # header and the two demo places
    refused = httpx.patch(f"{base}/api/places/1", json={"name": "x"}, timeout=5)
    assert refused.status_code == 401
    changed = httpx.patch(
        f"{base}/api/places/1",
        json={"name": "Fablab renommé"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert changed.status_code == 200
    assert changed.json()["name"] == "Fablab renommé"
