"""The command line, run as a real process, and a real served instance; the embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory

from kernel.settings import Settings
from mutualab.cli import demo_environment
from mutualab.demo_programme import OCCUPYING_SESSIONS
from mutualab.geo import SOURCES
from mutualab.migrate import alembic_config
from tests.support.jobs import periodic_task_names
from tests.support.net import free_port
from tests.support.postgres import PostgresServer
from tests.support.sql import connect


@pytest.fixture
def fresh_database_url(postgres_server: PostgresServer) -> str:
    """An empty database."""
    return postgres_server.create_database("mutualab_cli")


# The instance's key, for the commands that need one configured (workers on a server).
SECRET_KEY = "cli-test-secret-key-not-used-anywhere-else-0123456789"


def _environment(database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "MUTUALAB_ADMIN_PASSWORD": "admin-passphrase-for-tests-91"}
    env.pop("MUTUALAB_DATABASE_URL", None)
    env.pop("MUTUALAB_SECRET_KEY", None)
    if database_url is not None:
        env["MUTUALAB_DATABASE_URL"] = database_url
    return env


def mutualab(
    database_url: str | None, *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mutualab ARGS`` with the given database (None: the embedded one)."""
    return subprocess.run(
        [sys.executable, "-m", "mutualab", *args],
        env=_environment(database_url),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("the server did not answer /health within 60 s")


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
        _wait_healthy(base)
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_help_lists_every_command() -> None:
    result = mutualab(None, "--help")
    assert result.returncode == 0
    for command in (
        "serve",
        "demo",
        "worker",
        "db",
        "geo",
        "create-admin",
        "seed-demo",
        "idempotency",
    ):
        assert command in result.stdout
    db_help = mutualab(None, "db", "--help").stdout
    for command in ("upgrade", "downgrade", "backup", "restore"):
        assert command in db_help
    serve_help = mutualab(None, "serve", "--help").stdout
    assert "--host" in serve_help and "--port" in serve_help


def test_the_command_line_loads_the_app_only_for_the_commands_that_run_it() -> None:
    # `mutualab --help`, a refused option or a small task need not import the whole app.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, mutualab.cli; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for heavy in ("'litestar'", "'mutualab.app'", "'billing.models'", "'uvicorn'"):
        assert heavy not in loaded


def _bookings(url: str) -> int:
    async def count() -> int:
        connection = await connect(url)
        try:
            return int(await connection.fetchval("SELECT count(*) FROM booking"))
        finally:
            await connection.close()

    return asyncio.run(count())


def _revision(url: str) -> str:
    async def read() -> str:
        connection = await connect(url)
        try:
            return str(await connection.fetchval("SELECT version_num FROM alembic_version"))
        finally:
            await connection.close()

    return asyncio.run(read())


def test_migrate_seed_and_downgrade(fresh_database_url: str) -> None:
    upgraded = mutualab(fresh_database_url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    # The communes come with the schema, once: a second load finds them up to date. Without
    # their npm packages (no npm on the machine) the upgrade says so and goes on.
    loaded = mutualab(fresh_database_url, "geo", "load-communes")
    if SOURCES.installed():
        assert "Communes loaded: 3" in upgraded.stdout
        assert loaded.returncode == 0 and "Communes up to date" in loaded.stdout
    else:
        assert "Communes not loaded" in upgraded.stdout
        assert loaded.returncode == 0 and "Communes not loaded" in loaded.stdout
    first = mutualab(fresh_database_url, "seed-demo")
    assert first.returncode == 0, first.stderr
    assert "fablab-tregor-lannion" in first.stdout
    assert "camille@demo.mutualab.example" in first.stdout  # demo people, password shown once
    assert "admin@demo.mutualab.example" in first.stdout  # reads the demo's e-mails
    # The demo's activity at both places: 14 to come, 18 a place over the past three months,
    # and each place's own bookings of the machines its programme's sessions occupy.
    assert _bookings(fresh_database_url) == 14 + 2 * 18 + 2 * OCCUPYING_SESSIONS
    again = mutualab(fresh_database_url, "seed-demo")
    assert "already loaded" in again.stdout
    assert "password" not in again.stdout
    assert _bookings(fresh_database_url) == 14 + 2 * 18 + 2 * OCCUPYING_SESSIONS  # loaded once
    reset = mutualab(fresh_database_url, "seed-demo", "--reset-passwords")
    assert reset.returncode == 0, reset.stderr
    assert "password for all" in reset.stdout and "camille@demo.mutualab.example" in reset.stdout
    purged = mutualab(fresh_database_url, "idempotency", "purge")
    assert purged.returncode == 0, purged.stderr
    assert "0 idempotency record(s)" in purged.stdout
    grouped = mutualab(fresh_database_url, "invoices", "issue-grouped")
    assert grouped.returncode == 0, grouped.stderr
    assert grouped.stdout.strip() == "0 grouped invoice(s) issued."
    # The demo has invoiced memberships, packs and tickets, which no older schema can hold and
    # invoices are never deleted: the downgrade is refused whole, the database left at its head
    # (an empty database goes down and up again: tests/test_migrations.py).
    down = mutualab(fresh_database_url, "db", "downgrade", "base")
    assert down.returncode == 1, down.stdout
    assert "nothing was changed" in down.stderr and "Traceback" not in down.stderr
    head = ScriptDirectory.from_config(alembic_config(fresh_database_url)).get_current_head()
    assert _revision(fresh_database_url) == head
    assert _bookings(fresh_database_url) == 14 + 2 * 18 + 2 * OCCUPYING_SESSIONS


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


def _server_running(data_dir: Path) -> bool:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_embedded_database_without_any_configuration(tmp_path: Path) -> None:
    """No MUTUALAB_DATABASE_URL: the commands start the embedded PostgreSQL in var/pgdata,
    stop it when they exit, reuse its data the next time, share it while one of them serves,
    and back it up and restore it."""
    data_dir = tmp_path / "var" / "pgdata"
    upgraded = mutualab(None, "db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "embedded PostgreSQL" in upgraded.stdout
    assert (data_dir / "PG_VERSION").exists()
    assert not _server_running(data_dir)  # stopped with the command

    seeded = mutualab(None, "seed-demo", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "fablab-tregor-lannion" in seeded.stdout
    backup = tmp_path / "before-rename.dump"
    saved = mutualab(None, "db", "backup", str(backup), cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    assert backup.stat().st_size > 0

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mutualab", "serve", "--port", str(port)],
        env=_environment(None),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        # A second command on the same data joins the running server instead of starting one.
        again = mutualab(None, "seed-demo", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert "already loaded" in again.stdout
        places = httpx.get(f"{base}/api/places", timeout=5).json()["items"]
        assert {p["town"] for p in places} == {"Lannion", "Metz"}  # the data was kept
        assert _server_running(data_dir)  # the second command left it to the first
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not _server_running(data_dir)

    restored = mutualab(None, "db", "restore", "--yes", str(backup), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert "already loaded" in mutualab(None, "seed-demo", cwd=tmp_path).stdout


def test_several_workers_need_a_configured_secret_key(tmp_path: Path) -> None:
    refused = mutualab(None, "serve", "--workers", "2", cwd=tmp_path)
    assert refused.returncode == 2
    assert "MUTUALAB_SECRET_KEY" in refused.stderr
    assert not (tmp_path / "var").exists()  # refused before anything was started


def test_a_worker_on_a_database_server_needs_the_configured_secret_key(
    tmp_path: Path, fresh_database_url: str
) -> None:
    # Its own var/secret.key would differ from the web process's: webhook secrets unreadable,
    # mailed and unsubscribe links refused.
    refused = mutualab(fresh_database_url, "worker", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert "MUTUALAB_SECRET_KEY" in refused.stderr
    assert not (tmp_path / "var").exists()  # refused before any key file was made


def test_create_admin_refuses_a_weak_password(tmp_path: Path) -> None:
    weak = mutualab(
        None, "create-admin", "--email", "root@example.fr", "--password", "password1", cwd=tmp_path
    )
    assert weak.returncode == 2
    assert "--password" in weak.stderr and "characters" in weak.stderr
    guessable = mutualab(
        None,
        "create-admin",
        "--email",
        "root@example.fr",
        "--password",
        "root@example.fr1",
        cwd=tmp_path,
    )
    assert guessable.returncode == 2
    assert "too easy to guess" in guessable.stderr
    assert not (tmp_path / "var").exists()


def test_the_access_log_keeps_no_feed_token_nor_query_string(
    fresh_database_url: str, tmp_path: Path
) -> None:
    assert mutualab(fresh_database_url, "db", "upgrade").returncode == 0
    created = mutualab(fresh_database_url, "create-admin", "--email", "root@example.fr")
    admin = {"Authorization": f"Bearer {created.stdout.strip()}"}
    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "MUTUALAB_DATABASE_URL": fresh_database_url}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "mutualab", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        feed = httpx.post(f"{base}/api/me/calendar-feed", headers=admin, timeout=5).json()
        path = "/" + feed["url"].split("/", 3)[3]
        token = path.split("/")[3]
        assert httpx.get(f"{base}{path}?from=2027-01-01", timeout=5).status_code == 200
        users = httpx.get(f"{base}/api/users?email=lea.martin@example.fr", headers=admin, timeout=5)
        assert users.status_code == 404  # nobody uses it
    finally:
        process.terminate()
        process.wait(timeout=15)
    written = log.read_text()
    assert '"GET /calendar/feeds/[token]/bookings.ics?[redacted] HTTP/1.1" 200' in written
    assert '"GET /api/users?[redacted] HTTP/1.1" 404' in written
    assert token not in written
    assert "lea.martin" not in written


def _scheduled_tasks(database_url: str) -> list[str]:
    import asyncio

    from kernel.worker import libpq_dsn

    async def names() -> list[str]:
        connection = await asyncpg.connect(libpq_dsn(database_url))
        try:
            rows = await connection.fetch(
                "SELECT entrypoint FROM jobs.pgqueuer_schedules ORDER BY entrypoint"
            )
        finally:
            await connection.close()
        return [row["entrypoint"] for row in rows]

    return asyncio.run(names())


def test_the_worker_command_schedules_the_periodic_tasks_and_stops_on_sigterm(
    fresh_database_url: str,
) -> None:
    assert mutualab(fresh_database_url, "db", "upgrade").returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "mutualab", "worker"],
        env={**_environment(fresh_database_url), "MUTUALAB_SECRET_KEY": SECRET_KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        expected = asyncio.run(periodic_task_names(Settings(database_url=fresh_database_url)))
        assert "bookings.expire_holds" in expected  # holds expire with no cron
        while _scheduled_tasks(fresh_database_url) != expected:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the worker scheduled nothing within 60 s"
            time.sleep(0.2)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Worker started" in out


def test_the_demo_links_its_e_mails_to_the_address_it_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A demo on another port mails links that open it; a configured address is kept."""
    for name in ("MUTUALAB_PUBLIC_BASE_URL", "MUTUALAB_IN_PROCESS_WORKER"):
        # Set first, so that the test's end restores the variable the demo will set.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    demo_environment("127.0.0.1", 8123)
    assert Settings().public_base_url == "http://127.0.0.1:8123"
    assert Settings().in_process_worker is True
    monkeypatch.delenv("MUTUALAB_PUBLIC_BASE_URL")
    demo_environment("0.0.0.0", 8080)  # noqa: S104 (every interface: open this machine)
    assert Settings().public_base_url == "http://127.0.0.1:8080"
    monkeypatch.delenv("MUTUALAB_PUBLIC_BASE_URL")
    demo_environment("::1", 8080)
    assert Settings().public_base_url == "http://[::1]:8080"
    monkeypatch.setenv("MUTUALAB_PUBLIC_BASE_URL", "https://lab.example.fr")
    demo_environment("127.0.0.1", 8123)
    assert Settings().public_base_url == "https://lab.example.fr"
