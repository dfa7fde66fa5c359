"""Waitlists of full slots: join only when full and once, leave, strangers kept out, the
agenda's waitlist for managers, and the person's data (GDPR)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from kernel.db import Database
from tests.support.accounts import make_user, stored_hash
from tests.support.booking import Fablab
from tests.support.jobs import empty_queue
from tests.support.waitlist import TUESDAY_2PM, entry, full_printer, join


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


async def test_a_user_joins_only_a_full_slot_and_once(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    alice = await make_user(queue, "alice@example.org")
    free = await join(api, alice, lab.printer)
    assert free.status_code == 409, free.text
    assert free.json()["code"] == "slot_available"

    await full_printer(api, lab, queue)
    joined = await join(api, alice, lab.printer)
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    assert (entry["status"], entry["position"], entry["quantity"]) == ("waiting", 1, 1)
    assert entry["resource_name"] == "Imprimante 3D"
    again = await join(api, alice, lab.printer)
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


async def test_a_stranger_cannot_see_or_leave_anothersentry(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    await full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    mallory = await make_user(queue, "mallory@example.org")
    entry_id = (await join(api, alice, lab.printer)).json()["id"]
    for call in (
        api.delete(f"/api/waitlist/{entry_id}", headers=mallory.headers),
        api.post(f"/api/waitlist/{entry_id}/accept", headers=mallory.headers),
    ):
        refused = await call
        assert refused.status_code == 404, refused.text
    assert (await entry(queue, entry_id)).status == "waiting"


async def test_managers_see_the_waitlist_in_the_agenda_and_strangers_do_not(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, admin_headers: dict[str, str]
) -> None:
    await full_printer(api, lab, queue)
    alice = await make_user(queue, "alice@example.org")
    entry_id = (await join(api, alice, lab.printer)).json()["id"]
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


async def test_my_waitlists_are_exported_and_left_when_my_account_is_erased(
    api: httpx.AsyncClient, lab: Fablab, queue: Database
) -> None:
    await full_printer(api, lab, queue)
    password = "violet-harbour-compass-42"
    alice = await make_user(queue, "alice@example.org", password_hash=stored_hash(password))
    entry_id = (await join(api, alice, lab.printer)).json()["id"]
    export = await api.get("/api/me/export", headers=alice.headers)
    assert export.status_code == 200, export.text
    assert [e["id"] for e in export.json()["waitlist_entries"]] == [entry_id]
    erased = await api.post("/api/me/erase", json={"password": password}, headers=alice.headers)
    assert erased.status_code in (200, 204), erased.text
    assert (await entry(queue, entry_id)).status == "withdrawn"
