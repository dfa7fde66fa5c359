"""Resources, their units and maintenance blackouts through the API."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from kernel.db import Database
from resources.models import ResourceUnit
from tests.factories import make_place, make_resource

Client = httpx.AsyncClient


async def _units(database: Database, resource_id: int) -> list[tuple[int, bool]]:
    async with database.reader() as session:
        rows = await session.exec(
            select(ResourceUnit)
            .where(ResourceUnit.resource_id == resource_id)
            .order_by(col(ResourceUnit.position))
        )
        return [(unit.position, unit.active) for unit in rows.all()]


async def test_pool_has_one_unit_per_seat(
    client: Client, admin_headers: dict[str, str], database: Database
) -> None:
    place = await make_place(client, admin_headers)
    seats = await make_resource(
        client, admin_headers, place["id"], name="Postes CAO", kind="software_seats", capacity=12
    )
    assert seats["capacity"] == 12
    assert await _units(database, seats["id"]) == [(n, True) for n in range(1, 13)]
    shrink = await client.patch(
        f"/api/resources/{seats['id']}", json={"capacity": 10}, headers=admin_headers
    )
    assert shrink.status_code == 200
    assert await _units(database, seats["id"]) == [(n, n <= 10) for n in range(1, 13)]
    grow = await client.patch(
        f"/api/resources/{seats['id']}", json={"capacity": 14}, headers=admin_headers
    )
    assert grow.status_code == 200
    assert await _units(database, seats["id"]) == [(n, True) for n in range(1, 15)]


async def test_resource_validation(client: Client, admin_headers: dict[str, str]) -> None:
    place = await make_place(client, admin_headers)
    url = f"/api/places/{place['id']}/resources"
    zero = await client.post(
        url, json={"name": "x", "kind": "machine", "capacity": 0}, headers=admin_headers
    )
    assert zero.status_code == 422
    assert zero.json()["errors"][0]["field"] == "capacity"
    kind = await client.post(url, json={"name": "x", "kind": "robot"}, headers=admin_headers)
    assert kind.status_code == 422
    assert kind.json()["errors"][0]["field"] == "kind"
    grid = await client.post(
        url,
        json={"name": "x", "kind": "machine", "slot_minutes": 30, "min_minutes": 45},
        headers=admin_headers,
    )
    assert grid.status_code == 422
    missing = await client.post(
        "/api/places/999/resources", json={"name": "x", "kind": "machine"}, headers=admin_headers
    )
    assert missing.status_code == 404
    resource = await make_resource(client, admin_headers, place["id"])
    incoherent = await client.patch(
        f"/api/resources/{resource['id']}", json={"min_minutes": 45}, headers=admin_headers
    )
    assert incoherent.status_code == 422
    assert incoherent.json()["code"] == "invalid_durations"


async def test_list_and_search_resources(client: Client, admin_headers: dict[str, str]) -> None:
    lannion = await make_place(client, admin_headers)
    metz = await make_place(client, admin_headers, slug="metz", town="Metz", postcode="57000")
    printer = await make_resource(client, admin_headers, lannion["id"], name="Imprimante 3D Prusa")
    await make_resource(client, admin_headers, metz["id"], name="Imprimante 3D Ultimaker")
    await make_resource(client, admin_headers, lannion["id"], name="Salle", kind="space")

    async def names(query: str) -> list[str]:
        response = await client.get(f"/api/resources?{query}")
        assert response.status_code == 200
        return [r["name"] for r in response.json()["items"]]

    assert await names("town=Lannion&kind=machine") == ["Imprimante 3D Prusa"]
    assert await names("q=imprimante") == ["Imprimante 3D Prusa", "Imprimante 3D Ultimaker"]
    assert await names(f"place_id={lannion['id']}") == ["Imprimante 3D Prusa", "Salle"]
    await client.patch(
        f"/api/resources/{printer['id']}", json={"active": False}, headers=admin_headers
    )
    assert await names("q=imprimante") == ["Imprimante 3D Ultimaker"]
    assert (await client.get(f"/api/resources/{printer['id']}")).status_code == 404


async def test_blackouts(client: Client, admin_headers: dict[str, str]) -> None:
    place = await make_place(client, admin_headers)
    laser = await make_resource(client, admin_headers, place["id"], name="Laser", buffer_minutes=15)
    url = f"/api/resources/{laser['id']}/blackouts"
    created = await client.post(
        url,
        json={
            "starts_at": "2026-03-29T01:30:00+01:00",
            "ends_at": "2026-03-29T04:00:00+02:00",
            "reason": "Entretien",
        },
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["starts_at"] == "2026-03-29T00:30:00Z"
    assert body["ends_at"] == "2026-03-29T02:00:00Z"
    naive = await client.post(
        url,
        json={"starts_at": "2026-03-01T09:00:00", "ends_at": "2026-03-01T10:00:00"},
        headers=admin_headers,
    )
    assert naive.status_code == 422
    backwards = await client.post(
        url,
        json={"starts_at": "2026-03-01T10:00:00Z", "ends_at": "2026-03-01T09:00:00Z"},
        headers=admin_headers,
    )
    assert backwards.status_code == 422
    listed = (await client.get(url)).json()
    assert [b["id"] for b in listed] == [body["id"]]
    assert (await client.delete(f"{url}/{body['id']}")).status_code == 401
    assert (await client.delete(f"{url}/{body['id']}", headers=admin_headers)).status_code == 204
    assert (await client.delete(f"{url}/{body['id']}", headers=admin_headers)).status_code == 404


async def test_required_training_belongs_to_the_place(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    other = await make_place(client, admin_headers, slug="other")
    training = await client.post(
        f"/api/places/{place['id']}/trainings", json={"name": "Laser"}, headers=admin_headers
    )
    foreign = await client.post(
        f"/api/places/{other['id']}/trainings", json={"name": "CNC"}, headers=admin_headers
    )
    laser = await make_resource(
        client,
        admin_headers,
        place["id"],
        name="Laser",
        required_training_id=training.json()["id"],
        requires_approval=True,
    )
    assert laser["required_training_id"] == training.json()["id"]
    assert laser["requires_approval"] is True
    refused = await client.patch(
        f"/api/resources/{laser['id']}",
        json={"required_training_id": foreign.json()["id"]},
        headers=admin_headers,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_training"
    cleared = await client.patch(
        f"/api/resources/{laser['id']}", json={"required_training_id": None}, headers=admin_headers
    )
    assert cleared.json()["required_training_id"] is None


async def test_a_nul_character_in_a_search_is_refused_not_a_server_error(client: Client) -> None:
    # PostgreSQL text holds no NUL: the fuzzer's GET /api/resources?q=%00 answered 500.
    for path in ("/api/resources", "/api/places"):
        for name in ("q", "town"):
            answer = await client.get(path, params={name: "d\x00e"})
            assert answer.status_code in (400, 422), (path, name, answer.text)
            assert answer.json()["status"] == answer.status_code
