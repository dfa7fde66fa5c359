"""A pack of prepaid hours bought by card on pages: chosen on the place's packs, paid through
Stripe's Payment Element as a booking is (against the local Stripe peer), credited once Stripe
says so, never on the browser's word."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.support.stripe import LocalStripe
from tests.web.helpers import by_id, csrf, log_in, submit, unlabelled_controls
from tests.web.seed import Town
from tests.web.test_citizen_pages import text


async def test_a_citizen_buys_a_pack_by_card_and_gets_the_hours_once_stripe_says_so(
    card_web: httpx.AsyncClient, town: Town, database: Database, stripe_peer: LocalStripe
) -> None:
    await log_in(card_web, town.manager_email)
    url = f"/manage/places/{town.place_id}/packs"
    made = await submit(
        card_web,
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
    card_web.cookies.clear()
    await log_in(card_web, town.citizen_email)

    offered = await card_web.get(f"/places/{town.place_id}/packs")
    assert offered.status_code == 200 and unlabelled_controls(offered.text) == []
    assert "Par carte, en ligne" in text(offered.text)
    pack_id = int(offered.text.split(f"/places/{town.place_id}/packs/")[1].split("/")[0])
    bought = await card_web.post(
        f"/places/{town.place_id}/packs/{pack_id}/buy",
        data={"method": "card", "_csrf_token": csrf(offered.text)},
    )
    assert bought.status_code == 303, text(bought.text)[:400]
    pay_url = bought.headers["location"]
    assert pay_url.startswith("/account/packs/") and pay_url.endswith("/pay")
    mine = text((await card_web.get("/account/packs")).text)
    # Nothing credited before Stripe says it is paid.
    assert "en attente du paiement par carte" in mine and "Reste : 0 min" in mine
    assert "Payer par carte" in mine

    pay = await card_web.get(pay_url)
    assert pay.status_code == 200
    assert "script-src 'self' https://js.stripe.com" in pay.headers["content-security-policy"]
    assert "Payer 150,00 €" in text(pay.text).replace("\u00a0", " ")
    form = by_id(pay.text, "card-form")
    assert form["data-return-url"] == f"https://mutualab.test{pay_url}"
    intent_id = form["data-client-secret"].split("_secret_")[0]

    # The browser coming back says nothing: only Stripe's word counts.
    unpaid = await card_web.post(pay_url, data={"_csrf_token": csrf(pay.text)})
    assert unpaid.headers["location"] == "/account/packs?notice=payment_checked"
    assert "Payer par carte" in text((await card_web.get("/account/packs")).text)

    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    back = await card_web.get(pay_url, params={"payment_intent": intent_id})
    assert back.headers["location"] == "/account/packs?notice=payment_checked"
    paid = text((await card_web.get("/account/packs")).text)
    assert "Reste : 10 h" in paid and "Payer par carte" not in paid and "PDF" in paid
    assert (await card_web.get(pay_url)).headers["location"] == "/account/packs"
