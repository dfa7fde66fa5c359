"""What searches found, kept per worker at a catalogue revision (booking.snapshots.FoundMemo).

Kept findings must be what a new query would find: each test changes what a search depends
on (a resource added or withdrawn, a place closed) and checks what the next search finds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from booking.snapshots import FoundMemo
from kernel.db import Database
from kernel.settings import Settings
from resources.repository import FoundResource
from tests.factories import make_resource
from tests.support.booking import Fablab, MutableClock, make_fablab, served_app
from tests.support.sql import sent_statements

# The laser cutter and the printer are free then (the lab opens at 08:00).
SEARCH = {
    "town": "Lannion",
    "kind": "machine",
    "starts_at": "2027-03-02T14:00:00+01:00",
    "ends_at": "2027-03-02T16:00:00+01:00",
}


@pytest.fixture
async def served(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[tuple[httpx.AsyncClient, FoundMemo]]:
    """The app on a fixed clock, and the findings its worker keeps."""
    async with served_app(settings, database, clock) as (http, app):
        yield http, app.state.catalogue_snapshots.found


@pytest.fixture
async def lab(served: tuple[httpx.AsyncClient, FoundMemo], admin_headers: dict[str, str]) -> Fablab:
    """A furnished fablab in Lannion open every day 08:00-20:00."""
    return await make_fablab(served[0], admin_headers)


async def names(api: httpx.AsyncClient, **params: str) -> set[str]:
    """The names of the resources a search finds free."""
    response = await api.get("/api/availability/search", params={**SEARCH, **params})
    assert response.status_code == 200, response.text
    return {hit["resource_name"] for hit in response.json()}


async def test_the_same_search_reads_the_catalogue_once(
    served: tuple[httpx.AsyncClient, FoundMemo], lab: Fablab
) -> None:
    api, memo = served
    first = await names(api)
    assert first == {"Imprimante 3D", "Découpeuse laser"}
    with sent_statements() as seen:
        again = await names(api)
    assert again == first and len(memo) == 1
    # The counter and the bookings only: no search of resources and places.
    assert not [s for s in seen if "FROM resource JOIN place" in s], seen
    assert await names(api, kind="space") == {"Salle de cours"}  # another search: kept too
    assert len(memo) == 2


async def test_a_resource_added_or_withdrawn_is_found_or_not_at_once(
    served: tuple[httpx.AsyncClient, FoundMemo], lab: Fablab, admin_headers: dict[str, str]
) -> None:
    api, _ = served
    assert "Fraiseuse" not in await names(api)
    mill = await make_resource(api, admin_headers, lab.place_id, name="Fraiseuse", kind="machine")
    assert "Fraiseuse" in await names(api)
    withdrawn = await api.patch(
        f"/api/resources/{mill['id']}", json={"active": False}, headers=admin_headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert "Fraiseuse" not in await names(api)


async def test_a_place_closed_is_not_found_at_once(
    served: tuple[httpx.AsyncClient, FoundMemo], lab: Fablab, admin_headers: dict[str, str]
) -> None:
    api, _ = served
    assert await names(api)
    closed = await api.patch(
        f"/api/places/{lab.place_id}", json={"active": False}, headers=admin_headers
    )
    assert closed.status_code == 200, closed.text
    assert await names(api) == set()


def found(resource_id: int) -> FoundResource:
    return FoundResource(resource_id, 1, f"resource {resource_id}", "Lannion", None)


def test_findings_of_another_revision_are_not_given() -> None:
    memo = FoundMemo()
    memo.keep(5, "printers", [found(1)])
    assert memo.find(5, "printers") == (found(1),)
    assert memo.find(6, "printers") is None
    memo.keep(6, "rooms", [found(2)])  # a newer revision forgets the older findings
    assert memo.find(6, "printers") is None and memo.find(6, "rooms") == (found(2),)
    memo.keep(5, "printers", [found(1)])  # read before a change, kept after it: not kept
    assert memo.find(5, "printers") is None and len(memo) == 1


def test_the_memo_forgets_the_least_recently_used() -> None:
    memo = FoundMemo(max_answers=2)
    memo.keep(1, "a", [])
    memo.keep(1, "b", [])
    assert memo.find(1, "a") == ()  # "a" is now the most recently used
    memo.keep(1, "c", [])
    assert memo.find(1, "b") is None and memo.find(1, "a") == () and memo.find(1, "c") == ()
    assert len(memo) == 2
