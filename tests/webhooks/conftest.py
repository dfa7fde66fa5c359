"""Webhook fixtures: the app allowing loopback http receivers, a fablab and its manager, an
empty queue, a receiver, and the jobs of webhooks with short retry waits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from mutualab.composition import Runtime
from tests.support.accounts import Person, make_user
from tests.support.apps import runtime_on
from tests.support.booking import Fablab, MutableClock, booking_client, make_fablab
from tests.support.jobs import empty_queue
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture
def clock() -> MutableClock:
    """Now is Monday 1 March 2027, 09:00 in Paris (bookings); deliveries keep wall-clock time."""
    return MutableClock()


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """The test settings, with http://127.0.0.1 receivers allowed."""
    return settings.model_copy(update={"webhooks_allow_http_loopback": True})


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


@pytest.fixture
async def api(
    hook_settings: Settings, queue: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the fixed clock."""
    async with booking_client(hook_settings, queue, clock) as http:
        yield http


@pytest.fixture
async def lab(api: httpx.AsyncClient, admin_headers: dict[str, str]) -> Fablab:
    """A furnished fablab open every day 08:00-20:00."""
    return await make_fablab(api, admin_headers)


@pytest.fixture
async def manager(queue: Database, lab: Fablab) -> Person:
    """The fablab's manager."""
    return await make_user(queue, "manager@example.org", manages=(lab.place_id,))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver answering 204 to everything."""
    async with receiving() as found:
        yield found


@pytest.fixture
async def runtime(queue: Database, clock: MutableClock) -> AsyncIterator[Runtime]:
    """The composition root's runtime on the test database (what the workers read with)."""
    async with runtime_on(queue, clock) as built:
        yield built
