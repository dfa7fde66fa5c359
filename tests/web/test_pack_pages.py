"""Prepaid hours on pages: the manager adds a pack (form errors named), withdraws and offers it
again; a citizen buys it from the place's page and sees it on "Mes heures prépayées"; a pack
for another rate is refused with its reason; the manager records the money at the desk."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.web.helpers import another_browser, csrf, log_in, submit, text, unlabelled_controls
from tests.web.seed import Town


async def test_a_pack_is_added_bought_and_paid_on_pages(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/packs"
    form = await web.get(url)
    assert form.status_code == 200 and unlabelled_controls(form.text) == []
    assert "Personne ne détient encore d'heures prépayées ici." in text(form.text)
    bad = await submit(web, url, url, {"name": "", "hours": "dix", "price": "x", "days": "0"})
    assert bad.status_code == 422
    page = text(bad.text)
    for message in ("Nommez le forfait", "nombre entier d'heures", "Choisissez un équipement"):
        assert message in page
    made = await submit(
        web,
        url,
        url,
        {
            "name": "10 h de découpe laser",
            "hours": "10",
            "target": f"resource:{town.laser_id}",
            "price": "150,00",
            "vat": "20",
            "days": "365",
        },
    )
    assert made.status_code == 303, text(made.text)[:400]
    listed = await web.get(url)
    assert "10 h de découpe laser" in text(listed.text)
    assert "150,00 €" in text(listed.text).replace("\u00a0", " ")
    pack_id = int(listed.text.split(f"/manage/places/{town.place_id}/packs/")[1].split("/")[0])
    # Withdrawn: not offered on the place's page; offered again.
    toggled = await web.post(f"{url}/{pack_id}/active", data={"_csrf_token": csrf(listed.text)})
    assert toggled.status_code == 303
    public = await web.get(f"/places/{town.place_id}/packs")
    assert "Ce lieu ne vend pas d'heures prépayées." in text(public.text)
    again = await web.post(f"{url}/{pack_id}/active", data={"_csrf_token": csrf(listed.text)})
    assert again.status_code == 303

    async with another_browser(web) as citizen:
        await log_in(citizen, town.citizen_email)
        offered = await citizen.get(f"/places/{town.place_id}/packs")
        assert offered.status_code == 200 and unlabelled_controls(offered.text) == []
        assert "10 h de découpe laser" in text(offered.text)
        bought = await citizen.post(
            f"/places/{town.place_id}/packs/{pack_id}/buy",
            data={"_csrf_token": csrf(offered.text)},
        )
        assert bought.status_code == 303, text(bought.text)[:400]
        mine = text((await citizen.get("/account/packs")).text)
        assert "Reste : 10 h" in mine and "à payer sur place" in mine
        assert "Utilisable jusqu'au" in mine and "Acheté" in mine
        # Another place's pack, through this place's address: not found.
        elsewhere = await citizen.post(
            f"/places/{town.other_place_id}/packs/{pack_id}/buy",
            data={"_csrf_token": csrf(offered.text)},
        )
        assert elsewhere.status_code == 404

    holders = await web.get(url)
    holding_id = int(holders.text.split("/packs/holdings/")[1].split("/")[0])
    paid = await web.post(
        f"{url}/holdings/{holding_id}/receive", data={"_csrf_token": csrf(holders.text)}
    )
    assert paid.status_code == 303
    after = text((await web.get(url)).text)
    assert "150,00 €, payé" in after.replace("\u00a0", " ")


async def test_a_pack_for_another_rate_is_refused_with_its_reason(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.manager_email)
    # Students only, through the API's rules (the page adds packs for everyone).
    made = await web.post(
        f"/api/places/{town.place_id}/packs",
        json={
            "name": "Heures étudiantes",
            "minutes": 300,
            "resource_kind": "machine",
            "price_cents": 5000,
            "validity_days": 90,
            "user_types": ["student"],
        },
        headers={"x-csrf-token": csrf((await web.get("/account")).text)},
    )
    assert made.status_code == 201, made.text
    async with another_browser(web) as citizen:
        await log_in(citizen, town.citizen_email)
        offered = await citizen.get(f"/places/{town.place_id}/packs")
        refused = await citizen.post(
            f"/places/{town.place_id}/packs/{made.json()['id']}/buy",
            data={"_csrf_token": csrf(offered.text)},
        )
        assert refused.status_code == 409
        assert "Ce forfait n'est pas proposé à votre tarif." in text(refused.text)
        assert "Vous n'avez pas d'heures prépayées." in text(
            (await citizen.get("/account/packs")).text
        )
