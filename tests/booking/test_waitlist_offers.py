"""Waitlist offers through the shell's real workers: to the first in line when units free up
(cancellation, lapsed or declined offer, blackout lifted), booked at one click, once per event,
two freed units racing for two entries, a priced slot held with its payment due."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billing import maintenance
from booking.waitlist_repository import WaitlistRepository
from kernel.db import Database
from mutualab.background import job_registry
from mutualab.composition import Runtime
from tests.factories import make_resource
from tests.support.accounts import make_user
from tests.support.apps import runtime_on
from tests.support.booking import Fablab, MutableClock, book, iso, paris
from tests.support.jobs import empty_queue
from tests.support.waitlist import (
    NEVER,
    TUESDAY_2PM,
    TUESDAY_3PM,
    booking_status,
    dispatched,
    entry,
    full_printer,
    join,
)


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


async def test_a_cancellation_offers_the_slot_to_the_first_in_line_who_books_it(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    bob_booking = await full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    carol = await make_user(queue, "carol@example.org")
    first = (await join(api, alice, lab.printer)).json()
    clock.advance(minutes=1)
    second = (await join(api, carol, lab.printer)).json()
    assert (first["position"], second["position"]) == (1, 2)

    cancelled = await api.post(f"/api/bookings/{bob_booking}/cancel", headers=admin_headers)
    assert cancelled.status_code == 200, cancelled.text
    heard: list[dict[str, Any]] = []
    await dispatched(runtime, heard)

    offered = await entry(queue, first["id"])
    assert offered.status == "offered"
    assert offered.offer_booking_id is not None
    assert offered.offer_expires_at == clock.now + timedelta(minutes=120)
    assert await booking_status(api, alice, offered.offer_booking_id) == "held"
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
    assert await booking_status(api, alice, offered.offer_booking_id) == "confirmed"
    await dispatched(runtime)  # the confirmation's event changes nothing more
    assert (await entry(queue, second["id"])).status == "waiting"


async def test_an_unanswered_offer_lapses_and_passes_to_the_next_in_line(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    runtime: Runtime,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    bob_booking = await full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    carol = await make_user(queue, "carol@example.org")
    first = (await join(api, alice, lab.printer)).json()
    clock.advance(minutes=1)
    second = (await join(api, carol, lab.printer)).json()
    await api.post(f"/api/bookings/{bob_booking}/cancel", headers=admin_headers)
    await dispatched(runtime)
    lapsing = await entry(queue, first["id"])
    assert lapsing.status == "offered" and lapsing.offer_booking_id is not None

    clock.advance(minutes=121)
    released, _ = await maintenance.expire_holds(runtime.billing)  # the periodic hold expiry
    assert released == 1
    await dispatched(runtime)

    assert (await entry(queue, first["id"])).status == "lapsed"
    assert await booking_status(api, alice, lapsing.offer_booking_id) == "expired"
    passed = await entry(queue, second["id"])
    assert passed.status == "offered" and passed.offer_booking_id is not None
    assert await booking_status(api, carol, passed.offer_booking_id) == "held"
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
    bob_booking = await full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    carol = await make_user(queue, "carol@example.org")
    first = (await join(api, alice, lab.printer)).json()
    clock.advance(minutes=1)
    second = (await join(api, carol, lab.printer)).json()
    await api.post(f"/api/bookings/{bob_booking}/cancel", headers=admin_headers)
    await dispatched(runtime)
    declined = await api.delete(f"/api/waitlist/{first['id']}", headers=alice.headers)
    assert declined.status_code == 200, declined.text
    offer = (await entry(queue, first["id"])).offer_booking_id
    assert offer is not None
    assert await booking_status(api, alice, offer) == "cancelled"
    await dispatched(runtime)
    assert (await entry(queue, second["id"])).status == "offered"


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
    joined = await join(api, alice, lab.printer)
    assert joined.status_code == 201, joined.text  # out of service: full
    await dispatched(runtime)
    assert (await entry(queue, joined.json()["id"])).status == "waiting"

    lifted = await api.delete(
        f"/api/resources/{lab.printer}/blackouts/{blackout.json()['id']}", headers=admin_headers
    )
    assert lifted.status_code == 204, lifted.text
    await dispatched(runtime)
    offered = await entry(queue, joined.json()["id"])
    assert offered.status == "offered" and offered.offer_booking_id is not None
    assert await booking_status(api, alice, offered.offer_booking_id) == "held"


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
        joined = await join(api, person, pair["id"])
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
    bookings = {(await entry(queue, entry_id)).offer_booking_id for entry_id in waiting}
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
    await dispatched(runtime, count=2)
    bookings = {(await entry(queue, entry_id)).offer_booking_id for entry_id in waiting}
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
    joined = await join(api, alice, lab.printer)
    assert joined.status_code == 201, joined.text
    cancelled = await api.post(
        f"/api/bookings/{paid.json()['booking']['id']}/cancel", headers=bob.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await dispatched(runtime)

    offered = await entry(queue, joined.json()["id"])
    assert offered.status == "offered" and offered.offer_booking_id is not None
    billing = await api.get(
        f"/api/bookings/{offered.offer_booking_id}/billing", headers=alice.headers
    )
    assert billing.status_code == 200, billing.text
    payment = billing.json()["payment"]
    assert (payment["method"], payment["status"]) == ("on_site", "awaiting_on_site")
    accepted = await api.post(f"/api/waitlist/{joined.json()['id']}/accept", headers=alice.headers)
    assert accepted.status_code == 200, accepted.text
    assert await booking_status(api, alice, offered.offer_booking_id) == "confirmed"


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
