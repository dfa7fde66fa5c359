"""Booking test helpers: a fixed, advanceable clock, an app using it, a furnished fablab.

Every booking test runs "now" = Monday 1 March 2027, 09:00 in Paris, whatever the wall clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from litestar import Litestar
from sqlalchemy import update

from accounts.models import Certification, Training
from kernel.db import Database
from kernel.settings import Settings
from resources.models import Resource
from tests.factories import make_place, make_resource
from tests.support.accounts import Person
from tests.support.apps import leased_app

PARIS = ZoneInfo("Europe/Paris")
FIXED_NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # Monday 1 March 2027, 09:00 in Paris


class MutableClock:
    """A clock tests set and advance instead of sleeping."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. ``advance(minutes=16)``."""
        self.now += timedelta(**delta)


@asynccontextmanager
async def served_app(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[tuple[httpx.AsyncClient, Litestar]]:
    """An HTTP client on the app, on a runtime bound to the test database and ``clock``, and
    the app (its state holds what the worker keeps: catalogue copies, slots, findings)."""
    async with leased_app(settings, database, clock) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http, app


@asynccontextmanager
async def booking_client(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, on a runtime bound to the test database and ``clock``."""
    async with served_app(settings, database, clock) as (http, _):
        yield http


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Paris wall-clock time (first occurrence when ambiguous)."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def iso(moment: datetime) -> str:
    """An instant as the API expects it."""
    return moment.isoformat()


def utc_text(moment: datetime) -> str:
    """An instant as the API returns it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def open_every_day(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    place_id: int,
    opens: str = "08:00",
    closes: str = "20:00",
) -> None:
    """Open a place every day of the week."""
    spans = [{"weekday": day, "opens": opens, "closes": closes} for day in range(7)]
    response = await client.put(
        f"/api/places/{place_id}/opening-hours", json={"spans": spans}, headers=admin_headers
    )
    assert response.status_code == 200, response.text


@dataclass(frozen=True)
class Fablab:
    """A place open 08:00-20:00 every day with a printer, a laser cutter, 12 seats and a room."""

    place_id: int
    printer: int
    laser: int
    seats: int
    room: int


async def make_fablab(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    *,
    slug: str = "fablab-lannion",
    town: str = "Lannion",
    postcode: str = "22300",
    **place_fields: Any,
) -> Fablab:
    """Create a furnished place through the API (``place_fields``: more of its details)."""
    place = await make_place(
        client, admin_headers, slug=slug, town=town, postcode=postcode, **place_fields
    )
    await open_every_day(client, admin_headers, place["id"])
    printer = await make_resource(client, admin_headers, place["id"], name="Imprimante 3D")
    laser = await make_resource(
        client,
        admin_headers,
        place["id"],
        name="Découpeuse laser",
        buffer_minutes=15,
        min_minutes=60,
        max_minutes=180,
    )
    seats = await make_resource(
        client,
        admin_headers,
        place["id"],
        name="Poste CAO",
        kind="software_seats",
        capacity=12,
        slot_minutes=60,
        min_minutes=60,
    )
    room = await make_resource(
        client, admin_headers, place["id"], name="Salle de cours", kind="space"
    )
    return Fablab(place["id"], printer["id"], laser["id"], seats["id"], room["id"])


def booking_body(
    items: list[tuple[int, int]] | int,
    start: datetime,
    end: datetime,
    **extra: Any,
) -> dict[str, Any]:
    """A booking request: one resource id (quantity 1) or (resource_id, quantity) pairs."""
    pairs = [(items, 1)] if isinstance(items, int) else items
    return {
        "items": [{"resource_id": r, "quantity": q} for r, q in pairs],
        "starts_at": iso(start),
        "ends_at": iso(end),
        **extra,
    }


async def book(
    client: httpx.AsyncClient,
    person: Person,
    items: list[tuple[int, int]] | int,
    start: datetime,
    end: datetime,
    **extra: Any,
) -> httpx.Response:
    """POST /api/bookings as ``person``."""
    return await client.post(
        "/api/bookings", json=booking_body(items, start, end, **extra), headers=person.headers
    )


async def add_blackout(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    resource_id: int,
    start: datetime,
    end: datetime,
    reason: str | None = None,
) -> httpx.Response:
    """POST a blackout of a resource over [start, end) (``reason`` sent only when given)."""
    body: dict[str, Any] = {"starts_at": start.isoformat(), "ends_at": end.isoformat()}
    if reason is not None:
        body["reason"] = reason
    return await client.post(f"/api/resources/{resource_id}/blackouts", json=body, headers=headers)


async def set_resource(database: Database, resource_id: int, **columns: Any) -> None:
    """Set catalogue columns the API does not expose yet (training, approval)."""
    async with database.writer() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            update(Resource).where(Resource.id == resource_id).values(**columns)  # type: ignore[arg-type]
        )


async def make_training(database: Database, place_id: int, name: str = "Sécurité laser") -> int:
    """Create a training and return its id."""
    async with database.writer() as session, session.begin():
        training = Training(place_id=place_id, name=name)
        session.add(training)
        await session.flush()
        assert training.id is not None
        return training.id


async def certify(
    database: Database,
    user_id: int,
    training_id: int,
    granted_on: date = date(2027, 1, 10),
    expires_on: date | None = None,
) -> None:
    """Record that a user completed a training."""
    async with database.writer() as session, session.begin():
        session.add(
            Certification(
                user_id=user_id,
                training_id=training_id,
                granted_on=granted_on,
                expires_on=expires_on,
            )
        )


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Paris wall-clock time on ``day``."""
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)
