"""The communes of France in a test database, from the npm packages (``npm ci``)."""

from __future__ import annotations

import asyncio

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


def load_into(database_url: str) -> None:
    """Fill the commune table of a freshly migrated database (a second or two, once a run)."""
    if not SOURCES.installed():
        pytest.fail(
            f"{SOURCES.node_modules} lacks the commune packages: run `npm ci` (make web-assets).",
            pytrace=False,
        )
    count = asyncio.run(_load(database_url))
    assert count >= MIN_COMMUNES, f"only {count} communes loaded"
