"""Topping up a wallet on pages: "Recharger" on my wallet page, paid by card through Stripe's
Payment Element (against the local Stripe peer), credited once Stripe says it is paid."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.support.stripe import LocalStripe
from tests.web.helpers import by_id, csrf, log_in, submit, unlabelled_controls
from tests.web.seed import Town
from tests.web.test_citizen_pages import text


async def test_a_citizen_tops_up_their_wallet_by_card(
    card_web: httpx.AsyncClient, town: Town, database: Database, stripe_peer: LocalStripe
) -> None:
    await log_in(card_web, town.manager_email)
    credited = await submit(
        card_web,
        f"/manage/places/{town.place_id}/wallets",
        f"/manage/places/{town.place_id}/wallets/credits",
        {"email": town.citizen_email, "amount": "5,00", "reason": "Atelier annulé"},
    )
    assert credited.status_code == 303, text(credited.text)[:400]
    card_web.cookies.clear()
    await log_in(card_web, town.citizen_email)

    mine = await card_web.get("/account/wallet")
    assert mine.status_code == 200 and unlabelled_controls(mine.text) == []
    assert "Recharger" in text(mine.text)
    field = f"amount-{town.place_id}"
    refused = await card_web.post(
        "/account/wallet/top-ups",
        data={"place_id": str(town.place_id), "amount": "0,50", "_csrf_token": csrf(mine.text)},
    )
    assert refused.status_code == 422
    assert "Indiquez un montant de 1,00 à 500,00 €." in text(refused.text)
    assert by_id(refused.text, field)["aria-invalid"] == "true"

    started = await card_web.post(
        "/account/wallet/top-ups",
        data={"place_id": str(town.place_id), "amount": "20", "_csrf_token": csrf(mine.text)},
    )
    assert started.status_code == 303 and started.headers["location"] == "/account/wallet/pay"
    pay = await card_web.get("/account/wallet/pay")
    assert pay.status_code == 200
    assert "script-src 'self' https://js.stripe.com" in pay.headers["content-security-policy"]
    assert "Payer 20,00 €" in text(pay.text)
    form = by_id(pay.text, "card-form")
    assert form["data-return-url"] == "https://mutualab.test/account/wallet/pay"
    intent_id = form["data-client-secret"].split("_secret_")[0]

    # The card holder pays at Stripe and comes back: Stripe is asked, once credited.
    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    back = await card_web.get("/account/wallet/pay", params={"payment_intent": intent_id})
    assert back.headers["location"] == "/account/wallet?notice=payment_checked"
    again = await card_web.post("/account/wallet/pay", data={"_csrf_token": csrf(pay.text)})
    assert again.status_code == 303
    page = text((await card_web.get("/account/wallet")).text)
    assert "Solde : 25,00 €" in page
    assert "Rechargé par carte" in page
    # Nothing left to pay: the pay page leads back to the wallet.
    assert (await card_web.get("/account/wallet/pay")).headers["location"] == "/account/wallet"
