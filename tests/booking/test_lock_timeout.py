"""A booking waiting on a unit lock gives up after ``lock_timeout``: 503 ``busy``, nothing stored.

Another transaction holds the units of the printer (``SELECT ... FOR UPDATE`` on a connection
of its own, kept open); a booking of the printer through an application whose writers wait
at most 200 ms is answered 503 ``busy`` with a ``Retry-After`` header instead of waiting, and
leaves nothing behind. Once the lock is released, the same booking succeeds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from kernel.db import Database
from kernel.settings import Settings
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, booking_client, make_fablab, paris

LOCK_TIMEOUT_MS = 200


@pytest.fixture
def clock() -> MutableClock:
    """Now is Monday 1 March 2027, 09:00 in Paris."""
    return MutableClock()


@pytest.fixture
async def lab(
    settings: Settings, database: Database, clock: MutableClock, admin_headers: dict[str, str]
) -> Fablab:
    """A furnished fablab, set up through the ordinary application."""
    async with booking_client(settings, database, clock) as http:
        return await make_fablab(http, admin_headers)


@pytest.fixture
async def impatient(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The application on engines whose writers wait at most LOCK_TIMEOUT_MS for a lock."""
    short = settings.model_copy(update={"database_lock_timeout_ms": LOCK_TIMEOUT_MS})
    own = Database.from_settings(short)
    try:
        async with booking_client(short, own, clock) as http:
            yield http
    finally:
        await own.dispose()


async def _bookings(database: Database) -> tuple[int, int]:
    async with database.engine.connect() as conn:
        bookings = (await conn.execute(text("SELECT count(*) FROM booking"))).scalar_one()
        allocations = (
            await conn.execute(text("SELECT count(*) FROM booking_allocation"))
        ).scalar_one()
    return bookings, allocations


async def test_a_held_unit_lock_is_answered_busy_then_the_booking_succeeds(
    impatient: httpx.AsyncClient, lab: Fablab, database: Database
) -> None:
    ada = await make_user(database, "ada@example.org")
    start = paris(2027, 3, 2, 10)
    end = paris(2027, 3, 2, 12)
    async with database.engine.connect() as holder:
        locked = await holder.execute(
            text("SELECT id FROM resource_unit WHERE resource_id = :r FOR UPDATE"),
            {"r": lab.printer},
        )
        assert locked.all(), "the printer has units to lock"

        refused = await book(impatient, ada, lab.printer, start, end)

        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "busy"
        assert refused.headers["retry-after"] == "1"
        assert await _bookings(database) == (0, 0)
        await holder.rollback()  # the other transaction ends: its locks are released

    booked = await book(impatient, ada, lab.printer, start, end)

    assert booked.status_code == 201, booked.text
    assert await _bookings(database) == (1, 1)
