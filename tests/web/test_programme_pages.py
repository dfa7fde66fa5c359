"""The programme's pages: the programme filtered by town, kind and price, a session's page and
"register", my registrations, and the manager's sign-in sheet and its CSV (formula-safe)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import httpx
from sqlalchemy import text as sql

from kernel.auth.actor import Actor
from kernel.db import Database
from programme.schemas import ResourceUse, SessionCreate, SessionDate
from tests.support.accounts import make_user, stored_hash
from tests.support.apps import runtime_on
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import csrf, log_in, text, unlabelled_controls
from tests.web.seed import PARIS, PASSWORD, Town


async def _publish(database: Database, town: Town) -> tuple[int, int]:
    """Today 10:00-12:00 the laser training at Lannion; tomorrow an evening at Brest."""
    async with database.engine.connect() as connection:
        managers = dict(
            (
                await connection.execute(
                    sql("SELECT email, id FROM user_account WHERE email IN (:a, :b)"),
                    {"a": town.manager_email, "b": town.other_manager_email},
                )
            ).all()
        )
    today = FIXED_NOW.astimezone(PARIS).date()
    made = []
    async with (
        runtime_on(database, lambda: FIXED_NOW) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        sessions = runtime.programme.sessions(session)
        for email, place_id, body in (
            (
                town.manager_email,
                town.place_id,
                SessionCreate(
                    title="Formation sécurité laser",
                    kind="training",
                    dates=[
                        SessionDate(
                            starts_at=datetime.combine(today, time(10), PARIS),
                            ends_at=datetime.combine(today, time(12), PARIS),
                        )
                    ],
                    seats=6,
                    training_id=town.training_id,
                    resources=[ResourceUse(resource_id=town.laser_id)],
                ),
            ),
            (
                town.other_manager_email,
                town.other_place_id,
                SessionCreate(
                    title="Soirée portes ouvertes",
                    kind="event",
                    dates=[
                        SessionDate(
                            starts_at=datetime.combine(today + timedelta(1), time(18), PARIS),
                            ends_at=datetime.combine(today + timedelta(1), time(20), PARIS),
                        )
                    ],
                    seats=40,
                ),
            ),
        ):
            manager = Actor(
                user_id=managers[email], managed_place_ids=frozenset({place_id}), via="session"
            )
            [one] = await sessions.publish(manager, place_id, body)
            made.append(one.id)
    return made[0], made[1]


async def test_the_programme_is_filtered_by_town_kind_and_price(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    training, evening = await _publish(database, town)
    everything = await web.get("/programme")
    assert everything.status_code == 200
    assert unlabelled_controls(everything.text) == []
    assert "2 séances" in text(everything.text)
    brest = text((await web.get("/programme?town=Brest")).text)
    assert "Soirée portes ouvertes" in brest and "Formation sécurité laser" not in brest
    trainings = text((await web.get("/programme?kind=training")).text)
    assert "Formation sécurité laser" in trainings and "Soirée" not in trainings
    assert "0 séance" in text((await web.get("/programme?price=paid")).text)
    place = text((await web.get(f"/places/{town.place_id}/programme")).text)
    assert "Programme de Fablab du Trégor" in place and "Soirée" not in place
    feed = await web.get(f"/api/places/{town.other_place_id}/sessions.ics")
    assert feed.headers["content-type"].startswith("text/calendar")
    assert f"UID:session-{evening}@" in feed.text and "Soirée portes ouvertes" in feed.text
    page = text((await web.get(f"/sessions/{training}")).text)
    assert "6 places restantes / 6" in page and "Se connecter pour s'inscrire" in page


async def test_a_person_registers_and_the_manager_marks_the_sheet_and_exports_it(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    training, _ = await _publish(database, town)
    await make_user(database, "=cmd@example.fr", password_hash=stored_hash(PASSWORD))
    for email in (town.citizen_email, "=cmd@example.fr"):
        web.cookies.clear()
        await log_in(web, email)
        page = await web.get(f"/sessions/{training}")
        assert unlabelled_controls(page.text) == []
        done = await web.post(
            f"/sessions/{training}/register", data={"_csrf_token": csrf(page.text), "seats": "1"}
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/account/registrations?notice=registered"
    mine = await web.get("/account/registrations?notice=registered")
    assert "Vous êtes inscrit" in text(mine.text) and "Inscrit" in text(mine.text)

    web.cookies.clear()
    await log_in(web, town.manager_email)
    sheet = await web.get(f"/manage/sessions/{training}")
    assert sheet.status_code == 200 and "Feuille d'émargement : " in text(sheet.text)
    listed = await web.get(f"/manage/places/{town.place_id}/programme")
    assert "Inscrits et feuille d'émargement" in text(listed.text)
    async with database.engine.connect() as connection:
        first = (
            await connection.execute(
                sql("SELECT id FROM programme_registration WHERE user_id = :u"),
                {"u": town.citizen_id},
            )
        ).scalar_one()
    marked = await web.post(
        f"/manage/registrations/{first}/attendance",
        data={"_csrf_token": csrf(sheet.text), "attended": "1"},
    )
    assert marked.status_code == 303
    after = text((await web.get(marked.headers["location"])).text)
    assert "La feuille d'émargement est enregistrée." in after
    exported = await web.get(f"/manage/sessions/{training}/registrants.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = exported.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "nom,email,places,statut,inscrit le,présent,montant,paiement"
    # A free session: nothing to pay.
    assert any(r.startswith("camille,") and r.endswith(',oui,"0,00",free') for r in rows[1:]), rows
    assert any(r.startswith("'=cmd,'=cmd@example.fr,1,registered,") for r in rows[1:]), rows

    # Another place's manager learns nothing of this sheet.
    web.cookies.clear()
    await log_in(web, town.other_manager_email)
    assert (await web.get(f"/manage/sessions/{training}")).status_code in (403, 404)
