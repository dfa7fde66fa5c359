"""Browser tests: Debian's Chromium, driven by Playwright, against the real server.

Run them in their own pytest invocation (``make test`` does): ``pytest tests/browser -p
no:asyncio``. A migrated PostgreSQL database is seeded and ``uvicorn`` serves the app from a
subprocess on 127.0.0.1 and a free port, like production. Pages are checked with axe-core (from
npm, ``npm ci``) at 360 and 1280 px, and photographed at both widths into
``tests/artifacts/browser/`` when ``MUTUALAB_SCREENSHOTS=1``.

Without Chromium or axe-core these tests are skipped with a loud notice, except
when ``CI=true``: there a missing tool is a failure.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from kernel.db import Database
from kernel.settings import Settings
from mutualab import migrate
from tests.browser.support import (
    AXE,
    CHROMIUM_ARGS,
    NOTES,
    ROOT,
    LiveServer,
    PageChecker,
    chromium_path,
)
from tests.support import communes
from tests.support.accounts import TEST_PASSWORD_HASHING
from tests.support.mailbox import TEST_SECRET_KEY
from tests.support.net import free_port
from tests.support.postgres import PostgresServer
from tests.web.seed import Town, seed_town

IN_CI = os.environ.get("CI", "").lower() == "true"
_notices: list[str] = []


def _missing_tools() -> list[str]:
    missing = []
    if chromium_path() is None:
        missing.append("Chromium (apt-get install chromium)")
    if not AXE.exists():
        missing.append("axe-core (npm ci)")
    return missing


def _skip_loudly(message: str) -> None:
    if message not in _notices:
        _notices.append(message)
    pytest.skip(message)


def _skip_or_fail(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} CI=true requires them.", pytrace=False)
    _skip_loudly(message)


@pytest.fixture(scope="session")
def browser(server: LiveServer) -> Iterator[Browser]:
    """A headless Chromium, once the server of its database runs.

    Playwright's sync API keeps an event loop running while a browser is open, and the
    databases are migrated and seeded with asyncio: so a server is set up first, and its
    browser is closed before the next database is prepared.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


async def _seed(database_url: str) -> Town:
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        return await seed_town(database, datetime.now(UTC))
    finally:
        await database.dispose()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server stopped:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the server did not answer in 60 s:\n{log.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
) -> Iterator[LiveServer]:
    """A migrated, seeded database, served by uvicorn in a subprocess."""
    if request.config.pluginmanager.hasplugin("asyncio"):
        # Playwright's event loop would break the asyncio tests that run after these.
        _skip_loudly(
            "Browser tests SKIPPED in this run: they run on their own, with "
            "`make browser-tests` (pytest tests/browser -p no:asyncio)."
        )
    missing = _missing_tools()
    if missing:
        _skip_or_fail("Browser tests SKIPPED: missing " + ", ".join(missing) + ".")
    backend = "postgresql"
    work = tmp_path_factory.mktemp("server")
    database_url = postgres_server.create_database("mutualab_browser")
    migrate.upgrade(database_url)
    communes.load_into(database_url)
    town = asyncio.run(_seed(database_url))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MUTUALAB_DATABASE_URL": database_url,
        "MUTUALAB_DATABASE_POOL_SIZE": "4",
        "MUTUALAB_PUBLIC_BASE_URL": url,
        "MUTUALAB_PHOTOS_DIR": str(work / "photos"),
        # The tests' key: they read the sealed links of the outbox (tests.support.mailbox).
        "MUTUALAB_SECRET_KEY": TEST_SECRET_KEY,
        # The seeds' cheap argon2 cost, as in the suite's apps: with the production cost every
        # log-in and sign-up of a journey hashed for 170 ms (the first log-in of a seeded
        # person twice, verifying then rehashing).
        **{f"MUTUALAB_{name.upper()}": str(value) for name, value in TEST_PASSWORD_HASHING.items()},
    }
    log = work / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "mutualab.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        yield LiveServer(backend=backend, url=url, town=town, database_url=database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
    assert errors == [], f"the server logged errors:\n{log.read_text()[-3000:]}"


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A fresh browser tab (no cookies), French, desktop-sized, on the live server."""
    context = browser.new_context(
        base_url=server.url,
        locale="fr-FR",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def check_page_by_backend() -> dict[str, PageChecker]:
    """One checker per database run (screenshots go to a folder per database)."""
    return {}


@pytest.fixture
def check_page(server: LiveServer, check_page_by_backend: dict[str, PageChecker]) -> PageChecker:
    """Check and photograph the page a test is on: ``check_page(page, "home")``."""
    if server.backend not in check_page_by_backend:
        check_page_by_backend[server.backend] = PageChecker(server.backend)
    return check_page_by_backend[server.backend]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly, at the end, that the browser tests did not run."""
    for message in _notices:
        terminalreporter.write_sep("!", message, red=True, bold=True)
    if NOTES:
        terminalreporter.write_sep("-", "axe-core: lesser findings (not failures)")
        for note in sorted(NOTES):
            terminalreporter.write_line(note)
