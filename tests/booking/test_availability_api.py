"""Availability through the API: a resource, a place, a search; DST days."""

from __future__ import annotations

from typing import Any

import httpx

from kernel.db import Database
from tests.factories import make_resource
from tests.support import communes
from tests.support.accounts import make_organisation, make_user
from tests.support.booking import (
    Fablab,
    MutableClock,
    add_blackout,
    book,
    make_fablab,
    paris,
)

Client = httpx.AsyncClient


async def availability(api: Client, resource_id: int, **params: Any) -> dict[str, Any]:
    """GET a resource's availability and check it succeeded."""
    response = await api.get(f"/api/resources/{resource_id}/availability", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def local_starts(body: dict[str, Any]) -> list[str]:
    """The local start times of the slots, as HH:MM."""
    return [slot["local_starts_at"][11:16] for slot in body["slots"]]


async def test_slots_of_a_resource_for_a_day(api: Client, lab: Fablab, database: Database) -> None:
    body = await availability(api, lab.printer, **{"from": "2027-03-02", "to": "2027-03-03"})
    assert body["timezone"] == "Europe/Paris"
    assert body["duration_minutes"] == 30  # the shortest bookable length
    assert len(body["slots"]) == 24  # 08:00 ... 19:30
    first = body["slots"][0]
    assert first["starts_at"] == "2027-03-02T07:00:00Z"
    assert first["local_starts_at"] == "2027-03-02T08:00:00+01:00"
    assert first["free_units"] == 1
    alice = await make_user(database, "alice@example.org")
    assert (
        await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    ).status_code == 201
    after = await availability(
        api, lab.printer, **{"from": "2027-03-02", "to": "2027-03-03", "duration_minutes": 60}
    )
    starts = local_starts(after)
    assert "13:00" in starts and "15:00" in starts
    assert not {"13:30", "14:00", "14:30"} & set(starts)
    assert starts[-1] == "19:00"


async def test_default_window_starts_now_and_honours_notice(api: Client, lab: Fablab) -> None:
    body = await availability(api, lab.printer)
    # Now is 09:00 and the printer needs an hour's notice.
    assert body["slots"][0]["local_starts_at"] == "2027-03-01T10:00:00+01:00"
    assert body["slots"][-1]["local_starts_at"].startswith("2027-03-07T19:30")


async def test_pools_show_free_units_and_filter_by_quantity(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    await book(api, alice, [(lab.seats, 10)], paris(2027, 3, 2, 14), paris(2027, 3, 2, 16))
    params = {"from": "2027-03-02", "to": "2027-03-03"}
    body = await availability(api, lab.seats, **params)
    free = {s["local_starts_at"][11:16]: s["free_units"] for s in body["slots"]}
    assert free["13:00"] == 12 and free["14:00"] == 2 and free["16:00"] == 12
    three = await availability(api, lab.seats, units=3, **params)
    assert "14:00" not in local_starts(three) and "16:00" in local_starts(three)
    bad = await api.get(f"/api/resources/{lab.seats}/availability", params={"units": 13})
    assert (bad.status_code, bad.json()["code"]) == (422, "over_capacity")
    zero = await api.get(f"/api/resources/{lab.seats}/availability", params={"units": 0})
    assert zero.json()["code"] == "invalid_quantity"


async def test_availability_counts_units_one_by_one(
    api: Client, admin_headers: dict[str, str], database: Database
) -> None:
    """Seat 1 taken 09-10 and seat 2 10-11: two seats, yet none free for 09-11."""
    from tests.factories import make_place, make_resource
    from tests.support.booking import open_every_day

    place = await make_place(api, admin_headers, slug="duo")
    await open_every_day(api, admin_headers, place["id"])
    duo = (await make_resource(api, admin_headers, place["id"], name="Duo", capacity=2))["id"]
    alice = await make_user(database, "alice@example.org")
    day = (2027, 3, 2)
    await book(api, alice, duo, paris(*day, 9), paris(*day, 10))  # seat 1
    moved = (await book(api, alice, duo, paris(*day, 10), paris(*day, 11))).json()  # seat 1
    await book(api, alice, duo, paris(*day, 10), paris(*day, 11))  # seat 2
    await api.post(f"/api/bookings/{moved['id']}/cancel", headers=alice.headers)
    body = await availability(
        api, duo, **{"from": "2027-03-02", "to": "2027-03-03", "duration_minutes": 120}
    )
    assert "09:00" not in local_starts(body)
    refused = await book(api, alice, duo, paris(*day, 9), paris(*day, 11))
    assert (refused.status_code, refused.json()["code"]) == (409, "slot_unavailable")
    assert "11:00" in local_starts(body)


async def test_bad_availability_queries(api: Client, lab: Fablab) -> None:
    path = f"/api/resources/{lab.laser}/availability"
    odd = await api.get(path, params={"duration_minutes": 75})
    assert (odd.status_code, odd.json()["code"]) == (422, "not_aligned")
    short = await api.get(path, params={"duration_minutes": 30})
    assert (short.status_code, short.json()["code"]) == (422, "too_short")
    long = await api.get(path, params={"duration_minutes": 240})
    assert long.json()["code"] == "too_long"
    backwards = await api.get(path, params={"from": "2027-03-05", "to": "2027-03-02"})
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_range")
    huge = await api.get(path, params={"from": "2027-03-01", "to": "2027-06-01"})
    assert huge.json()["code"] == "range_too_long"
    assert (await api.get("/api/resources/999999/availability")).status_code == 404


async def test_max_advance_follows_the_callers_rules(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    school = await make_organisation(database)
    teacher = await make_user(database, "t@example.org", organisation_roles=((school, "booker"),))
    await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={
            "policies": [
                {"user_type_code": "citizen", "max_advance_days": 14},
                {"user_type_code": "school", "max_advance_days": 120},
            ]
        },
        headers=manager.headers,
    )
    window = {"from": "2027-03-20", "to": "2027-03-21"}
    anonymous = await availability(api, lab.room, **window)
    assert anonymous["slots"] == []  # 19 days ahead: too far for citizens
    response = await api.get(
        f"/api/resources/{lab.room}/availability",
        params={**window, "organisation_id": school},
        headers=teacher.headers,
    )
    assert len(response.json()["slots"]) == 24
    stranger = await api.get(
        f"/api/resources/{lab.room}/availability",
        params={**window, "organisation_id": school},
        headers=manager.headers,
    )
    assert (stranger.status_code, stranger.json()["code"]) == (403, "not_a_member")


async def test_dst_days_keep_the_wall_clock_grid(
    api: Client, lab: Fablab, clock: MutableClock
) -> None:
    clock.now = paris(2027, 3, 20, 9)
    spring = await availability(api, lab.printer, **{"from": "2027-03-28", "to": "2027-03-29"})
    assert len(spring["slots"]) == 24  # the 23-hour day still opens 08:00-20:00
    assert spring["slots"][0]["starts_at"] == "2027-03-28T06:00:00Z"
    assert spring["slots"][0]["local_starts_at"] == "2027-03-28T08:00:00+02:00"
    clock.now = paris(2027, 10, 20, 9)
    autumn = await availability(api, lab.printer, **{"from": "2027-10-31", "to": "2027-11-01"})
    assert len(autumn["slots"]) == 24  # and so does the 25-hour one
    assert autumn["slots"][0]["starts_at"] == "2027-10-31T07:00:00Z"
    assert autumn["slots"][-1]["local_starts_at"] == "2027-10-31T19:30:00+01:00"


async def test_place_availability_for_a_day(api: Client, lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    taken = await book(api, alice, lab.room, paris(2027, 3, 2, 12), paris(2027, 3, 2, 20))
    assert taken.status_code == 201
    response = await api.get(
        f"/api/places/{lab.place_id}/availability", params={"date": "2027-03-02"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["date"] == "2027-03-02"
    by_name = {r["resource_name"]: r for r in body["resources"]}
    assert set(by_name) == {"Imprimante 3D", "Découpeuse laser", "Poste CAO", "Salle de cours"}
    assert by_name["Salle de cours"]["slots"][-1]["local_starts_at"][11:16] == "11:30"
    assert len(by_name["Imprimante 3D"]["slots"]) == 24
    assert by_name["Poste CAO"]["slots"][0]["free_units"] == 12
    assert (await api.get("/api/places/999999/availability")).status_code == 404


async def test_search_free_resources_by_town_and_kind(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    await make_fablab(api, admin_headers, slug="fabrique-metz", town="Metz", postcode="57000")
    alice = await make_user(database, "alice@example.org")
    params = {
        "town": "Lannion",
        "kind": "machine",
        "starts_at": "2027-03-02T14:00:00+01:00",
        "ends_at": "2027-03-02T16:00:00+01:00",
    }
    response = await api.get("/api/availability/search", params=params)
    assert response.status_code == 200, response.text
    assert {h["resource_name"] for h in response.json()} == {"Imprimante 3D", "Découpeuse laser"}
    assert {h["town"] for h in response.json()} == {"Lannion"}
    await book(api, alice, lab.printer, paris(2027, 3, 2, 15), paris(2027, 3, 2, 16))
    after = (await api.get("/api/availability/search", params=params)).json()
    assert [h["resource_id"] for h in after] == [lab.laser]
    assert after[0]["local_starts_at"] == "2027-03-02T14:00:00+01:00"
    everywhere = await api.get(
        "/api/availability/search",
        params={
            "kind": "software_seats",
            "units": 12,
            "starts_at": params["starts_at"],
            "ends_at": params["ends_at"],
        },
    )
    assert {h["town"] for h in everywhere.json()} == {"Lannion", "Metz"}
    closed = await api.get(
        "/api/availability/search",
        params={
            **params,
            "starts_at": "2027-03-02T21:00:00+01:00",
            "ends_at": "2027-03-02T22:00:00+01:00",
        },
    )
    assert closed.json() == []
    backwards = await api.get(
        "/api/availability/search",
        params={**params, "ends_at": "2027-03-02T13:00:00+01:00"},
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "end_before_start")
    naive = await api.get(
        "/api/availability/search",
        params={**params, "starts_at": "2027-03-02T14:00:00"},
    )
    assert naive.status_code == 422


async def test_search_judges_alike_machines_each_by_its_blackouts(
    api: Client, lab: Fablab, admin_headers: dict[str, str]
) -> None:
    # A second printer made as the first: the same rules, which the search judges once.
    twin = await make_resource(api, admin_headers, lab.place_id, name="Imprimante 3D bis")
    blackout = await add_blackout(
        api, admin_headers, lab.printer, paris(2027, 3, 2, 13), paris(2027, 3, 2, 15), "maintenance"
    )
    assert blackout.status_code == 201, blackout.text
    params = {"town": "Lannion", "kind": "machine", "ends_at": "2027-03-02T16:00:00+01:00"}
    during = await api.get(
        "/api/availability/search", params={**params, "starts_at": "2027-03-02T14:00:00+01:00"}
    )
    assert {h["resource_id"] for h in during.json()} == {twin["id"], lab.laser}
    after = await api.get(
        "/api/availability/search", params={**params, "starts_at": "2027-03-02T15:00:00+01:00"}
    )
    assert {h["resource_id"] for h in after.json()} == {lab.printer, twin["id"], lab.laser}


async def test_search_lists_the_free_times_that_fit_soonest_first(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    await make_fablab(
        api,
        admin_headers,
        slug="fabrique-metz",
        town="Metz",
        postcode="57000",
        latitude=49.1193,
        longitude=6.1757,
    )
    alice = await make_user(database, "alice@example.org")
    await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    params = {
        "town": "Lanion",  # typed with a letter left out
        "kind": "machine",
        "starts_at": "2027-03-02T14:00:00+01:00",
        "ends_at": "2027-03-02T16:00:00+01:00",
        "free_times": "true",
    }
    response = await api.get("/api/availability/search", params=params)
    assert response.status_code == 200, response.text
    hits = response.json()
    # The laser is free from 14:00 (an hour, its shortest), the printer from 15:00 (30 min).
    assert [h["resource_name"] for h in hits] == ["Découpeuse laser", "Imprimante 3D"]
    laser, printer = hits
    assert [t["local_starts_at"][11:16] for t in laser["free_times"]] == [
        "14:00",
        "14:30",
        "15:00",
    ]
    assert {t["local_ends_at"][11:16] for t in laser["free_times"]} == {"15:00", "15:30", "16:00"}
    assert [t["local_starts_at"][11:16] for t in printer["free_times"]] == ["15:00", "15:30"]
    # An hour at least: both; the printer only once its booking ends.
    hour = await api.get(
        "/api/availability/search",
        params={**params, "town": "22300", "duration_minutes": 60},
    )
    assert [(h["resource_name"], len(h["free_times"])) for h in hour.json()] == [
        ("Découpeuse laser", 3),
        ("Imprimante 3D", 1),
    ]
    # A word instead of a kind, accents left out.
    word = await api.get(
        "/api/availability/search",
        params={**{k: v for k, v in params.items() if k != "kind"}, "q": "decoupeuse"},
    )
    assert [h["resource_name"] for h in word.json()] == ["Découpeuse laser"]
    # Around a point 10 km north of Lannion, 15 km: Lannion's machines, with their distance.
    near = await api.get(
        "/api/availability/search",
        params={
            **{k: v for k, v in params.items() if k != "town"},
            "latitude": 48.8147,
            "longitude": -3.4420,
            "radius_km": 15,
        },
    )
    assert {h["town"] for h in near.json()} == {"Lannion"}
    assert 8 < near.json()[0]["distance_km"] < 12
    half = await api.get(
        "/api/availability/search", params={**params, "latitude": 48.8, "radius_km": 15}
    )
    assert (half.status_code, half.json()["errors"][0]["field"]) == (422, "longitude")


async def test_search_around_a_town_without_a_place_finds_lannions_machines(
    api: Client, lab: Fablab
) -> None:
    """Perros-Guirec (no place, about 9 km north of Lannion) typed loosely or as its postcode;
    with no radius, the default one around it."""
    communes.required()
    base = {
        "starts_at": "2027-03-02T14:00:00+01:00",
        "ends_at": "2027-03-02T16:00:00+01:00",
    }
    around = await api.get(
        "/api/availability/search",
        params={**base, "town": "Perros-Guirec", "radius_km": 10},
    )
    assert around.status_code == 200, around.text
    hits = around.json()
    assert {h["resource_name"] for h in hits} >= {"Découpeuse laser", "Imprimante 3D"}
    assert {h["town"] for h in hits} == {"Lannion"}
    assert all(8 < h["distance_km"] < 10 for h in hits)
    by_postcode = await api.get("/api/availability/search", params={**base, "town": "22700"})
    assert {h["town"] for h in by_postcode.json()} == {"Lannion"}
    assert len(by_postcode.json()) == len(hits)
    assert 8 < by_postcode.json()[0]["distance_km"] < 10
    too_short = await api.get(
        "/api/availability/search",
        params={**base, "town": "perros guirec", "radius_km": 5},
    )
    assert too_short.json() == []
