"""The worker's catalogue copies (booking.snapshots) never let a booking see stale rules.

One app (one cache) books, then the catalogue changes through the API or behind its back (SQL),
then the same app books again: every change must be seen by the very next booking (statement
triggers move the catalogue counter).
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import insert, inspect, text

from booking.snapshots import PlaceSnapshot, SnapshotCache, detached
from kernel.db import Database
from resources.models import Blackout, Place, Resource
from tests.support.accounts import make_user
from tests.support.booking import Fablab, add_blackout, book, paris
from tests.support.sql import sent_statements

Client = httpx.AsyncClient
WATCHED = (
    "place",
    "resource",
    "resource_unit",
    "opening_hour",
    "place_exception",
    "booking_policy",
    "blackout",
)


async def _revision(database: Database) -> int:
    async with database.engine.connect() as connection:
        value = (await connection.execute(text("SELECT value FROM catalogue_revision"))).scalar()
    assert isinstance(value, int)
    return value


async def _sql(database: Database, statement: str, params: dict[str, int] | None = None) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text(statement), params or {})


async def test_every_watched_table_moves_the_revision(
    api: Client, lab: Fablab, database: Database
) -> None:
    changes = {
        "place": "UPDATE place SET phone = '0102030405' WHERE id = :place",
        "resource": "UPDATE resource SET description = 'x' WHERE id = :printer",
        "resource_unit": "UPDATE resource_unit SET label = 'n°1' WHERE resource_id = :laser",
        "opening_hour": "DELETE FROM opening_hour WHERE place_id = :place AND weekday = 6",
        "place_exception": (
            "INSERT INTO place_exception (place_id, day, closed, spans, reason) "
            "VALUES (:place, '2027-03-09', true, '[]', 'inventaire')"
        ),
        "booking_policy": (
            "INSERT INTO booking_policy (place_id, requires_approval) VALUES (:place, true)"
        ),
        "blackout": (  # only the counter matters here, not the instants
            "INSERT INTO blackout (resource_id, starts_at, ends_at, reason) "
            "VALUES (:printer, '2027-03-10 08:00:00', '2027-03-10 10:00:00', 'révision')"
        ),
    }
    ids = {"place": lab.place_id, "printer": lab.printer, "laser": lab.laser}
    assert set(changes) == set(WATCHED)
    for table, statement in changes.items():
        before = await _revision(database)
        await _sql(database, statement, ids)
        assert await _revision(database) > before, table
    # Reading, and booking, leave it alone.
    before = await _revision(database)
    alice = await make_user(database, "alice@example.org")
    response = await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert response.status_code == 201, response.text
    assert await _revision(database) == before


async def test_the_next_booking_sees_every_change(
    api: Client, lab: Fablab, admin_headers: dict[str, str], database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    tuesday = paris(2027, 3, 2, 14), paris(2027, 3, 2, 15)
    first = await book(api, alice, lab.printer, *tuesday)
    assert first.status_code == 201, first.text  # the place's copy is now cached

    # A closure through the API.
    closed = await api.put(
        f"/api/places/{lab.place_id}/exceptions/2027-03-03",
        json={"closed": True, "reason": "Inventaire"},
        headers=admin_headers,
    )
    assert closed.status_code == 200, closed.text
    refused = await book(api, alice, lab.printer, paris(2027, 3, 3, 10), paris(2027, 3, 3, 11))
    assert refused.status_code == 409 and refused.json()["code"] == "outside_opening_hours", (
        refused.text
    )

    # Open again: a copy that would refuse must not have the last word.
    reopened = await api.delete(
        f"/api/places/{lab.place_id}/exceptions/2027-03-03", headers=admin_headers
    )
    assert reopened.status_code == 204, reopened.text
    accepted = await book(api, alice, lab.printer, paris(2027, 3, 3, 10), paris(2027, 3, 3, 11))
    assert accepted.status_code == 201, accepted.text

    # A maintenance window through the API, then one behind its back (SQL).
    maintenance = await add_blackout(
        api, admin_headers, lab.printer, paris(2027, 3, 9, 14), paris(2027, 3, 9, 16), "Révision"
    )
    assert maintenance.status_code == 201, maintenance.text
    blocked = await book(api, alice, lab.printer, paris(2027, 3, 9, 15), paris(2027, 3, 9, 16))
    assert blocked.status_code == 409 and blocked.json()["code"] == "blackout", blocked.text
    async with database.engine.begin() as connection:
        await connection.execute(
            insert(Blackout.__table__),  # type: ignore[attr-defined]
            {
                "resource_id": lab.printer,
                "starts_at": paris(2027, 3, 2, 16),
                "ends_at": paris(2027, 3, 2, 18),
                "reason": "panne",
            },
        )
    broken = await book(api, alice, lab.printer, paris(2027, 3, 2, 16), paris(2027, 3, 2, 17))
    assert broken.status_code == 409 and broken.json()["code"] == "blackout", broken.text

    # Approval required, through the API.
    policies = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"requires_approval": True}]},
        headers=admin_headers,
    )
    assert policies.status_code == 200, policies.text
    pending = await book(api, alice, lab.printer, paris(2027, 3, 4, 10), paris(2027, 3, 4, 11))
    assert pending.status_code == 201 and pending.json()["status"] == "pending_approval"

    # Behind the API's back: the resource is switched off in SQL.
    await _sql(database, "UPDATE resource SET active = false WHERE id = :id", {"id": lab.printer})
    gone = await book(api, alice, lab.printer, paris(2027, 3, 5, 10), paris(2027, 3, 5, 11))
    assert gone.status_code == 404 and gone.json()["code"] == "resource_not_found"

    # A new unit of the seat pool can be booked at once.
    seats = [(lab.seats, 12)]
    full = await book(api, alice, seats, paris(2027, 3, 8, 10), paris(2027, 3, 8, 11))
    assert full.status_code == 201, full.text
    more = await api.patch(
        f"/api/resources/{lab.seats}", json={"capacity": 13}, headers=admin_headers
    )
    assert more.status_code == 200, more.text
    bob = await make_user(database, "bob@example.org")
    thirteenth = await book(
        api, bob, [(lab.seats, 1)], paris(2027, 3, 8, 10), paris(2027, 3, 8, 11)
    )
    assert thirteenth.status_code == 201, thirteenth.text


async def test_a_booking_still_works_without_the_counter_row(
    api: Client, lab: Fablab, database: Database
) -> None:
    # A database restored without the row: nothing is kept, bookings still check everything.
    await _sql(database, "DELETE FROM catalogue_revision")
    alice = await make_user(database, "alice@example.org")
    response = await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert response.status_code == 201, response.text
    again = await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert again.status_code == 409


def _snapshot(place_id: int, revision: int, resource_ids: list[int]) -> PlaceSnapshot:
    return PlaceSnapshot(
        revision=revision,
        place=Place(id=place_id, slug=f"p{place_id}", name="p", timezone="Europe/Paris"),
        resources={
            rid: Resource(id=rid, place_id=place_id, name="r", kind="machine")
            for rid in resource_ids
        },
        units={rid: [] for rid in resource_ids},
        policies=[],
        weekly=[],
        exceptions=[],
        blackouts={},
    )


async def test_requests_that_find_no_copy_at_once_read_the_catalogue_once(
    api: Client, lab: Fablab, database: Database
) -> None:
    # A catalogue change: every kept copy is out of date, as on a term's opening morning.
    await _sql(
        database, "UPDATE place SET phone = '0102030405' WHERE id = :place", {"place": lab.place_id}
    )
    week = {"from": "2027-03-02", "to": "2027-03-09"}
    with sent_statements() as seen:
        answers = await asyncio.gather(
            *(
                api.get(f"/api/resources/{rid}/availability", params=week)
                for rid in (lab.printer, lab.laser) * 6
            )
        )
    read_units = [statement for statement in seen if "FROM resource_unit" in statement]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len(read_units) == 1, read_units


async def test_requests_for_a_place_never_seen_look_for_it_once(api: Client, lab: Fablab) -> None:
    # A worker's first reads of a place, all at once, each for other resources of it: as at
    # start-up under load. One of them finds which place the resources are in and reads its
    # copy; the others wait and take that copy (each looking on its own took a connection
    # each, opened then and there: 18 at once in one worker under bench/growth.py).
    week = {"from": "2027-03-02", "to": "2027-03-09"}
    with sent_statements() as seen:
        answers = await asyncio.gather(
            *(
                api.get(f"/api/resources/{rid}/availability", params=week)
                for rid in (lab.printer, lab.laser, lab.seats, lab.room) * 3
            )
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    by_ids = [s for s in seen if "FROM resource" in s and "resource.id IN" in s]
    assert len(by_ids) == 1, by_ids


def test_the_cache_answers_only_for_its_revision_and_forgets_the_oldest() -> None:
    cache = SnapshotCache(max_places=2)
    cache.keep(_snapshot(1, revision=7, resource_ids=[10, 11]))
    assert cache.find([10, 11], 7) is not None
    assert cache.find([10], 8) is None  # the catalogue moved on
    assert cache.find([10, 99], 7) is None  # 99 is not one of its resources
    cache.keep(_snapshot(2, revision=7, resource_ids=[20]))
    cache.keep(_snapshot(3, revision=7, resource_ids=[30]))
    assert cache.find([10], 7) is None  # place 1 was the least recently used
    assert cache.find([20], 7) is not None and cache.find([30], 7) is not None


async def test_a_copy_kept_while_a_request_looked_elsewhere_is_not_read_again() -> None:
    # A request found no copy, then awaited another read (which place the resources are in);
    # meanwhile a second request read the copy and kept it. The first must take that copy,
    # not read the catalogue a second time.
    cache = SnapshotCache()
    kept = _snapshot(1, revision=7, resource_ids=[10])
    assert cache.find([10], 7) is None
    cache.keep(kept)
    reads: list[int] = []

    async def read() -> PlaceSnapshot:
        reads.append(1)
        return _snapshot(1, revision=7, resource_ids=[10])

    assert await cache.load_once(1, 7, read) is kept
    assert reads == []


async def test_a_detached_copy_holds_the_row_as_loaded_and_belongs_to_no_session(
    lab: Fablab, database: Database
) -> None:
    async with database.writer() as session:
        loaded = await session.get(Resource, lab.printer)
        assert loaded is not None
        copy = detached(loaded)
        assert type(copy) is Resource
        assert inspect(copy).transient  # no session, no identity: never flushed or refreshed
        assert copy.model_dump() == loaded.model_dump()
        # The row changing in its session afterwards leaves the copy as it was.
        loaded.name = "renamed in the request"
        assert copy.name != loaded.name
        await session.rollback()
    assert copy.capacity == 1 and copy.place_id == lab.place_id
