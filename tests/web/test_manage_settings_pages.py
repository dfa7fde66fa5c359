"""Every setting on a page: payment methods per user type, booking rules and quotas, trainings,
managers, reduced-rate requests, API tokens, and the administrators' places and organisations."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.helpers import by_id, csrf, log_in, submit, text, unlabelled_controls
from tests.web.seed import Town

API = {"accept": "application/json"}


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
    other = httpx.AsyncClient(transport=web._transport, base_url=str(web.base_url))
    async with other:
        other.headers.update(web.headers)
        await log_in(other, town.citizen_email)
        page = await other.get(url)
        refused = await other.post(
            f"{url}/{token_id}/revoke", data={"_csrf_token": csrf(page.text)}
        )
        assert refused.status_code == 404
    mine = {t["id"]: t for t in await _api(web, "/api/me/tokens")}
    assert mine[token_id]["name"] == "Agenda" and mine[token_id]["revoked_at"] is None
