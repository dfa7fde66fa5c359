"""Waitlists of full slots: join only when full, offers to the first in line when units free up
(cancellation, lapsed offer, blackout lifted), accept at one click, once per event, and two
freed units racing for two entries; through the API and the shell's real workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billing import maintenance
from booking.waitlist import WaitlistEntry
from booking.waitlist_repository import WaitlistRepository
from kernel.db import Database
from kernel.events import EVENT_JOB
from mutualab.background import job_registry
from mutualab.composition import Runtime
from tests.factories import make_resource
from tests.support.accounts import Person, make_user, stored_hash
from tests.support.apps import runtime_on
from tests.support.booking import Fablab, MutableClock, book, iso, paris
from tests.support.jobs import empty_queue, eventually, queued_count, workers

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
NEVER = "0 0 1 1 *"  # the periodic tasks stay out of the way: the tests run them themselves


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


@pytest.fixture
async def runtime(queue: Database, clock: MutableClock) -> AsyncIterator[Runtime]:
    """The composition root's runtime for the workers, on the test's clock."""
    async with runtime_on(queue, clock) as built:
        yield built


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


async def _dispatched(
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
    async with workers(_url(runtime.database), registry, count):
        await eventually(lambda: _nothing_queued(runtime.database), "the queue was worked off")


async def _nothing_queued(database: Database) -> bool:
    return await queued_count(database, "queued") + await queued_count(database, "picked") == 0


async def _join(
    api: httpx.AsyncClient, person: Person, resource_id: int, **extra: Any
) -> httpx.Response:
    body = {
        "resource_id": resource_id,
        "starts_at": iso(TUESDAY_2PM),
        "ends_at": iso(TUESDAY_3PM),
        **extra,
    }
    return await api.post("/api/waitlist", json=body, headers=person.headers)


async def _entry(database: Database, entry_id: int) -> WaitlistEntry:
    async with database.writer() as session:
        entry = await session.get(WaitlistEntry, entry_id)
        assert entry is not None
        return entry


async def _booking_status(api: httpx.AsyncClient, person: Person, booking_id: int) -> str:
    response = await api.get(f"/api/bookings/{booking_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def _full_printer(api: httpx.AsyncClient, lab: Fablab, database: Database) -> int:
    """Bob books the printer on Tuesday 14:00-15:00; his booking's id."""
    bob = await make_user(database, "bob@example.org")
    booked = await book(api, bob, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert booked.status_code == 201, booked.text
    booking_id: int = booked.json()["id"]
    return booking_id


async def test_a_user_joins_only_a_full_slot_and_once(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    alice = await make_user(queue, "alice@example.org")
    free = await _join(api, alice, lab.printer)
    assert free.status_code == 409, free.text
    assert free.json()["code"] == "slot_available"

    await _full_printer(api, lab, queue)
    joined = await _join(api, alice, lab.printer)
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    assert (entry["status"], entry["position"], entry["quantity"]) == ("waiting", 1, 1)
    assert entry["resource_name"] == "Imprimante 3D"
    again = await _join(api, alice, lab.printer)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == entry["id"]

    mine = await api.get("/api/me/waitlist", headers=alice.headers)
    assert [e["id"] for e in mine.json()] == [entry["id"]]
    left = await api.delete(f"/api/waitlist/{entry['id']}", headers=alice.headers)
    assert left.status_code == 200, left.text
    assert left.json()["status"] == "withdrawn"
    closed = await api.delete(f"/api/waitlist/{entry['id']}", headers=alice.headers)
    assert closed.status_code == 409
    assert closed.json()["code"] == "waitlist_entry_closed"


async def test_a_stranger_cannot_see_or_leave_anothers_entry(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    await _full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    mallory = await make_user(queue, "mallory@example.org")
    entry_id = (await _join(api, alice, lab.printer)).json()["id"]
    for call in (
        api.delete(f"/api/waitlist/{entry_id}", headers=mallory.headers),
        api.post(f"/api/waitlist/{entry_id}/accept", headers=mallory.headers),
    ):
        refused = await call
        assert refused.status_code == 404, refused.text
    assert (await _entry(queue, entry_id)).status == "waiting"


async def test_a_cancellation_offers_the_slot_to_the_first_in_line_who_books_it(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    bob_booking = await _full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    carol = await make_user(queue, "carol@example.org")
    first = (await _join(api, alice, lab.printer)).json()
    clock.advance(minutes=1)
    second = (await _join(api, carol, lab.printer)).json()
    assert (first["position"], second["position"]) == (1, 2)

    cancelled = await api.post(f"/api/bookings/{bob_booking}/cancel", headers=admin_headers)
    assert cancelled.status_code == 200, cancelled.text
    heard: list[dict[str, Any]] = []
    await _dispatched(runtime, heard)

    offered = await _entry(queue, first["id"])
    assert offered.status == "offered"
    assert offered.offer_booking_id is not None
    assert offered.offer_expires_at == clock.now + timedelta(minutes=120)
    assert await _booking_status(api, alice, offered.offer_booking_id) == "held"
    mine = (await api.get("/api/me/waitlist", headers=carol.headers)).json()
    assert [(e["status"], e["position"]) for e in mine] == [("waiting", 1)]
    [published] = [e for e in heard if e["event"] == "waitlist.offered"]
    assert published["data"] == {
        "entry_id": first["id"],
        "booking_id": offered.offer_booking_id,
        "user_id": alice.user_id,
        "place_id": lab.place_id,
        "expires_at": offered.offer_expires_at.isoformat(),
    }

    accepted = await api.post(f"/api/waitlist/{first['id']}/accept", headers=alice.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "booked"
    assert await _booking_status(api, alice, offered.offer_booking_id) == "confirmed"
    await _dispatched(runtime)  # the confirmation's event changes nothing more
    assert (await _entry(queue, second["id"])).status == "waiting"


async def test_an_unanswered_offer_lapses_and_passes_to_the_next_in_line(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    bob_booking = await _full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    carol = await make_user(queue, "carol@example.org")
    first = (await _join(api, alice, lab.printer)).json()
    clock.advance(minutes=1)
    second = (await _join(api, carol, lab.printer)).json()
    await api.post(f"/api/bookings/{bob_booking}/cancel", headers=admin_headers)
    await _dispatched(runtime)
    lapsing = await _entry(queue, first["id"])
    assert lapsing.status == "offered" and lapsing.offer_booking_id is not None

    clock.advance(minutes=121)
    released, _ = await maintenance.expire_holds(runtime.billing)  # the periodic hold expiry
    assert released == 1
    await _dispatched(runtime)

    assert (await _entry(queue, first["id"])).status == "lapsed"
    assert await _booking_status(api, alice, lapsing.offer_booking_id) == "expired"
    passed = await _entry(queue, second["id"])
    assert passed.status == "offered" and passed.offer_booking_id is not None
    assert await _booking_status(api, carol, passed.offer_booking_id) == "held"
    late = await api.post(f"/api/waitlist/{first['id']}/accept", headers=alice.headers)
    assert late.status_code == 409
    assert late.json()["code"] == "waitlist_not_offered"


async def test_leaving_with_an_offer_passes_it_on(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    bob_booking = await _full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    carol = await make_user(queue, "carol@example.org")
    first = (await _join(api, alice, lab.printer)).json()
    clock.advance(minutes=1)
    second = (await _join(api, carol, lab.printer)).json()
    await api.post(f"/api/bookings/{bob_booking}/cancel", headers=admin_headers)
    await _dispatched(runtime)
    declined = await api.delete(f"/api/waitlist/{first['id']}", headers=alice.headers)
    assert declined.status_code == 200, declined.text
    offer = (await _entry(queue, first["id"])).offer_booking_id
    assert offer is not None
    assert await _booking_status(api, alice, offer) == "cancelled"
    await _dispatched(runtime)
    assert (await _entry(queue, second["id"])).status == "offered"


async def test_a_lifted_blackout_offers_its_slot(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    admin_headers: dict[str, str],
) -> None:
    blackout = await api.post(
        f"/api/resources/{lab.printer}/blackouts",
        json={"starts_at": iso(paris(2027, 3, 2, 13)), "ends_at": iso(paris(2027, 3, 2, 17))},
        headers=admin_headers,
    )
    assert blackout.status_code == 201, blackout.text
    alice = await make_user(queue, "alice@example.org")
    joined = await _join(api, alice, lab.printer)
    assert joined.status_code == 201, joined.text  # out of service: full
    await _dispatched(runtime)
    assert (await _entry(queue, joined.json()["id"])).status == "waiting"

    lifted = await api.delete(
        f"/api/resources/{lab.printer}/blackouts/{blackout.json()['id']}", headers=admin_headers
    )
    assert lifted.status_code == 204, lifted.text
    await _dispatched(runtime)
    offered = await _entry(queue, joined.json()["id"])
    assert offered.status == "offered" and offered.offer_booking_id is not None
    assert await _booking_status(api, alice, offered.offer_booking_id) == "held"


async def _two_freed_units(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> tuple[int, list[int]]:
    """A resource of two units, both booked, two people waiting for them, then both bookings
    cancelled (their events queued): the resource's id and the waiting entries' ids."""
    pair = await make_resource(api, admin_headers, lab.place_id, name="Paire", capacity=2)
    holders = [await make_user(queue, f"holder{n}@example.org") for n in range(2)]
    held = []
    for holder in holders:
        made = await book(api, holder, pair["id"], TUESDAY_2PM, TUESDAY_3PM)
        assert made.status_code == 201, made.text
        held.append(made.json()["id"])
    waiting = []
    for n in range(2):
        person = await make_user(queue, f"waiter{n}@example.org")
        joined = await _join(api, person, pair["id"])
        assert joined.status_code == 201, joined.text
        waiting.append(joined.json()["id"])
        clock.advance(seconds=1)
    for booking_id in held:
        cancelled = await api.post(f"/api/bookings/{booking_id}/cancel", headers=admin_headers)
        assert cancelled.status_code == 200, cancelled.text
    return pair["id"], waiting


async def test_two_freed_units_race_for_two_entries_each_offered_once(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    pair_id, waiting = await _two_freed_units(api, lab, queue, clock, admin_headers)
    # Both cancellations' events handled at once, on two connections.
    events = await _queued_events(queue, "booking.cancelled")
    assert len(events) == 2

    async def handle(event: tuple[str, str, dict[str, Any]]) -> list[int]:
        async with queue.writer() as session, session.begin():
            return await runtime.booking.waitlist(session).handle(*event)

    results = await asyncio.gather(*(handle(event) for event in events))
    offered = sorted(entry for result in results for entry in result)
    assert offered == sorted(waiting)  # each entry once, none twice
    bookings = {(await _entry(queue, entry_id)).offer_booking_id for entry_id in waiting}
    assert len(bookings) == 2 and None not in bookings
    # A second delivery of the same events (at least once) offers nothing more.
    again = await asyncio.gather(*(handle(event) for event in events))
    assert again == [[], []]
    assert await _held_bookings(queue, pair_id) == 2


async def test_two_workers_offer_two_freed_units_to_two_entries(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    pair_id, waiting = await _two_freed_units(api, lab, queue, clock, admin_headers)
    await _dispatched(runtime, count=2)
    bookings = {(await _entry(queue, entry_id)).offer_booking_id for entry_id in waiting}
    assert len(bookings) == 2 and None not in bookings
    assert await _held_bookings(queue, pair_id) == 2


async def _queued_events(database: Database, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT convert_from(payload, 'UTF8')::json FROM jobs.pgqueuer "
                "WHERE convert_from(payload, 'UTF8')::json ->> 'event' = :name ORDER BY id"
            ),
            {"name": name},
        )
        return [(body["event"], body["key"], body["data"]) for (body,) in rows]


async def _held_bookings(database: Database, resource_id: int) -> int:
    async with database.engine.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT count(*) FROM booking b JOIN booking_item i ON i.booking_id = b.id "
                "WHERE i.resource_id = :rid AND b.status = 'held'"
            ),
            {"rid": resource_id},
        )
        return int(result.scalar_one())


async def test_managers_see_the_waitlist_in_the_agenda_and_strangers_do_not(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, admin_headers: dict[str, str]
) -> None:
    await _full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    entry_id = (await _join(api, alice, lab.printer)).json()["id"]
    manager = await make_user(queue, "manager@example.org", manages=(lab.place_id,))
    other_place = await api.post(
        "/api/places",
        json={
            "slug": "autre-lieu",
            "name": "Autre lieu",
            "address": "2 rue",
            "postcode": "22300",
            "town": "Lannion",
            "operator_name": "Commune",
        },
        headers=admin_headers,
    )
    stranger = await make_user(queue, "stranger@example.org", manages=(other_place.json()["id"],))
    week = "from=2027-03-01&to=2027-03-08"
    agenda = await api.get(f"/api/places/{lab.place_id}/agenda?{week}", headers=manager.headers)
    assert agenda.status_code == 200, agenda.text
    [waiting] = agenda.json()["waitlist"]
    assert waiting["entry"]["id"] == entry_id
    assert waiting["entry"]["resource_id"] == lab.printer
    assert datetime.fromisoformat(waiting["entry"]["starts_at"]) == TUESDAY_2PM
    assert waiting["entry"]["status"] == "waiting"
    assert waiting["person"]["email"] == "alice@example.org"
    later = await api.get(
        f"/api/places/{lab.place_id}/agenda?from=2027-03-03&to=2027-03-08",
        headers=manager.headers,
    )
    assert later.json()["waitlist"] == []  # the entry's range is outside the agenda's
    refused = await api.get(f"/api/places/{lab.place_id}/agenda?{week}", headers=stranger.headers)
    assert refused.status_code in (403, 404)
    left = await api.delete(f"/api/waitlist/{entry_id}", headers=stranger.headers)
    assert left.status_code == 404
    by_manager = await api.delete(f"/api/waitlist/{entry_id}", headers=manager.headers)
    assert by_manager.status_code == 200, by_manager.text


async def test_a_priced_slot_is_offered_with_its_payment_due_at_the_place(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    admin_headers: dict[str, str],
) -> None:
    priced = await api.put(
        f"/api/places/{lab.place_id}/price-lists",
        json={"resource_id": lab.printer, "rates": [{"user_type": "*", "hourly_cents": 1000}]},
        headers=admin_headers,
    )
    assert priced.status_code == 200, priced.text
    settings = await api.put(
        f"/api/places/{lab.place_id}/billing-settings",
        json={
            "invoice_prefix": "FAB",
            "payment_methods": {"*": ["on_site"]},
            "refund_tiers": [{"hours": 24, "percent": 100}],
        },
        headers=admin_headers,
    )
    assert settings.status_code == 200, settings.text
    bob = await make_user(queue, "bob@example.org")
    slot = {
        "items": [{"resource_id": lab.printer, "quantity": 1}],
        "starts_at": iso(TUESDAY_2PM),
        "ends_at": iso(TUESDAY_3PM),
    }
    quote = await api.post("/api/quotes", json=slot, headers=bob.headers)
    paid = await api.post(
        "/api/checkout",
        json={**slot, "method": "on_site", "quote_fingerprint": quote.json()["fingerprint"]},
        headers=bob.headers,
    )
    assert paid.status_code == 201, paid.text
    alice = await make_user(queue, "alice@example.org")
    joined = await _join(api, alice, lab.printer)
    assert joined.status_code == 201, joined.text
    cancelled = await api.post(
        f"/api/bookings/{paid.json()['booking']['id']}/cancel", headers=bob.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await _dispatched(runtime)

    offered = await _entry(queue, joined.json()["id"])
    assert offered.status == "offered" and offered.offer_booking_id is not None
    billing = await api.get(
        f"/api/bookings/{offered.offer_booking_id}/billing", headers=alice.headers
    )
    assert billing.status_code == 200, billing.text
    payment = billing.json()["payment"]
    assert (payment["method"], payment["status"]) == ("on_site", "awaiting_on_site")
    accepted = await api.post(f"/api/waitlist/{joined.json()['id']}/accept", headers=alice.headers)
    assert accepted.status_code == 200, accepted.text
    assert await _booking_status(api, alice, offered.offer_booking_id) == "confirmed"


async def test_handled_event_keys_are_forgotten_nightly_after_thirty_days(
    queue: Database, runtime: Runtime, clock: MutableClock
) -> None:
    async with queue.writer() as session, session.begin():
        assert await WaitlistRepository(session).claim_event("booking.1.cancelled.x", clock.now)
    forget = job_registry(runtime, nightly=NEVER).periodic["waitlist.forget_events"].task
    clock.advance(days=29)
    await forget()
    assert await _event_keys(queue) == 1
    clock.advance(days=2)
    await forget()
    assert await _event_keys(queue) == 0


async def _event_keys(database: Database) -> int:
    async with database.engine.connect() as connection:
        result = await connection.execute(text("SELECT count(*) FROM waitlist_event"))
        return int(result.scalar_one())


async def test_my_waitlists_are_exported_and_left_when_my_account_is_erased(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    await _full_printer(api, lab, queue)
    password = "violet-harbour-compass-42"
    alice = await make_user(queue, "alice@example.org", password_hash=stored_hash(password))
    entry_id = (await _join(api, alice, lab.printer)).json()["id"]
    export = await api.get("/api/me/export", headers=alice.headers)
    assert export.status_code == 200, export.text
    assert [e["id"] for e in export.json()["waitlist_entries"]] == [entry_id]
    erased = await api.post("/api/me/erase", json={"password": password}, headers=alice.headers)
    assert erased.status_code in (200, 204), erased.text
    assert (await _entry(queue, entry_id)).status == "withdrawn"
