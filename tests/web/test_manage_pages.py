"""The back office: my places, and the opening hours form, scoped to the places I manage."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text as text_sql

from kernel.db import Database
from tests.web.helpers import by_id, csrf, elements, log_in, submit, text, unlabelled_controls
from tests.web.seed import Town


def hours_form(html: str) -> dict[str, list[str]]:
    """The hours form's fields as a browser would send them."""
    fields: dict[str, list[str]] = {"weekday": [], "opens": [], "closes": []}
    for control in elements(html, "input"):
        if control.get("name") in fields:
            fields[control["name"]].append(control.get("value", ""))
    return fields


async def _api_hours(web: httpx.AsyncClient, place_id: int) -> list[dict[str, Any]]:
    response = await web.get(f"/api/places/{place_id}", headers={"accept": "application/json"})
    hours: list[dict[str, Any]] = response.json()["opening_hours"]
    return hours


async def test_the_back_office_lists_only_my_places(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    response = await web.get("/manage")
    assert response.status_code == 200
    page = text(response.text)
    assert "Vous gérez 1 lieu." in page
    assert "Fablab du Trégor" in page and "Médiathèque des Capucins" not in page
    assert "Découpeuse laser Machine 1" in page
    assert f'href="/manage/places/{town.place_id}/hours"' in response.text


async def test_people_who_manage_nothing_are_refused(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.citizen_email)
    response = await web.get("/manage")
    assert response.status_code == 403
    assert "Seuls les gestionnaires d'un lieu peuvent ouvrir cette page." in text(response.text)


async def test_a_manager_cannot_open_another_place_s_hours(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.other_manager_email)
    response = await web.get(f"/manage/places/{town.place_id}/hours")
    assert response.status_code == 403
    assert "Vous ne gérez pas ce lieu." in text(response.text)
    own = await web.get(f"/manage/places/{town.other_place_id}/hours")
    assert own.status_code == 200
    # Refused before the form is read: a malformed post teaches nothing about the place.
    posted = await web.post(
        f"/manage/places/{town.place_id}/hours",
        data={"weekday": "0", "_csrf_token": csrf(own.text)},
    )
    assert posted.status_code == 403
    assert "Vous ne gérez pas ce lieu." in text(posted.text)
    before = await _api_hours(web, town.place_id)
    assert len(before) == 12


async def test_the_hours_form_shows_the_current_hours_and_saves_new_ones(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/hours"
    form = await web.get(url)
    assert form.status_code == 200
    assert unlabelled_controls(form.text) == []
    fields = hours_form(form.text)
    assert fields["weekday"][:2] == ["0", "0"] and len(fields["weekday"]) == 14
    assert fields["opens"][:2] == ["09:00", "14:00"]
    assert fields["closes"][:2] == ["12:30", "18:00"]
    # Monday afternoon ends at 19:00; Sunday opens 10:00-12:00 (typed the French way).
    fields["closes"][1] = "19:00"
    fields["opens"][12], fields["closes"][12] = "10h", "12h00"
    response = await submit(web, url, url, fields)
    assert response.status_code == 303
    assert response.headers["location"] == "/manage?notice=hours_saved"
    assert "Les horaires d'ouverture sont enregistrés." in text(
        (await web.get(response.headers["location"])).text
    )
    place = text((await web.get(f"/places/{town.place_id}")).text)
    assert "Lundi 09:00-12:30, 14:00-19:00" in place
    assert "Dimanche 10:00-12:00" in place


async def test_hours_errors_are_by_their_fields_and_nothing_is_saved(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/hours"
    fields = hours_form((await web.get(url)).text)
    fields["closes"][0] = "08:00"  # Monday morning closes before it opens
    fields["opens"][2] = "banana"  # Tuesday morning
    fields["closes"][4] = ""  # Wednesday morning: opening without closing
    fields["opens"][7] = "12:00"  # Thursday afternoon overlaps the morning (09:00-12:30)
    response = await submit(web, url, url, fields)
    assert response.status_code == 422
    html = response.text
    assert "Il y a 4 erreurs" in text(html)
    links = [e["href"] for e in elements(html, "a") if e["href"].startswith("#")]
    assert links == ["#main", "#closes-0", "#opens-2", "#closes-4", "#opens-7"]
    assert "L'heure de fermeture doit suivre l'heure d'ouverture." in text(html)
    assert "Indiquez une heure comme 09:30." in text(html)
    assert "Indiquez l'heure de fermeture, ou effacez les deux heures." in text(html)
    assert "Cette plage chevauche une autre plage du même jour." in text(html)
    assert by_id(html, "opens-2")["value"] == "banana"  # what was typed stays
    assert by_id(html, "closes-0")["aria-invalid"] == "true"
    assert len(await _api_hours(web, town.place_id)) == 12  # unchanged


async def test_a_mangled_post_never_closes_the_place(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/hours"
    response = await submit(web, url, url, {"opens": "09:00"})
    assert response.status_code == 400
    assert len(await _api_hours(web, town.place_id)) == 12


async def test_the_people_page_grants_a_rate_for_this_place_only(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.manager_email)
    people = f"/manage/places/{town.place_id}/people"
    granted = await submit(
        web,
        f"{people}?email={town.citizen_email}",
        f"{people}/rate",
        {"email": town.citizen_email, "user_type": "student"},
    )
    assert granted.status_code == 303, text(granted.text)[:300]
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text_sql(
                "SELECT u.user_type_code, g.place_id, g.user_type_code FROM user_account u "
                "JOIN rate_grant g ON g.user_id = u.id WHERE u.id = :i"
            ),
            {"i": town.citizen_id},
        )
        assert [tuple(r) for r in rows] == [("citizen", town.place_id, "student")]
    shown = await web.get(f"{people}?email={town.citizen_email}")
    assert by_id(shown.text, "user_type") and "Étudiant" in text(shown.text)
