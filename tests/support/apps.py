"""Apps for the tests, built once per session and run on each test's own runtime.

Building the Litestar app costs about half a second (routes, DI, OpenAPI), and only
:class:`~kernel.settings.Settings` shape it (the session and CSRF middleware read them). So an
app is built once per distinct settings and kept; a test leases one and installs on its
``state`` a runtime the composition root builds for that test (its database, clock, card
gateway, a fresh catalogue snapshot cache and availability memo). Two apps leased at once in
one test are distinct apps, so each keeps its own runtime.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from pydantic import SecretBytes, SecretStr

from kernel.clock import Clock, system_clock
from kernel.db import Database
from kernel.settings import Settings
from mutualab.app import create_app
from mutualab.composition import Runtime, build_runtime

_free: dict[str, list[Litestar]] = {}


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return repr(value.get_secret_value())
    return repr(value)


def settings_key(settings: Settings) -> str:
    """Every setting, secrets included: apps are shared only by identical settings."""
    return json.dumps(settings.model_dump(), default=_reveal, sort_keys=True)


@asynccontextmanager
async def leased_app(
    settings: Settings, database: Database, clock: Clock = system_clock
) -> AsyncIterator[Litestar]:
    """An app for ``settings`` on a new runtime (``database``, ``clock``), closed afterwards."""
    runtime = build_runtime(settings, database, clock)
    key = settings_key(settings)
    free = _free.setdefault(key, [])
    app = free.pop() if free else create_app(runtime=runtime)
    runtime.install(app.state)
    try:
        yield app
    finally:
        _retire(app)
        free.append(app)
        await runtime.close()


def _retire(app: Litestar) -> None:
    """Take the test's runtime off the app: nothing of it may reach the next test."""
    for name in (
        "runtime",
        "database",
        "clock",
        "booking",
        "billing",
        "catalogue_snapshots",
        "credentials",
    ):
        app.state.pop(name, None)


@asynccontextmanager
async def runtime_on(database: Database, clock: Clock = system_clock) -> AsyncIterator[Runtime]:
    """The composition root's runtime on a test's database and clock, for work done without
    the app (seeding bookings, calling a service directly); no card gateway."""
    runtime = build_runtime(
        Settings(_env_file=None, stripe_secret_key=None),  # type: ignore[call-arg]
        database,
        clock,
    )
    try:
        yield runtime
    finally:
        await runtime.close()


def route_table_app() -> Litestar:
    """An app built for its route table only: it never connects to its database address."""
    unused = "postgresql+asyncpg://nobody@127.0.0.1:9/unused"
    return create_app(Settings(database_url=unused, secret_key="k" * 40))
