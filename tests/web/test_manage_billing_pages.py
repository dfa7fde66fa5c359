"""The back office: prices per user type, the cancellation policy, and people (certifications,
reduced rates)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.helpers import by_id, csrf, elements, log_in, submit, text, unlabelled_controls
from tests.web.seed import Town

API = {"accept": "application/json"}


def plain(html: str) -> str:
    """The visible text, with the no-break spaces of French money as plain spaces."""
    return text(html).replace("\u00a0", " ").replace("\u202f", " ")


async def _api(web: httpx.AsyncClient, path: str) -> Any:
    response = await web.get(path, headers=API)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_rate_for_schools_is_added_and_the_other_rates_are_kept(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/prices"
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    assert "Aucune grille tarifaire" in text(page.text)
    target = f"resource:{town.laser_id}"
    citizen = {"target": target, "user_type": "citizen", "hourly": "10", "vat": "20"}
    assert (await submit(web, url, url, citizen)).status_code == 303
    school = {
        "target": target,
        "user_type": "school",
        "hourly": "7,50",
        "flat_fee": "",
        "vat": "20",
    }
    saved = await submit(web, url, url, school)
    assert saved.status_code == 303
    listed = plain((await web.get(saved.headers["location"])).text)
    assert "Le tarif est enregistré." in listed
    assert "Établissement scolaire 7,50 € 9,00 € 0,00 €" in listed
    assert "Particulier 10,00 € 12,00 € 0,00 €" in listed
    lists = await _api(web, f"/api/places/{town.place_id}/price-lists")
    rates = {r["user_type"]: r["hourly_cents"] for r in lists[0]["rates"]}
    assert lists[0]["resource_id"] == town.laser_id and rates == {"citizen": 1000, "school": 750}


async def test_price_errors_are_by_their_fields(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/prices"
    fields = {"target": "resource:999999", "user_type": "nobody", "hourly": "12,345", "vat": "7"}
    wrong = await submit(web, url, url, fields)
    assert wrong.status_code == 422
    links = [e["href"] for e in elements(wrong.text, "a") if e["href"].startswith("#")]
    assert links == ["#main", "#target", "#user_type", "#hourly", "#vat"]
    assert by_id(wrong.text, "hourly")["value"] == "12,345"
    assert "Indiquez un montant en euros, comme 12,50." in text(wrong.text)
    assert await _api(web, f"/api/places/{town.place_id}/price-lists") == []


async def test_the_cancellation_policy_sets_deadline_approval_and_refunds(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/policy"
    form = await web.get(url)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    # The default tiers of a place that never saved its billing settings.
    assert by_id(form.text, "tier-hours-0")["value"] == "48"
    assert by_id(form.text, "tier-percent-1")["value"] == "50"
    fields = {
        "deadline_hours": "72",
        "requires_approval": "on",
        "tier_hours": ["72", "24", "", ""],
        "tier_percent": ["100", "30", "", ""],
    }
    saved = await submit(web, url, url, fields)
    assert saved.status_code == 303
    shown = await web.get(saved.headers["location"])
    assert "Les conditions d'annulation sont enregistrées." in text(shown.text)
    assert by_id(shown.text, "deadline_hours")["value"] == "72"
    assert by_id(shown.text, "requires_approval").get("checked") is not None
    assert by_id(shown.text, "tier-percent-1")["value"] == "30"
    policies = await _api(web, f"/api/places/{town.place_id}/booking-policies")
    assert [(p["cancel_deadline_hours"], p["requires_approval"]) for p in policies] == [(72, True)]
    settings = await _api(web, f"/api/places/{town.place_id}/billing-settings")
    assert [(t["hours"], t["percent"]) for t in settings["refund_tiers"]] == [(72, 100), (24, 30)]


async def test_policy_errors_keep_what_was_typed_and_change_nothing(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/policy"
    typo = {"deadline_hours": "demain", "tier_hours": ["48", "24"], "tier_percent": ["100", "150"]}
    wrong = await submit(web, url, url, typo)
    assert wrong.status_code == 422
    assert "Il y a 2 erreurs" in text(wrong.text)
    assert by_id(wrong.text, "deadline_hours")["value"] == "demain"
    assert by_id(wrong.text, "tier-percent-1")["aria-invalid"] == "true"
    # Cancelling earlier would refund less: the billing service refuses, nothing is saved.
    backwards = {"deadline_hours": "24", "tier_hours": ["48", "24"], "tier_percent": ["20", "80"]}
    refused = await submit(web, url, url, backwards)
    assert refused.status_code == 422
    assert "Deux paliers ont le même délai" in text(refused.text)
    assert await _api(web, f"/api/places/{town.place_id}/booking-policies") == []


async def test_a_manager_certifies_a_training_and_grants_a_reduced_rate(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/people"
    unknown = await web.get(f"{url}?email=personne@example.fr")
    assert unknown.status_code == 404
    assert "Aucun compte n'utilise cette adresse e-mail." in text(unknown.text)
    found = await web.get(f"{url}?email={town.other_manager_email}")
    assert found.status_code == 200 and unlabelled_controls(found.text) == []
    assert by_id(found.text, "granted_on")["value"] == "2027-03-01"  # today, local
    certify = {
        "email": town.other_manager_email,
        "training_id": str(town.training_id),
        "granted_on": "01/03/2027",
    }
    done = await web.post(
        f"{url}/certifications", data={**certify, "_csrf_token": csrf(found.text)}
    )
    assert done.status_code == 303
    assert "L'habilitation est enregistrée." in text((await web.get(done.headers["location"])).text)
    holders = await _api(web, f"/api/trainings/{town.training_id}/certifications")
    assert {h["granted_on"] for h in holders} >= {"2027-03-01"} and len(holders) == 2
    assert [h["expires_on"] for h in holders if h["granted_on"] == "2027-03-01"] == ["2028-02-29"]

    bad = await web.post(
        f"{url}/certifications",
        data={**certify, "granted_on": "hier", "_csrf_token": csrf(found.text)},
    )
    assert bad.status_code == 422
    assert by_id(bad.text, "granted_on")["value"] == "hier"

    rate = {"email": town.other_manager_email, "user_type": "student"}
    granted = await web.post(f"{url}/rate", data={**rate, "_csrf_token": csrf(found.text)})
    assert granted.status_code == 303
    after = text((await web.get(granted.headers["location"])).text)
    assert "Le tarif est attribué." in after and "Tarif Étudiant" in after
    organisation_type = {**rate, "user_type": "school"}
    refused = await web.post(
        f"{url}/rate", data={**organisation_type, "_csrf_token": csrf(found.text)}
    )
    assert refused.status_code == 422


async def test_another_manager_cannot_price_or_certify_here(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/people")
    assert own.status_code == 200
    token = csrf(own.text)
    for path in ("/prices", "/policy", "/people", "/invoices"):
        response = await web.get(f"/manage/places/{town.place_id}{path}")
        assert response.status_code == 403, path
    posted = await web.post(
        f"/manage/places/{town.place_id}/prices",
        data={
            "target": f"resource:{town.laser_id}",
            "user_type": "citizen",
            "hourly": "1",
            "_csrf_token": token,
        },
    )
    assert posted.status_code == 403
    certify = await web.post(
        f"/manage/places/{town.place_id}/people/certifications",
        data={
            "email": town.other_manager_email,
            "training_id": str(town.training_id),
            "granted_on": "2027-03-01",
            "_csrf_token": token,
        },
    )
    assert certify.status_code == 403
    invoicing = await web.post(
        f"/manage/places/{town.place_id}/invoices/settings",
        data={
            "invoice_period": "month",
            "invoice_issue": "at_booking",
            "payment_terms_days": "30",
            "seller_vat_number": "FR40732829320",
            "_csrf_token": token,
        },
    )
    assert invoicing.status_code == 403
    assert await _api(web, f"/api/places/{town.place_id}/price-lists") == []


async def test_the_pages_speak_english_too(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/prices"
    rate = {"target": "kind:machine", "user_type": "*", "hourly": "4", "vat": "5.5"}
    assert (await submit(web, url, url, rate)).status_code == 303
    english = {"accept-language": "en"}
    prices = plain((await web.get(url, headers=english)).text)
    assert "Machines (3D printers, laser cutters…)" in prices
    assert "VAT 5.5 %" in prices and "any other €4.00 €4.22" in prices
    policy = text((await web.get(f"/manage/places/{town.place_id}/policy", headers=english)).text)
    assert "Refunds when a paid booking is cancelled" in policy
    assert "100 % refunded up to 48 hours before" in policy


async def test_the_place_chooses_how_it_invoices_and_needs_its_vat_number_to_group(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/invoices"
    action = f"{url}/settings"
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    assert "Facturation du lieu" in text(page.text)
    selected = [e["value"] for e in elements(page.text, "option") if "selected" in e]
    assert selected == ["booking", "at_booking"]
    assert by_id(page.text, "payment_terms_days")["value"] == "30"
    # The laser is priced with 20 % VAT.
    rate = {"target": f"resource:{town.laser_id}", "user_type": "*", "hourly": "10", "vat": "20"}
    prices = f"/manage/places/{town.place_id}/prices"
    assert (await submit(web, prices, prices, rate)).status_code == 303

    grouped = {
        "invoice_period": "month",
        "invoice_issue": "period_end",
        "payment_terms_days": "45",
        "seller_vat_number": "",
    }
    refused = await submit(web, url, action, grouped)
    assert refused.status_code == 422
    links = [e["href"] for e in elements(refused.text, "a") if e["href"].startswith("#")]
    assert links == ["#main", "#seller_vat_number"]
    assert "Ce lieu facture de la TVA : saisissez son numéro de TVA" in text(refused.text)
    assert by_id(refused.text, "payment_terms_days")["value"] == "45"
    unchanged = await _api(web, f"/api/places/{town.place_id}/billing-settings")
    assert unchanged["invoice_period"] == "booking"

    saved = await submit(web, url, action, grouped | {"seller_vat_number": "fr 40 732829320"})
    assert saved.status_code == 303
    shown = await web.get(saved.headers["location"])
    assert "La facturation du lieu est enregistrée." in text(shown.text)
    assert by_id(shown.text, "seller_vat_number")["value"] == "FR40732829320"
    settings = await _api(web, f"/api/places/{town.place_id}/billing-settings")
    assert (
        settings["invoice_period"],
        settings["invoice_issue"],
        settings["payment_terms_days"],
        settings["seller_vat_number"],
    ) == ("month", "period_end", 45, "FR40732829320")
    # The rest of the settings are kept (the default refund tiers).
    assert [(t["hours"], t["percent"]) for t in settings["refund_tiers"]] == [(48, 100), (24, 50)]

    typo = {
        "invoice_period": "week",
        "invoice_issue": "period_end",
        "payment_terms_days": "soixante",
        "seller_vat_number": "12",
    }
    wrong = await submit(web, url, action, typo)
    assert wrong.status_code == 422
    assert "Il y a 3 erreurs" in text(wrong.text)
    assert by_id(wrong.text, "payment_terms_days")["value"] == "soixante"
    assert by_id(wrong.text, "seller_vat_number")["aria-invalid"] == "true"
    again = await _api(web, f"/api/places/{town.place_id}/billing-settings")
    assert again == settings
