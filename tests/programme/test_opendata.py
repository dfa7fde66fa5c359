"""The places' programmes as an open data set ("séances", CSV and JSON): every session to come
of an active place, cancelled ones marked, named by the place id of the national export.

Now is Monday 1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import text

from kernel.db import Database
from programme.opendata import FIELDS
from tests.programme.support import publish, register, session_body
from tests.support.accounts import make_user
from tests.support.booking import Fablab, paris

Client = httpx.AsyncClient


async def test_the_sessions_to_come_are_an_open_data_set_in_csv_and_json(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "gerante@fablab.fr", manages=(lab.place_id,))
    alice = await make_user(database, "alice@example.fr")
    body = session_body(paris(2027, 3, 6, 10), paris(2027, 3, 6, 12), resources=(lab.laser,))
    [workshop] = await publish(api, manager, lab.place_id, {**body, "title": "=HYPERLINK()"})
    [evening] = await publish(
        api,
        manager,
        lab.place_id,
        session_body(paris(2027, 3, 9, 18), paris(2027, 3, 9, 20), kind="event", seats=40),
    )
    assert (await register(api, alice, workshop["id"], seats=2)).status_code == 201
    cancelled = await api.post(
        f"/api/sessions/{evening['id']}/cancel", json={}, headers=manager.headers
    )
    assert cancelled.status_code == 200, cancelled.text

    as_json = await api.get("/api/opendata/seances.json")
    assert as_json.status_code == 200, as_json.text
    first, second = as_json.json()
    assert list(first) == list(FIELDS)
    assert first["id"].endswith(f"-seance-{workshop['id']}")
    assert (first["titre"], first["type"], first["statut"]) == (
        "=HYPERLINK()",
        "atelier",
        "programmee",
    )
    assert (first["places"], first["places_restantes"]) == (12, 10)
    assert first["debut"] == "2027-03-06T10:00:00+01:00"  # the place's clock, with its offset
    assert first["fuseau_horaire"] == "Europe/Paris"
    assert first["lieu_id"].endswith(f"-{lab.place_id}")
    assert first["url"].endswith(f"/sessions/{workshop['id']}")
    assert (second["type"], second["statut"], second["places_restantes"]) == (
        "evenement",
        "annulee",
        0,
    )
    places = (await api.get("/api/opendata/lieux.json")).json()
    assert first["lieu_id"] in {p["id"] for p in places}  # the two files join

    as_csv = await api.get("/api/opendata/seances.csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert tuple(table[0]) == FIELDS
    assert table[0]["titre"] == "'=HYPERLINK()"  # formula-safe
    assert [r["statut"] for r in table] == ["programmee", "annulee"]

    # An inactive place's programme is not published.
    async with database.engine.begin() as connection:
        await connection.execute(
            text("UPDATE place SET active = false WHERE id = :id"), {"id": lab.place_id}
        )
    assert (await api.get("/api/opendata/seances.json")).json() == []
