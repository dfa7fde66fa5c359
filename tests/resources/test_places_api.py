"""The catalogue API: places, hours, exceptions, resources, blackouts."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.factories import make_place, make_resource, place_payload
from tests.support.accounts import make_user

Client = httpx.AsyncClient


async def test_create_and_read_place(client: Client, admin_headers: dict[str, str]) -> None:
    place = await make_place(client, admin_headers)
    assert place["slug"] == "fablab-lannion"
    assert place["resources"] == []
    response = await client.get(f"/api/places/{place['id']}")
    assert response.status_code == 200
    assert response.json()["town"] == "Lannion"
    assert response.json()["operator_siret"] == "73282932000074"


async def test_siret_is_compacted_and_validated(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers, operator_siret="732 829 320 00074")
    assert place["operator_siret"] == "73282932000074"
    bad = await client.post(
        "/api/places",
        json=place_payload(slug="other", operator_siret="73282932000075"),
        headers=admin_headers,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["operator_siret"]


async def test_malformed_place_names_every_field(
    client: Client, admin_headers: dict[str, str]
) -> None:
    payload = place_payload(postcode="2230", timezone="Mars/Olympus", latitude=123)
    response = await client.post("/api/places", json=payload, headers=admin_headers)
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"postcode", "timezone", "latitude"}
    assert (await client.get("/api/places")).json()["total"] == 0  # nothing half-written


async def test_unknown_fields_are_refused(client: Client, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/places", json=place_payload(colour="blue"), headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "colour"


async def test_duplicate_slug_is_a_conflict(client: Client, admin_headers: dict[str, str]) -> None:
    await make_place(client, admin_headers)
    response = await client.post("/api/places", json=place_payload(), headers=admin_headers)
    assert response.status_code == 409
    assert response.json()["code"] == "slug_taken"


async def test_catalogue_writes_follow_roles(
    client: Client, admin_headers: dict[str, str], database: Database
) -> None:
    anonymous = await client.post("/api/places", json=place_payload())
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    revoked = await client.post(
        "/api/places", json=place_payload(), headers={"Authorization": "Bearer nope"}
    )
    assert revoked.status_code == 401
    place = await make_place(client, admin_headers)
    other = await make_place(client, admin_headers, slug="other")
    citizen = await make_user(database, "citizen@example.fr")
    manager = await make_user(database, "manager@example.fr", manages=(place["id"],))
    stranger = await make_user(database, "stranger@example.fr", manages=(other["id"],))
    reader = await make_user(database, "reader@example.fr", manages=(place["id"],), scope="read")
    # Only platform admins create places.
    by_manager = await client.post(
        "/api/places", json=place_payload(slug="x"), headers=manager.headers
    )
    assert by_manager.status_code == 403
    writes = [
        ("PATCH", f"/api/places/{place['id']}", {"name": "Renamed"}),
        ("PUT", f"/api/places/{place['id']}/opening-hours", {"spans": []}),
        ("POST", f"/api/places/{place['id']}/resources", {"name": "Laser", "kind": "machine"}),
    ]
    for method, path, body in writes:
        assert (await client.request(method, path, json=body)).status_code == 401, path
        for person, expected in [(citizen, 403), (stranger, 403), (reader, 403)]:
            response = await client.request(method, path, json=body, headers=person.headers)
            assert response.status_code == expected, (path, person.email, response.text)
        allowed = await client.request(method, path, json=body, headers=manager.headers)
        assert allowed.status_code in (200, 201), (path, allowed.text)
    assert (await client.get(f"/api/places/{place['id']}")).json()["name"] == "Renamed"
    assert (
        await client.delete(f"/api/places/{other['id']}", headers=manager.headers)
    ).status_code == 403


async def test_unknown_place_is_404_problem(client: Client, admin_headers: dict[str, str]) -> None:
    response = await client.get("/api/places/999")
    assert response.status_code == 404
    assert response.json()["code"] == "place_not_found"
    patch = await client.patch("/api/places/999", json={"name": "x"}, headers=admin_headers)
    assert patch.status_code == 404
    assert (await client.get("/api/nowhere")).json()["status"] == 404


async def test_filter_places(client: Client, admin_headers: dict[str, str]) -> None:
    lannion = await make_place(client, admin_headers)
    metz = await make_place(
        client,
        admin_headers,
        slug="fabrique-metz",
        name="La Fabrique",
        town="Metz",
        postcode="57000",
        description="Tiers-lieu",
    )
    await make_resource(client, admin_headers, lannion["id"], kind="machine")
    await make_resource(client, admin_headers, metz["id"], kind="space", name="Salle")

    async def slugs(query: str) -> list[str]:
        response = await client.get(f"/api/places?{query}")
        assert response.status_code == 200
        return [p["slug"] for p in response.json()["items"]]

    assert await slugs("town=lannion") == ["fablab-lannion"]
    assert await slugs("kind=space") == ["fabrique-metz"]
    assert await slugs("q=TIERS") == ["fabrique-metz"]
    assert await slugs("q=%25") == []  # a LIKE wildcard is matched literally
    assert await slugs("") == ["fablab-lannion", "fabrique-metz"]  # ordered by town
    assert await slugs("limit=1&offset=1") == ["fabrique-metz"]
    bad = await client.get("/api/places?limit=0")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "limit"
    assert (await client.get("/api/places?kind=spaceship")).status_code == 422


async def test_patch_place_changes_only_given_fields(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    response = await client.patch(
        f"/api/places/{place['id']}", json={"name": "Nouveau nom"}, headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Nouveau nom"
    assert response.json()["town"] == "Lannion"
    assert response.json()["updated_at"] >= place["updated_at"]


async def _mail_settings(database: Database, place_id: int) -> tuple[int, str | None]:
    async with database.reader() as session:
        row = (
            await session.exec(
                text("SELECT reminder_hours, mail_from FROM place WHERE id = :id").bindparams(
                    id=place_id
                )
            )
        ).one()
        return int(row[0]), row[1]


async def test_a_places_reminder_lead_and_sender_are_set_validated_and_removed(
    client: Client, admin_headers: dict[str, str], database: Database
) -> None:
    place = await make_place(client, admin_headers)
    url = f"/api/places/{place['id']}"
    assert await _mail_settings(database, place["id"]) == (24, None)  # the defaults
    wrong = await client.patch(
        url, json={"reminder_hours": 337, "mail_from": "Fablab <x"}, headers=admin_headers
    )
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"reminder_hours", "mail_from"}
    negative = await client.patch(url, json={"reminder_hours": -1}, headers=admin_headers)
    assert negative.status_code == 422
    saved = await client.patch(
        url,
        json={"reminder_hours": 48, "mail_from": "fablab@lannion.example"},
        headers=admin_headers,
    )
    assert saved.status_code == 200, saved.text
    assert await _mail_settings(database, place["id"]) == (48, "fablab@lannion.example")
    # 0 turns reminders off; null gives the place the instance's sender back.
    off = await client.patch(
        url, json={"reminder_hours": 0, "mail_from": None}, headers=admin_headers
    )
    assert off.status_code == 200, off.text
    assert await _mail_settings(database, place["id"]) == (0, None)


async def test_deactivated_place_disappears_from_public_reads(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    await client.patch(f"/api/places/{place['id']}", json={"active": False}, headers=admin_headers)
    assert (await client.get(f"/api/places/{place['id']}")).status_code == 404
    assert (await client.get("/api/places")).json()["total"] == 0


async def test_only_platform_admins_open_or_close_a_place(
    client: Client, admin_headers: dict[str, str], database: Database
) -> None:
    place = await make_place(client, admin_headers)
    url = f"/api/places/{place['id']}"
    manager = await make_user(database, "gerant@lannion.fr", manages=(place["id"],))
    refused = await client.patch(url, json={"active": False}, headers=manager.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "admin_only_field"
    assert refused.json()["errors"] == [{"field": "active", "message": refused.json()["detail"]}]
    assert (await client.get(url)).json()["active"] is True  # nothing changed
    # Sending back the value a place has (a whole object read, then written) is no change.
    same = await client.patch(
        url, json={"name": "Renommé", "active": True}, headers=manager.headers
    )
    assert same.status_code == 200, same.text
    assert same.json()["name"] == "Renommé"
    closed = await client.patch(url, json={"active": False}, headers=admin_headers)
    assert closed.status_code == 200
    reopened = await client.patch(url, json={"active": True}, headers=manager.headers)
    assert reopened.status_code == 403
    assert (await client.get(url)).status_code == 404  # still closed to the public


async def test_delete_place_with_resources_is_refused(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    await make_resource(client, admin_headers, place["id"])
    response = await client.delete(f"/api/places/{place['id']}", headers=admin_headers)
    assert response.status_code == 409
    assert response.json()["code"] == "place_has_resources"
    empty = await make_place(client, admin_headers, slug="empty")
    assert (
        await client.delete(f"/api/places/{empty['id']}", headers=admin_headers)
    ).status_code == 204
    assert (await client.get(f"/api/places/{empty['id']}")).status_code == 404


async def _set_hours(client: Client, headers: dict[str, str], place_id: int) -> dict[str, Any]:
    spans = [{"weekday": day, "opens": "09:00", "closes": "12:00"} for day in range(5)] + [
        {"weekday": day, "opens": "14:00", "closes": "18:00"} for day in range(5)
    ]
    response = await client.put(
        f"/api/places/{place_id}/opening-hours", json={"spans": spans}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_opening_hours_and_osm_format(client: Client, admin_headers: dict[str, str]) -> None:
    place = await make_place(client, admin_headers)
    body = await _set_hours(client, admin_headers, place["id"])
    assert len(body["opening_hours"]) == 10
    assert body["opening_hours_osm"] == "Mo-Fr 09:00-12:00,14:00-18:00; PH off"
    overlapping = [
        {"weekday": 0, "opens": "09:00", "closes": "12:00"},
        {"weekday": 0, "opens": "11:00", "closes": "13:00"},
    ]
    response = await client.put(
        f"/api/places/{place['id']}/opening-hours",
        json={"spans": overlapping},
        headers=admin_headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_opening_hours"
    # the previous schedule is intact
    assert len((await client.get(f"/api/places/{place['id']}")).json()["opening_hours"]) == 10


async def test_open_spans_apply_holidays_exceptions_and_dst(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    await _set_hours(client, admin_headers, place["id"])
    pid = place["id"]
    # Week of 23 March 2026 (Mon) to 29 March (Sun, DST starts): Mon-Fri, two spans a day.
    spans = (await client.get(f"/api/places/{pid}/open-spans?from=2026-03-23&to=2026-03-30")).json()
    assert len(spans) == 10
    assert spans[0] == {"starts_at": "2026-03-23T08:00:00Z", "ends_at": "2026-03-23T11:00:00Z"}
    # Week after DST: 09:00 Paris is 07:00 UTC.
    after = (await client.get(f"/api/places/{pid}/open-spans?from=2026-03-30&to=2026-03-31")).json()
    assert after[0]["starts_at"] == "2026-03-30T07:00:00Z"
    # Easter Monday 6 April 2026 is a public holiday: closed.
    easter = (
        await client.get(f"/api/places/{pid}/open-spans?from=2026-04-06&to=2026-04-07")
    ).json()
    assert easter == []
    # A closure and a special opening on a holiday.
    closed = await client.put(
        f"/api/places/{pid}/exceptions/2026-04-08",
        json={"closed": True, "reason": "Inventaire"},
        headers=admin_headers,
    )
    assert closed.status_code == 200
    special = await client.put(
        f"/api/places/{pid}/exceptions/2026-04-06",
        json={"closed": False, "spans": [{"opens": "10:00", "closes": "16:00"}]},
        headers=admin_headers,
    )
    assert special.status_code == 200
    week = (await client.get(f"/api/places/{pid}/open-spans?from=2026-04-06&to=2026-04-09")).json()
    days = [s["starts_at"][:10] for s in week]
    assert days == ["2026-04-06", "2026-04-07", "2026-04-07"]
    assert week[0] == {"starts_at": "2026-04-06T08:00:00Z", "ends_at": "2026-04-06T14:00:00Z"}
    listed = (
        await client.get(f"/api/places/{pid}/exceptions?from=2026-04-01&to=2026-05-01")
    ).json()
    assert [e["day"] for e in listed] == ["2026-04-06", "2026-04-08"]
    removed = await client.delete(f"/api/places/{pid}/exceptions/2026-04-08", headers=admin_headers)
    assert removed.status_code == 204
    again = await client.delete(f"/api/places/{pid}/exceptions/2026-04-08", headers=admin_headers)
    assert again.status_code == 404


async def test_exception_payload_must_be_coherent(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    response = await client.put(
        f"/api/places/{place['id']}/exceptions/2026-04-08",
        json={"closed": True, "spans": [{"opens": "10:00", "closes": "16:00"}]},
        headers=admin_headers,
    )
    assert response.status_code == 422
    bad_day = await client.put(
        f"/api/places/{place['id']}/exceptions/2026-02-30",
        json={"closed": True},
        headers=admin_headers,
    )
    assert bad_day.status_code in (404, 422)


async def test_open_span_range_is_bounded(client: Client, admin_headers: dict[str, str]) -> None:
    place = await make_place(client, admin_headers)
    response = await client.get(
        f"/api/places/{place['id']}/open-spans?from=2026-01-01&to=2028-01-01"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "range_too_long"
    backwards = await client.get(
        f"/api/places/{place['id']}/open-spans?from=2026-01-02&to=2026-01-01"
    )
    assert backwards.status_code == 422


async def test_alsace_moselle_holidays(client: Client, admin_headers: dict[str, str]) -> None:
    metz = await make_place(client, admin_headers, slug="metz", holiday_subdivision="57")
    lannion = await make_place(client, admin_headers, slug="lannion")
    query = "from=2026-12-24&to=2026-12-28"
    metz_days = [
        h["day"] for h in (await client.get(f"/api/places/{metz['id']}/holidays?{query}")).json()
    ]
    lannion_days = [
        h["day"] for h in (await client.get(f"/api/places/{lannion['id']}/holidays?{query}")).json()
    ]
    assert metz_days == ["2026-12-25", "2026-12-26"]
    assert lannion_days == ["2026-12-25"]


async def test_a_place_says_where_and_when_to_pay_on_site(
    client: Client, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers, on_site_payment="À l'accueil, avant la séance.")
    assert place["on_site_payment"] == "À l'accueil, avant la séance."
    changed = await client.patch(
        f"/api/places/{place['id']}",
        json={"on_site_payment": "Au comptoir, le jour même : carte ou espèces."},
        headers=admin_headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["on_site_payment"] == "Au comptoir, le jour même : carte ou espèces."
    too_long = await client.patch(
        f"/api/places/{place['id']}", json={"on_site_payment": "x" * 501}, headers=admin_headers
    )
    assert too_long.status_code == 422
    assert [e["field"] for e in too_long.json()["errors"]] == ["on_site_payment"]
