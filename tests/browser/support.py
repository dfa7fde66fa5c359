"""What the browser tests share: where the tools are, the live server, the page checker."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Page

from kernel.db import Database
from kernel.settings import Settings
from tests.support.mailbox import link_in, messages_to, path_of
from tests.web.seed import Town

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = (360, 1280)
# Every checked page photographed at each width, for people reviewing the pages: about a sixth
# of the browser tests' time, and nothing a test asserts, so only on demand.
SCREENSHOTS = os.environ.get("MUTUALAB_SCREENSHOTS", "") not in ("", "0")
BLOCKING_IMPACTS = ("serious", "critical")
# Lesser axe findings (moderate, minor): reported at the end of the run, not failures.
NOTES: set[str] = set()


def chromium_path() -> str | None:
    """Debian's Chromium (or ``MUTUALAB_CHROMIUM``), if installed."""
    configured = os.environ.get("MUTUALAB_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass(frozen=True)
class LiveServer:
    """The app served by uvicorn, with what was seeded in its database."""

    backend: str
    url: str
    town: Town
    # Tests that seed their own data (in a thread: Playwright's loop runs in this one).
    database_url: str = ""


class PageChecker:
    """Runs axe-core on every page a journey visits (and photographs it, with
    ``MUTUALAB_SCREENSHOTS=1``)."""

    def __init__(self, backend: str) -> None:
        self.folder = ARTIFACTS / backend
        self.folder.mkdir(parents=True, exist_ok=True)
        self.source = AXE.read_text(encoding="utf-8")
        self.seen: list[str] = []

    def __call__(self, page: Page, name: str) -> None:
        """Check the current page at each width: accessibility, layout (and a screenshot)."""
        # A document committed but not yet parsed has no documentElement yet.
        page.wait_for_load_state("load")
        original = page.viewport_size or {"width": 1280, "height": 900}
        problems: list[str] = []
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{name} at {width} px scrolls sideways by {overflow} px")
            if SCREENSHOTS:
                page.screenshot(path=str(self.folder / f"{name}-{width}.png"), full_page=True)
            problems += [f"{name} at {width} px: {v}" for v in self._axe(page)]
        page.set_viewport_size(original)
        self.seen.append(name)
        assert problems == [], "\n".join(problems)

    def _axe(self, page: Page) -> list[str]:
        # Evaluated through the DevTools protocol, so the pages' CSP (no script) stays on.
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(self.source)
        results: dict[str, Any] = page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        found = []
        for violation in results["violations"]:
            if violation["impact"] not in BLOCKING_IMPACTS:
                NOTES.add(f"{violation['impact']} {violation['id']}: {violation['help']}")
                continue
            targets = [json.dumps(n["target"]) for n in violation["nodes"][:3]]
            found.append(f"{violation['impact']} {violation['id']}: {violation['help']} {targets}")
        return found


def on_served_database(server: LiveServer, work: Callable[[Database], Awaitable[T]]) -> T:
    """``work`` done on the served database, in a thread (Playwright's event loop runs in this
    one), its connections closed afterwards."""

    async def run() -> T:
        database = Database.from_settings(
            Settings(database_url=server.database_url, database_pool_size=2)
        )
        try:
            return await work(database)
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def mailed_link(server: LiveServer, to: str, template: str, path: str) -> str:
    """The latest link to ``path`` mailed to ``to`` (read from the served database's outbox),
    as a path on the server."""

    async def read(database: Database) -> str:
        found = await messages_to(database, to, template)
        assert found, f"nothing mailed to {to} with {template}"
        return path_of(link_in(found[-1], path))

    return on_served_database(server, read)
