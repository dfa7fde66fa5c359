"""Messages fixtures: the fixed clock, the app on it, a furnished fablab, an empty queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from tests.support.booking import Fablab, MutableClock, booking_client, make_fablab
from tests.support.jobs import empty_queue


@pytest.fixture
def clock() -> MutableClock:
    """Now is Monday 1 March 2027, 09:00 in Paris."""
    return MutableClock()


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty job queue (emptied again afterwards)."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


@pytest.fixture
async def api(
    settings: Settings, queue: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app, on the fixed clock."""
    async with booking_client(settings, queue, clock) as http:
        yield http


@pytest.fixture
async def lab(api: httpx.AsyncClient, admin_headers: dict[str, str]) -> Fablab:
    """A furnished fablab open every day 08:00-20:00."""
    return await make_fablab(api, admin_headers)
