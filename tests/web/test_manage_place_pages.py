"""The back office of one place: overview, details, equipment and closures."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.helpers import by_id, csrf, log_in, submit, text, unlabelled_controls
from tests.web.seed import Town

API = {"accept": "application/json"}


# The place's required details as the seeded town has them (the forms send them all back).
PLACE_DETAILS = {
    "name": "Fablab du Trégor",
    "address": "3 rue de la Mairie",
    "postcode": "22300",
    "town": "Lannion",
}


async def _api(web: httpx.AsyncClient, path: str) -> Any:
    response = await web.get(path, headers=API)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_overview_links_every_section_of_my_place(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    index = await web.get("/manage")
    assert f'href="/manage/places/{town.place_id}"' in index.text
    response = await web.get(f"/manage/places/{town.place_id}")
    assert response.status_code == 200
    for section in ("agenda", "resources", "closures", "prices", "policy", "people", "invoices"):
        assert f'href="/manage/places/{town.place_id}/{section}"' in response.text
    assert 'aria-current="page"' in response.text


async def test_details_are_saved_and_errors_keep_what_was_typed(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/details"
    form = await web.get(url)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    assert by_id(form.text, "name")["value"] == "Fablab du Trégor"
    fields = {
        "name": "Fablab du Trégor",
        "address": "5 quai d'Aiguillon",
        "postcode": "223",
        "town": "Lannion",
        "phone": "",
        "email": "pas-une-adresse",
        "website": "",
        "description": "Atelier ouvert.",
    }
    wrong = await submit(web, url, url, fields)
    assert wrong.status_code == 422
    assert "Il y a 2 erreurs" in text(wrong.text)
    assert by_id(wrong.text, "postcode")["aria-invalid"] == "true"
    assert by_id(wrong.text, "address")["value"] == "5 quai d'Aiguillon"
    assert (await _api(web, f"/api/places/{town.place_id}"))["address"] == "3 rue de la Mairie"
    saved = await submit(web, url, url, {**fields, "postcode": "22300", "email": ""})
    assert saved.status_code == 303
    assert "Les informations du lieu sont enregistrées." in text(
        (await web.get(saved.headers["location"])).text
    )
    place = await _api(web, f"/api/places/{town.place_id}")
    assert place["address"] == "5 quai d'Aiguillon" and place["email"] is None
    assert place["phone"] is None


async def test_the_reminder_lead_and_sender_of_the_place_are_set_in_its_details(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/details"
    form = await web.get(url)
    assert unlabelled_controls(form.text) == []
    assert "Rappel avant une réservation, en heures" in text(form.text)
    assert by_id(form.text, "reminder_hours")["value"] == "24"
    assert by_id(form.text, "mail_from")["value"] == ""
    fields = {
        **PLACE_DETAILS,
        "reminder_hours": "400",
        "mail_from": "pas-une-adresse",
    }
    wrong = await submit(web, url, url, fields)
    assert wrong.status_code == 422
    assert by_id(wrong.text, "reminder_hours")["aria-invalid"] == "true"
    assert by_id(wrong.text, "mail_from")["aria-invalid"] == "true"
    assert by_id(wrong.text, "mail_from")["value"] == "pas-une-adresse"
    fields |= {"reminder_hours": "48", "mail_from": "fablab@tregor.example"}
    assert (await submit(web, url, url, fields)).status_code == 303
    again = await web.get(url)
    assert by_id(again.text, "reminder_hours")["value"] == "48"
    assert by_id(again.text, "mail_from")["value"] == "fablab@tregor.example"


async def test_the_calendar_reminder_of_the_place_is_set_in_its_details(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/details"
    form = await web.get(url)
    assert unlabelled_controls(form.text) == []
    assert "Rappel des agendas avant une réservation, en minutes" in text(form.text)
    assert by_id(form.text, "ics_alarm_minutes")["value"] == "60"
    fields = {
        **PLACE_DETAILS,
        "ics_alarm_minutes": "20000",
    }
    wrong = await submit(web, url, url, fields)
    assert wrong.status_code == 422
    assert by_id(wrong.text, "ics_alarm_minutes")["aria-invalid"] == "true"
    assert "de 0 à 10080" in text(wrong.text)
    assert (await submit(web, url, url, fields | {"ics_alarm_minutes": "30"})).status_code == 303
    assert by_id((await web.get(url)).text, "ics_alarm_minutes")["value"] == "30"


async def test_equipment_is_added_changed_and_deactivated(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    new = f"/manage/places/{town.place_id}/resources/new"
    form = await web.get(new)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    fields = {
        "name": "Brodeuse",
        "kind": "machine",
        "description": "",
        "capacity": "2",
        "slot_minutes": "30",
        "min_minutes": "45",  # not a multiple of the step
        "max_minutes": "",
        "buffer_minutes": "0",
        "required_training_id": str(town.training_id),
        "requires_approval": "on",
    }
    wrong = await submit(web, new, new, fields)
    assert wrong.status_code == 422
    assert "La durée minimale doit être un multiple du pas de temps" in text(wrong.text)
    assert by_id(wrong.text, "name")["value"] == "Brodeuse"
    created = await submit(web, new, new, {**fields, "min_minutes": "60"})
    assert created.status_code == 303
    listed = await web.get(created.headers["location"])
    assert "L'équipement est ajouté." in text(listed.text)
    assert "Brodeuse Machine 2 oui (après accord)" in text(listed.text)
    found = await _api(web, "/api/resources?q=Brodeuse")
    resource = found["items"][0]
    assert resource["requires_approval"] is True and resource["capacity"] == 2
    assert resource["required_training_id"] == town.training_id

    edit = f"/manage/resources/{resource['id']}"
    shown = await web.get(edit)
    assert by_id(shown.text, "active").get("checked") is not None
    # Unticked "bookable" (a browser then sends no "active" field): hidden from the public.
    changed = {**fields, "min_minutes": "60", "capacity": "3", "requires_approval": ""}
    saved = await submit(web, edit, edit, changed)
    assert saved.status_code == 303
    page = text((await web.get(saved.headers["location"])).text)
    assert "Brodeuse Machine 3 masqué au public" in page
    again = await web.get(edit)
    assert by_id(again.text, "max_minutes")["value"] == ""  # no longest booking
    assert by_id(again.text, "capacity")["value"] == "3"
    assert by_id(again.text, "active").get("checked") is None
    public = await web.get(f"/api/resources/{resource['id']}", headers=API)
    assert public.status_code == 404


async def test_closures_are_added_listed_and_removed(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/closures"
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    assert "Mardi 2 mars 2027 Fermé Inventaire" in text(page.text)  # seeded
    past = await submit(web, url, url, {"day": "2027-02-01", "reason": ""})
    assert past.status_code == 422
    assert "Choisissez aujourd'hui ou un jour à venir." in text(past.text)
    wrong = await submit(web, url, url, {"day": "31/02/2027", "reason": "Fête"})
    assert wrong.status_code == 422
    assert by_id(wrong.text, "day")["value"] == "31/02/2027"
    assert by_id(wrong.text, "reason")["value"] == "Fête"
    added = await submit(web, url, url, {"day": "10/03/2027", "reason": "Formation"})
    assert added.status_code == 303
    listed = await web.get(added.headers["location"])
    assert "La fermeture est ajoutée." in text(listed.text)
    assert "Mercredi 10 mars 2027 Fermé Formation" in text(listed.text)
    spans = await _api(web, f"/api/places/{town.place_id}/open-spans?from=2027-03-10&to=2027-03-11")
    assert spans == []
    removed = await web.post(f"{url}/2027-03-10/delete", data={"_csrf_token": csrf(listed.text)})
    assert removed.status_code == 303
    assert "10 mars" not in text((await web.get(url)).text)
    spans = await _api(web, f"/api/places/{town.place_id}/open-spans?from=2027-03-10&to=2027-03-11")
    assert len(spans) == 2


async def test_another_manager_cannot_change_this_place(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/closures")
    assert own.status_code == 200
    token = csrf(own.text)
    for path in ("", "/details", "/resources", "/closures", "/resources/new"):
        response = await web.get(f"/manage/places/{town.place_id}{path}")
        assert response.status_code == 403, path
        assert "Fablab" not in text(response.text)
    posted = await web.post(
        f"/manage/places/{town.place_id}/closures",
        data={"day": "2027-03-10", "_csrf_token": token},
    )
    assert posted.status_code == 403
    edit = await web.post(
        f"/manage/resources/{town.laser_id}", data={"name": "Pirate", "_csrf_token": token}
    )
    assert edit.status_code == 403
    removed = await web.post(
        f"/manage/places/{town.place_id}/closures/{town.closed_day.isoformat()}/delete",
        data={"_csrf_token": token},
    )
    assert removed.status_code == 403
    closures = await _api(
        web, f"/api/places/{town.place_id}/exceptions?from=2027-03-01&to=2027-03-31"
    )
    assert [c["day"] for c in closures] == ["2027-03-02"]
    assert (await _api(web, f"/api/resources/{town.laser_id}"))["name"] == "Découpeuse laser"
