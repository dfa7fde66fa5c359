"""Programme test helpers: publish a session, register, run the minimum-attendance job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from kernel.db import Database
from programme.minimum import cancel_below_minimum
from tests.support.accounts import Person
from tests.support.apps import runtime_on
from tests.support.booking import MutableClock, iso


def session_body(
    start: datetime, end: datetime, *, resources: tuple[int, ...] = (), **extra: Any
) -> dict[str, Any]:
    """A workshop on one date, occupying ``resources`` (one unit each)."""
    return {
        "title": "Atelier découpe laser",
        "kind": "workshop",
        "dates": [{"starts_at": iso(start), "ends_at": iso(end)}],
        "seats": 12,
        "resources": [{"resource_id": r, "quantity": 1} for r in resources],
        **extra,
    }


async def publish(
    api: httpx.AsyncClient, manager: Person, place_id: int, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """Publish as ``manager``; the sessions made."""
    response = await api.post(
        f"/api/places/{place_id}/sessions", json=body, headers=manager.headers
    )
    assert response.status_code == 201, response.text
    made: list[dict[str, Any]] = response.json()
    return made


async def register(
    api: httpx.AsyncClient, person: Person, session_id: int, **body: Any
) -> httpx.Response:
    """POST a registration as ``person``."""
    return await api.post(
        f"/api/sessions/{session_id}/registrations", json=body, headers=person.headers
    )


async def run_minimum_job(database: Database, clock: MutableClock) -> int:
    """One run of the periodic task programme.cancel_below_minimum, as a worker runs it."""
    async with runtime_on(database, clock) as runtime:
        return await cancel_below_minimum(database, runtime.programme)
