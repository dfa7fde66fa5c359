"""A membership paid by card on pages: chosen on the place's plans, paid through Stripe's
Payment Element as a booking is (against the local Stripe peer), counted once Stripe says so."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.support.stripe import LocalStripe
from tests.web.helpers import by_id, csrf, log_in, submit, unlabelled_controls
from tests.web.seed import Town
from tests.web.test_citizen_pages import text


async def test_a_citizen_subscribes_by_card_and_pays_the_period(
    card_web: httpx.AsyncClient, town: Town, database: Database, stripe_peer: LocalStripe
) -> None:
    await log_in(card_web, town.manager_email)
    url = f"/manage/places/{town.place_id}/plans"
    made = await submit(
        card_web,
        url,
        url,
        {"name": "Adhésion annuelle", "period": "year", "price": "25,00", "vat": "20"},
    )
    assert made.status_code == 303, text(made.text)[:400]
    card_web.cookies.clear()
    await log_in(card_web, town.citizen_email)

    plans = await card_web.get(f"/places/{town.place_id}/plans")
    assert plans.status_code == 200 and unlabelled_controls(plans.text) == []
    assert "Par carte, en ligne" in text(plans.text)
    plan_id = int(plans.text.split(f"/places/{town.place_id}/plans/")[1].split("/")[0])
    joined = await card_web.post(
        f"/places/{town.place_id}/plans/{plan_id}/subscribe",
        data={"method": "card", "_csrf_token": csrf(plans.text)},
    )
    assert joined.status_code == 303, text(joined.text)[:400]
    pay_url = joined.headers["location"]
    assert pay_url.startswith("/account/memberships/") and pay_url.endswith("/pay")
    mine = text((await card_web.get("/account/memberships")).text)
    assert "à payer par carte" in mine and "Payer par carte" in mine

    pay = await card_web.get(pay_url)
    assert pay.status_code == 200
    assert "script-src 'self' https://js.stripe.com" in pay.headers["content-security-policy"]
    assert "Payer 30,00 €" in text(pay.text)
    form = by_id(pay.text, "card-form")
    assert form["data-return-url"] == f"https://mutualab.test{pay_url}"
    intent_id = form["data-client-secret"].split("_secret_")[0]

    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    back = await card_web.get(pay_url, params={"payment_intent": intent_id})
    assert back.headers["location"] == "/account/memberships?notice=payment_checked"
    paid = text((await card_web.get("/account/memberships")).text)
    assert "payé" in paid and "Payer par carte" not in paid
    assert "active" in paid
    # Paid: the card page leads back to my memberships.
    assert (await card_web.get(pay_url)).headers["location"] == "/account/memberships"
