"""Memberships on pages: the manager adds a plan and receives a member's payment; the citizen
subscribes from the place's plans, sees the period and its invoice, and cancels; a members-only
resource says so."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.support.booking import set_resource
from tests.web.helpers import another_browser, csrf, log_in, submit, text, unlabelled_controls
from tests.web.seed import Town


async def test_a_plan_is_added_subscribed_paid_and_cancelled_on_pages(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/plans"
    form = await web.get(url)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    assert "Personne n'a encore adhéré ici." in text(form.text)
    bad = await submit(web, url, url, {"name": "", "period": "year", "price": "douze"})
    assert bad.status_code == 422
    assert "Nommez la formule" in text(bad.text) and "Indiquez un montant" in text(bad.text)
    missing = await submit(
        web, url, url, {"name": "Adhésion", "period": "year", "price": "30", "hours": "5"}
    )
    assert missing.status_code == 422 and "Choisissez un équipement" in text(missing.text)
    made = await submit(
        web,
        url,
        url,
        {
            "name": "Adhésion annuelle",
            "period": "year",
            "price": "25,00",
            "vat": "20",
            "hours": "10",
            "target": f"resource:{town.laser_id}",
            "members_access": "on",
            "auto_renew": "on",
        },
    )
    assert made.status_code == 303, text(made.text)[:400]
    listed = text((await web.get(url)).text)
    assert "Adhésion annuelle" in listed and "30,00 €" in listed.replace("\u00a0", " ")
    assert "10 h incluses par période" in listed

    async with another_browser(web) as citizen:
        await log_in(citizen, town.citizen_email)
        plans = await citizen.get(f"/places/{town.place_id}/plans")
        assert plans.status_code == 200 and unlabelled_controls(plans.text) == []
        assert "Adhésion annuelle" in text(plans.text)
        plan_id = int(plans.text.split(f"/places/{town.place_id}/plans/")[1].split("/")[0])
        joined = await citizen.post(
            f"/places/{town.place_id}/plans/{plan_id}/subscribe",
            data={"auto_renew": "on", "_csrf_token": csrf(plans.text)},
        )
        assert joined.status_code == 303, text(joined.text)[:400]
        mine = await citizen.get("/account/memberships")
        page = text(mine.text)
        assert "Adhésion annuelle" in page and "à payer sur place" in page
        assert "du lundi 1 mars 2027 au mardi 29 février 2028" in page
        again = await citizen.post(
            f"/places/{town.place_id}/plans/{plan_id}/subscribe",
            data={"_csrf_token": csrf(plans.text)},
        )
        assert again.status_code == 409
        assert "Vous avez déjà cette adhésion ici." in text(again.text)

        holders = await web.get(url)
        membership_id = int(holders.text.split("/plans/memberships/")[1].split("/")[0])
        paid = await web.post(
            f"{url}/memberships/{membership_id}/receive", data={"_csrf_token": csrf(holders.text)}
        )
        assert paid.status_code == 303
        after = text((await web.get(paid.headers["location"])).text).replace("\u00a0", " ")
        assert "Le paiement est enregistré : la facture est émise." in after
        assert "30,00 €, payé" in after
        mine = await citizen.get("/account/memberships")
        assert "30,00 €, payé" in text(mine.text).replace("\u00a0", " ")
        assert mine.text.count("/api/invoices/") == 2  # its PDF and its page
        cancelled = await citizen.post(
            f"/account/memberships/{membership_id}/cancel", data={"_csrf_token": csrf(mine.text)}
        )
        assert cancelled.status_code == 303
        assert "résiliée" in text((await citizen.get("/account/memberships")).text)


async def test_a_members_only_resource_tells_who_may_book_it(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await set_resource(database, town.printer_id, members_only=True)
    await log_in(web, town.citizen_email)
    page = text((await web.get(f"/resources/{town.printer_id}")).text)
    assert "Réservé aux adhérents" in page
    assert "Seuls les adhérents de ce lieu peuvent le réserver." in page
    free = text((await web.get(f"/resources/{town.laser_id}")).text)
    assert "Réservé aux adhérents" not in free
