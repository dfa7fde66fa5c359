"""Every setting on a page: payment methods per user type, booking rules and quotas, trainings,
managers, reduced-rate requests, API tokens, and the administrators' places and organisations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from accounts.models import User
from kernel.db import Database
from tests.support.accounts import make_organisation, make_user, stored_hash
from tests.web.helpers import (
    another_browser,
    by_id,
    csrf,
    log_in,
    submit,
    text,
    unlabelled_controls,
)
from tests.web.seed import PASSWORD, Town

API = {"accept": "application/json"}
ADMIN_EMAIL = "admin@example.fr"


@pytest.fixture
async def admin(database: Database, town: Town) -> str:
    """A platform administrator who logs in with the town's password."""
    await make_user(database, ADMIN_EMAIL, admin=True, password_hash=stored_hash(PASSWORD))
    return ADMIN_EMAIL


async def _api(web: httpx.AsyncClient, path: str) -> Any:
    response = await web.get(path, headers=API)
    assert response.status_code == 200, response.text
    return response.json()


async def test_payment_methods_are_set_per_user_type(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/payments"
    form = await web.get(url)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    # A place that never saved its settings takes cards from everyone.
    assert by_id(form.text, "m-default-card").get("checked") is not None
    assert by_id(form.text, "m-citizen-card").get("checked") is not None
    assert by_id(form.text, "m-citizen-on_site").get("checked") is None
    fields = {
        "methods": [
            "*:card",
            "citizen:card",
            "citizen:on_site",
            "student:card",
            "school:invoice",
            "school:on_site",
        ]
    }
    saved = await submit(web, url, url, fields)
    assert saved.status_code == 303
    shown = await web.get(saved.headers["location"])
    assert "Les moyens de paiement sont enregistrés." in text(shown.text)
    assert by_id(shown.text, "m-citizen-on_site").get("checked") is not None
    assert by_id(shown.text, "m-school-card").get("checked") is None
    settings = await _api(web, f"/api/places/{town.place_id}/billing-settings")
    # The student ticked like the default follows it; the others have methods of their own.
    assert settings["payment_methods"]["*"] == ["card"]
    assert settings["payment_methods"]["citizen"] == ["card", "on_site"]
    assert settings["payment_methods"]["school"] == ["invoice", "on_site"]
    assert "student" not in settings["payment_methods"]
    # The other billing settings are kept.
    assert [(t["hours"], t["percent"]) for t in settings["refund_tiers"]] == [(48, 100), (24, 50)]


async def test_payment_methods_refuse_a_box_that_is_not_on_the_form(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/payments"
    for forged in ("citizen:cheque", "nobody:card"):
        wrong = await submit(web, url, url, {"methods": ["*:on_site", forged]})
        assert wrong.status_code == 422
        assert "Cochez seulement les cases de ce formulaire." in text(wrong.text)
        assert by_id(wrong.text, "m-default-on_site").get("checked") is not None
    settings = await _api(web, f"/api/places/{town.place_id}/billing-settings")
    assert settings["payment_methods"] == {"*": ["card"]}


async def test_another_manager_cannot_set_the_payment_methods(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/payments")
    assert own.status_code == 200
    url = f"/manage/places/{town.place_id}/payments"
    assert (await web.get(url)).status_code == 403
    posted = await web.post(url, data={"methods": "*:on_site", "_csrf_token": csrf(own.text)})
    assert posted.status_code == 403


async def test_a_token_is_shown_once_listed_works_and_is_revoked(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.citizen_email)
    url = "/account/tokens"
    form = await web.get(url)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    before = {t["id"] for t in await _api(web, "/api/me/tokens")}  # the seed's own token
    fields = {"name": "Tableau de bord", "scope": "read", "expires_in_days": "30"}
    created = await submit(web, url, url, fields)
    assert created.status_code == 201
    value = by_id(created.text, "token-value")["value"]
    assert len(value) > 20 and "Copiez-le maintenant" in text(created.text)
    # The token works for a program, and its value is never shown again.
    me = await web.get("/api/me", headers={**API, "authorization": f"Bearer {value}"})
    assert me.status_code == 200 and me.json()["email"] == town.citizen_email
    listed = await web.get(url)
    assert value not in listed.text
    assert "Tableau de bord" in text(listed.text) and "Lecture seule" in text(listed.text)
    tokens = [t for t in await _api(web, "/api/me/tokens") if t["id"] not in before]
    assert [(t["name"], t["scope"]) for t in tokens] == [("Tableau de bord", "read")]
    revoked = await web.post(
        f"{url}/{tokens[0]['id']}/revoke", data={"_csrf_token": csrf(listed.text)}
    )
    assert revoked.status_code == 303
    shown = await web.get(revoked.headers["location"])
    assert "Le jeton est révoqué : il ne fonctionne plus." in text(shown.text)
    assert "révoqué le" in text(shown.text)
    refused = await web.get("/api/me", headers={**API, "authorization": f"Bearer {value}"})
    assert refused.status_code == 401


async def test_token_errors_are_by_their_fields(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.citizen_email)
    url = "/account/tokens"
    before = await _api(web, "/api/me/tokens")
    wrong = await submit(web, url, url, {"name": " ", "scope": "root", "expires_in_days": "0"})
    assert wrong.status_code == 422
    page = text(wrong.text)
    assert "Il y a 3 erreurs" in page
    assert "Nommez le jeton" in page and "Choisissez ce que le jeton permet." in page
    assert by_id(wrong.text, "expires_in_days")["value"] == "0"
    assert by_id(wrong.text, "scope")["aria-invalid"] == "true"
    assert await _api(web, "/api/me/tokens") == before


async def test_a_token_of_someone_else_cannot_be_revoked(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = "/account/tokens"
    created = await submit(web, url, url, {"name": "Agenda", "scope": "read_write"})
    assert created.status_code == 201
    token_id = max(t["id"] for t in await _api(web, "/api/me/tokens"))
    async with another_browser(web) as other:
        await log_in(other, town.citizen_email)
        page = await other.get(url)
        refused = await other.post(
            f"{url}/{token_id}/revoke", data={"_csrf_token": csrf(page.text)}
        )
        assert refused.status_code == 404
    mine = {t["id"]: t for t in await _api(web, "/api/me/tokens")}
    assert mine[token_id]["name"] == "Agenda" and mine[token_id]["revoked_at"] is None


async def test_a_training_is_created_with_its_validity_and_required_by_equipment(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/trainings"
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    listed = text(page.text)
    assert "Sécurité laser" in listed and "365 jours" in listed and "camille" in listed
    assert by_id(page.text, f"resources-{town.training_id}-{town.laser_id}").get("checked") == ""
    fields = {
        "name": "Impression 3D",
        "description": "Prise en main de l'imprimante.",
        "validity_days": "730",
        "resource_ids": [str(town.printer_id)],
    }
    created = await submit(web, url, url, fields)
    assert created.status_code == 303
    shown = await web.get(created.headers["location"])
    assert "La formation est ajoutée." in text(shown.text)
    trainings = {t["name"]: t for t in await _api(web, f"/api/places/{town.place_id}/trainings")}
    new = trainings["Impression 3D"]
    assert new["validity_days"] == 730 and new["description"] == "Prise en main de l'imprimante."
    printer = await _api(web, f"/api/resources/{town.printer_id}")
    assert printer["required_training_id"] == new["id"]

    # The laser's training now also covers the seats, and no longer the laser.
    link = f"{url}/{town.training_id}/resources"
    moved = await web.post(
        link, data={"resource_ids": [str(town.seats_id)], "_csrf_token": csrf(shown.text)}
    )
    assert moved.status_code == 303
    assert (await _api(web, f"/api/resources/{town.laser_id}"))["required_training_id"] is None
    seats = await _api(web, f"/api/resources/{town.seats_id}")
    assert seats["required_training_id"] == town.training_id
    assert (await _api(web, f"/api/resources/{town.printer_id}"))["required_training_id"] == new[
        "id"
    ]


async def test_training_errors_are_by_their_fields_and_change_nothing(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/trainings"
    fields = {"name": "", "validity_days": "jamais", "resource_ids": [str(town.room_id)]}
    wrong = await submit(web, url, url, fields)
    assert wrong.status_code == 422
    page = text(wrong.text)
    assert "Il y a 3 erreurs" in page
    assert "Nommez la formation" in page and "Choisissez des équipements de ce lieu." in page
    assert by_id(wrong.text, "validity_days")["value"] == "jamais"
    # The room is the other place's: it cannot be made to require this place's training.
    link = f"{url}/{town.training_id}/resources"
    forged = await web.post(
        link, data={"resource_ids": [str(town.room_id)], "_csrf_token": csrf(wrong.text)}
    )
    assert forged.status_code == 422
    assert len(await _api(web, f"/api/places/{town.place_id}/trainings")) == 1
    assert (await _api(web, f"/api/resources/{town.room_id}"))["required_training_id"] is None


async def test_another_manager_cannot_add_or_link_trainings_here(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/trainings")
    assert own.status_code == 200
    token = csrf(own.text)
    url = f"/manage/places/{town.place_id}/trainings"
    assert (await web.get(url)).status_code == 403
    posted = await web.post(url, data={"name": "Intrus", "_csrf_token": token})
    assert posted.status_code == 403
    link = await web.post(
        f"{url}/{town.training_id}/resources", data={"resource_ids": [], "_csrf_token": token}
    )
    assert link.status_code == 403
    # Nor through their own place's address, with this place's training.
    crossed = await web.post(
        f"/manage/places/{town.other_place_id}/trainings/{town.training_id}/resources",
        data={"_csrf_token": token},
    )
    assert crossed.status_code == 404
    laser = await _api(web, f"/api/resources/{town.laser_id}")
    assert laser["required_training_id"] == town.training_id


def _rules(codes: list[str], **typed: dict[str, str]) -> dict[str, list[str]]:
    """The rules table's fields: the values typed for some codes, the others empty."""
    fields: dict[str, list[str]] = {"code": codes}
    for name in ("advance_days", "notice_hours", "quota_hours"):
        fields[name] = [typed.get(code, {}).get(name, "") for code in codes]
    return fields


async def _codes(web: httpx.AsyncClient, place_id: int) -> list[str]:
    return ["*", *(t["code"] for t in await _api(web, f"/api/user-types?place_id={place_id}"))]


async def test_booking_rules_and_quotas_are_set_for_everyone_and_per_user_type(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/policy"
    # The place-wide deadline first: the rules keep it.
    deadline = {"deadline_hours": "72", "tier_hours": ["48"], "tier_percent": ["100"]}
    assert (await submit(web, url, url, deadline)).status_code == 303
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    codes = await _codes(web, town.place_id)
    fields = _rules(
        codes,
        **{
            "*": {"advance_days": "60", "quota_hours": "10"},
            "citizen": {"quota_hours": "4"},
            "student": {"notice_hours": "1,5", "advance_days": "90"},
        },
    )
    saved = await submit(web, url, f"{url}/rules", fields)
    assert saved.status_code == 303
    shown = await web.get(saved.headers["location"])
    assert "Les règles de réservation sont enregistrées." in text(shown.text)
    student = codes.index("student")
    assert by_id(shown.text, f"notice_hours-{student}")["value"] == "1,5"
    assert by_id(shown.text, "deadline_hours")["value"] == "72"
    policies = await _api(web, f"/api/places/{town.place_id}/booking-policies")
    stored = {
        p["user_type_code"]: (
            p["max_advance_days"],
            p["min_notice_minutes"],
            p["weekly_quota_minutes"],
            p["cancel_deadline_hours"],
        )
        for p in policies
    }
    assert stored == {
        None: (60, None, 600, 72),
        "citizen": (None, None, 240, None),
        "student": (90, 90, None, None),
    }

    # Emptying a user type's row removes its policy; the place-wide row keeps its deadline.
    emptied = _rules(codes, **{"*": {"advance_days": "60"}})
    assert (await submit(web, url, f"{url}/rules", emptied)).status_code == 303
    policies = await _api(web, f"/api/places/{town.place_id}/booking-policies")
    assert [
        (
            p["user_type_code"],
            p["max_advance_days"],
            p["weekly_quota_minutes"],
            p["cancel_deadline_hours"],
        )
        for p in policies
    ] == [(None, 60, None, 72)]


async def test_booking_rule_errors_are_by_their_cells_and_change_nothing(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/policy"
    codes = await _codes(web, town.place_id)
    citizen = codes.index("citizen")
    fields = _rules(
        codes,
        **{"*": {"advance_days": "0"}, "citizen": {"quota_hours": "200", "notice_hours": "x"}},
    )
    wrong = await submit(web, url, f"{url}/rules", fields)
    assert wrong.status_code == 422
    assert "Il y a 3 erreurs" in text(wrong.text)
    assert by_id(wrong.text, f"quota_hours-{citizen}")["value"] == "200"
    assert by_id(wrong.text, f"quota_hours-{citizen}")["aria-invalid"] == "true"
    assert by_id(wrong.text, "advance_days-0")["aria-invalid"] == "true"
    # A user type that is not offered here (a forged row) is refused too.
    forged = _rules([*codes[:-1], "nobody"])
    refused = await submit(web, url, f"{url}/rules", forged)
    assert refused.status_code == 422
    assert await _api(web, f"/api/places/{town.place_id}/booking-policies") == []


async def test_another_manager_cannot_set_the_booking_rules_here(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/policy")
    assert own.status_code == 200
    codes = await _codes(web, town.place_id)
    fields = _rules(codes, **{"*": {"quota_hours": "1"}})
    posted = await web.post(
        f"/manage/places/{town.place_id}/policy/rules",
        data={**fields, "_csrf_token": csrf(own.text)},
    )
    assert posted.status_code == 403
    async with another_browser(web) as manager:
        await log_in(manager, town.manager_email)
        assert await _api(manager, f"/api/places/{town.place_id}/booking-policies") == []


async def test_an_admin_names_and_removes_a_manager_by_e_mail(
    web: httpx.AsyncClient, town: Town, admin: str, database: Database
) -> None:
    await make_user(database, "pending@example.fr", verified=False)
    await log_in(web, admin)
    url = f"/manage/places/{town.place_id}/managers"
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    assert town.manager_email in text(page.text)
    named = await submit(web, url, url, {"email": " Camille@Example.fr "})
    assert named.status_code == 303
    shown = await web.get(named.headers["location"])
    assert "Le gestionnaire est nommé" in text(shown.text)
    managers = await _api(web, f"/api/places/{town.place_id}/managers")
    assert {m["email"] for m in managers} == {town.manager_email, town.citizen_email}

    for typed, status, message in (
        ("pas-une-adresse", 422, "Indiquez une adresse e-mail comme nom@exemple.fr."),
        ("personne@example.fr", 422, "Aucun compte n'utilise cette adresse e-mail."),
        ("pending@example.fr", 409, "n'a pas encore confirmé son adresse e-mail"),
    ):
        refused = await submit(web, url, url, {"email": typed})
        assert refused.status_code == status, typed
        assert message in text(refused.text)
        assert by_id(refused.text, "email")["value"] == typed

    removed = await web.post(
        f"{url}/{town.citizen_id}/remove", data={"_csrf_token": csrf(shown.text)}
    )
    assert removed.status_code == 303
    managers = await _api(web, f"/api/places/{town.place_id}/managers")
    assert [m["email"] for m in managers] == [town.manager_email]


async def test_managers_see_their_colleagues_but_only_admins_name_them(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/managers"
    page = await web.get(url)
    assert page.status_code == 200
    assert "Les administrateurs de la plateforme nomment" in text(page.text)
    assert 'name="email"' not in page.text
    token = csrf(page.text)
    added = await web.post(url, data={"email": town.citizen_email, "_csrf_token": token})
    assert added.status_code == 403
    async with another_browser(web) as other:
        await log_in(other, town.other_manager_email)
        assert (await other.get(url)).status_code == 403
    managers = await _api(web, f"/api/places/{town.place_id}/managers")
    assert [m["email"] for m in managers] == [town.manager_email]


async def test_an_admin_adds_a_place_with_its_first_manager(
    web: httpx.AsyncClient, town: Town, admin: str
) -> None:
    await log_in(web, admin)
    index = await web.get("/manage")
    assert 'href="/manage/admin/places/new"' in index.text
    url = "/manage/admin/places/new"
    form = await web.get(url)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    fields = {
        "name": "Tiers-lieu de Plouaret",
        "address": "1 place de l'Église",
        "postcode": "22420",
        "town": "Plouaret",
        "operator_name": "Commune de Plouaret",
        "manager_email": town.other_manager_email,
    }
    created = await submit(web, url, url, fields)
    assert created.status_code == 303
    place_id = int(created.headers["location"].split("/")[3])
    shown = await web.get(created.headers["location"])
    assert "Le lieu est ajouté : nommez ses gestionnaires ici." in text(shown.text)
    place = await _api(web, f"/api/places/{place_id}")
    assert (place["slug"], place["town"]) == ("tiers-lieu-de-plouaret", "Plouaret")
    managers = await _api(web, f"/api/places/{place_id}/managers")
    assert [m["email"] for m in managers] == [town.other_manager_email]
    # The same address name again, then an unknown manager: nothing is added.
    again = await submit(web, url, url, {**fields, "manager_email": ""})
    assert again.status_code == 409
    assert "Un autre lieu utilise déjà ce nom d'adresse" in text(again.text)
    unknown = await submit(
        web, url, url, {**fields, "slug": "plouaret-2", "manager_email": "x@example.fr"}
    )
    assert unknown.status_code == 422
    assert "Aucun compte n'utilise cette adresse e-mail." in text(unknown.text)
    assert (await _api(web, "/api/places"))["total"] == 3


async def test_place_errors_are_by_their_fields(
    web: httpx.AsyncClient, town: Town, admin: str
) -> None:
    await log_in(web, admin)
    url = "/manage/admin/places/new"
    typo = {"name": "", "slug": "Pas Bon", "address": "", "postcode": "2242", "town": "X"}
    wrong = await submit(web, url, url, {**typo, "manager_email": "moi"})
    assert wrong.status_code == 422
    assert "Il y a 6 erreurs" in text(wrong.text)
    assert by_id(wrong.text, "postcode")["value"] == "2242"
    assert by_id(wrong.text, "manager_email")["aria-invalid"] == "true"
    listed = await _api(web, "/api/places")
    assert listed["total"] == 2


async def test_an_admin_verifies_and_unverifies_an_organisation(
    web: httpx.AsyncClient, town: Town, admin: str, database: Database
) -> None:
    organisation_id = await make_organisation(database, "Collège Le Goffic", verified=False)
    await log_in(web, admin)
    url = "/manage/admin/organisations"
    page = await web.get(url)
    assert page.status_code == 200
    listed = text(page.text)
    assert "Collège Le Goffic" in listed and "non validée" in listed
    assert "Établissement scolaire" in listed
    verified = await web.post(
        f"{url}/{organisation_id}/verify", data={"_csrf_token": csrf(page.text)}
    )
    assert verified.status_code == 303
    shown = text((await web.get(verified.headers["location"])).text)
    assert "L'organisation est validée" in shown and "validée partout le" in shown
    withdrawn = await web.post(
        f"{url}/{organisation_id}/unverify", data={"_csrf_token": csrf(page.text)}
    )
    assert withdrawn.status_code == 303
    assert "non validée" in text((await web.get(url)).text)


async def test_managers_cannot_open_the_admin_pages(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    index = await web.get("/manage")
    assert "/manage/admin/" not in index.text
    for path in ("/manage/admin/places/new", "/manage/admin/organisations"):
        assert (await web.get(path)).status_code == 403
    posted = await web.post(
        "/manage/admin/places/new",
        data={"name": "Intrus", "postcode": "22300", "_csrf_token": csrf(index.text)},
    )
    assert posted.status_code == 403
    assert (await _api(web, "/api/places"))["total"] == 2


async def _asks_for(database: Database, user_id: int, code: str) -> None:
    async with database.writer() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            update(User).where(User.id == user_id).values(requested_user_type_code=code)  # type: ignore[arg-type]
        )


async def test_a_manager_approves_or_refuses_a_rate_request_at_the_front_desk(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await _asks_for(database, town.citizen_id, "student")
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/people"
    found = await web.get(f"{url}?email={town.citizen_email}")
    assert found.status_code == 200 and unlabelled_controls(found.text) == []
    assert "Demande de tarif : Étudiant" in text(found.text)
    token = csrf(found.text)
    answer = {"email": town.citizen_email, "_csrf_token": token}
    wrong = await web.post(f"{url}/rate-request", data={**answer, "decision": "maybe"})
    assert wrong.status_code == 422
    assert "Acceptez ou refusez la demande." in text(wrong.text)
    approved = await web.post(f"{url}/rate-request", data={**answer, "decision": "approve"})
    assert approved.status_code == 303
    shown = text((await web.get(approved.headers["location"])).text)
    assert "La demande est acceptée" in shown and "Demande de tarif" not in shown
    person = await _api(web, f"/api/users?email={town.citizen_email}")
    assert person["rates"] == {str(town.place_id): "student"}
    assert person["requested_user_type"] is None
    # Answered: a second answer finds nothing to answer.
    again = await web.post(f"{url}/rate-request", data={**answer, "decision": "refuse"})
    assert again.status_code == 422
    assert "Cette personne ne demande plus de tarif." in text(again.text)

    await _asks_for(database, town.citizen_id, "job_seeker")
    refused = await web.post(f"{url}/rate-request", data={**answer, "decision": "refuse"})
    assert refused.status_code == 303
    person = await _api(web, f"/api/users?email={town.citizen_email}")
    assert person["requested_user_type"] is None
    assert person["rates"] == {str(town.place_id): "student"}


async def test_another_manager_cannot_answer_a_rate_request_here(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await _asks_for(database, town.citizen_id, "student")
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/people")
    posted = await web.post(
        f"/manage/places/{town.place_id}/people/rate-request",
        data={"email": town.citizen_email, "decision": "approve", "_csrf_token": csrf(own.text)},
    )
    assert posted.status_code == 403
    assert (await web.get("/manage/admin/rate-requests")).status_code == 403
    person = await _api(web, f"/api/users?email={town.citizen_email}")
    assert person["requested_user_type"] == "student"


async def test_an_admin_answers_rate_requests_for_every_place(
    web: httpx.AsyncClient, town: Town, admin: str, database: Database
) -> None:
    await _asks_for(database, town.citizen_id, "student")
    other = await make_user(database, "yann@example.fr")
    await _asks_for(database, other.user_id, "job_seeker")
    await log_in(web, admin)
    url = "/manage/admin/rate-requests"
    page = await web.get(url)
    assert page.status_code == 200
    listed = text(page.text)
    assert "Étudiant" in listed and "Demandeur d'emploi" in listed
    token = csrf(page.text)
    approved = await web.post(f"{url}/{town.citizen_id}/approve", data={"_csrf_token": token})
    assert approved.status_code == 303
    refused = await web.post(f"{url}/{other.user_id}/refuse", data={"_csrf_token": token})
    assert refused.status_code == 303
    assert "Personne n'attend de réponse." in text((await web.get(url)).text)
    citizen = await _api(web, f"/api/users?email={town.citizen_email}")
    assert citizen["user_type"] == "student"
    yann = await _api(web, "/api/users?email=yann@example.fr")
    assert (yann["user_type"], yann["requested_user_type"]) == ("citizen", None)
    # Nothing left to approve: a conflict, not an error.
    again = await web.post(f"{url}/{town.citizen_id}/approve", data={"_csrf_token": token})
    assert again.status_code == 409
