"""Booking fixtures: a fixed clock, the app on it, and a furnished fablab.

Modules that need another "now" or another lab override ``clock`` or ``lab``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from tests.support.booking import Fablab, MutableClock, booking_client, make_fablab


@pytest.fixture
def clock() -> MutableClock:
    """Now is Monday 1 March 2027, 09:00 in Paris."""
    return MutableClock()


@pytest.fixture
async def api(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app, on the fixed clock (one app, so one catalogue cache, for the whole test)."""
    async with booking_client(settings, database, clock) as http:
        yield http


@pytest.fixture
async def lab(api: httpx.AsyncClient, admin_headers: dict[str, str]) -> Fablab:
    """A furnished fablab open every day 08:00-20:00."""
    return await make_fablab(api, admin_headers)
