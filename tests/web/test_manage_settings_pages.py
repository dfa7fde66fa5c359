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
