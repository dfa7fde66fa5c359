"""The communes of France in a test database, from the npm packages (``npm ci``)."""

from __future__ import annotations

import asyncio
import os

import pytest

from kernel.db import Database
from kernel.settings import Settings
from mutualab.geo import SOURCES, load_communes

# Fewer would mean the packages' data is not what resources.commune_data reads.
MIN_COMMUNES = 34_000


async def _load(database_url: str) -> int:
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        return (await load_communes(database)).count
    finally:
        await database.dispose()


MISSING = (
    f"Tests of the search around a town without a place SKIPPED: {SOURCES.node_modules} lacks "
    "the commune packages (npm ci, or make web-assets, needs npm)."
)


def required() -> None:
    """Skip a test that needs the communes when their npm packages are not installed (a machine
    with Python and make only, as the README allows); with ``CI=true`` that is a failure."""
    if SOURCES.installed():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{MISSING} CI=true requires them.", pytrace=False)
    pytest.skip(MISSING)


def load_into(database_url: str) -> None:
    """Fill the commune table of a freshly migrated database (a second or two, once a run);
    without the packages it stays empty (the tests that need it call :func:`required`)."""
    if not SOURCES.installed():
        return
    count = asyncio.run(_load(database_url))
    assert count >= MIN_COMMUNES, f"only {count} communes loaded"
