"""Waitlist test helpers: the slot everyone wants, joining it, reading entries, and running the
shell's real workers until the queue is worked off."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
from sqlalchemy import text

from booking.waitlist import WaitlistEntry
from kernel.db import Database
from kernel.events import EVENT_JOB
from mutualab.background import job_registry
from mutualab.composition import Runtime
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, book, iso, paris
from tests.support.jobs import eventually, workers

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
NEVER = "0 0 1 1 *"  # the periodic tasks stay out of the way: the tests run them themselves


def database_url(database: Database) -> str:
    """The address workers connect to."""
    return database.engine.url.render_as_string(hide_password=False)


async def dispatched(
    runtime: Runtime, heard: list[dict[str, Any]] | None = None, count: int = 1
) -> None:
    """Run the shell's workers until every queued event has been handled (each event's
    payload kept in ``heard``)."""
    registry = job_registry(runtime, every_minute=NEVER, nightly=NEVER)
    dispatch = registry.jobs[EVENT_JOB]

    async def recording(payload: dict[str, Any]) -> None:
        await dispatch.handler(payload)
        if heard is not None:
            heard.append(payload)

    registry.jobs[EVENT_JOB] = replace(dispatch, handler=recording)
    async with workers(database_url(runtime.database), registry, count):
        await eventually(lambda: no_event_pending(runtime.database), "the events were handled")


async def no_event_pending(database: Database) -> bool:
    """Whether no event waits or is being handled (other jobs, such as e-mails that the tests'
    unconfigured mailer keeps retrying later, are not waited for)."""
    async with database.read_engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT count(*) FROM jobs.pgqueuer WHERE entrypoint = :name "
                "AND status IN ('queued', 'picked')"
            ),
            {"name": EVENT_JOB},
        )
        return int(result.scalar_one()) == 0


async def join(
    api: httpx.AsyncClient, person: Person, resource_id: int, **extra: Any
) -> httpx.Response:
    """``person`` joins the waitlist of ``resource_id`` on Tuesday 14:00-15:00."""
    body = {
        "resource_id": resource_id,
        "starts_at": iso(TUESDAY_2PM),
        "ends_at": iso(TUESDAY_3PM),
        **extra,
    }
    return await api.post("/api/waitlist", json=body, headers=person.headers)


async def entry(database: Database, entry_id: int) -> WaitlistEntry:
    """An entry as stored."""
    async with database.writer() as session:
        entry = await session.get(WaitlistEntry, entry_id)
        assert entry is not None
        return entry


async def booking_status(api: httpx.AsyncClient, person: Person, booking_id: int) -> str:
    """A booking's status, as ``person`` reads it."""
    response = await api.get(f"/api/bookings/{booking_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def full_printer(api: httpx.AsyncClient, lab: Fablab, database: Database) -> int:
    """Bob books the printer on Tuesday 14:00-15:00; his booking's id."""
    bob = await make_user(database, "bob@example.org")
    booked = await book(api, bob, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert booked.status_code == 201, booked.text
    booking_id: int = booked.json()["id"]
    return booking_id
