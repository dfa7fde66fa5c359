"""A session's ticket paid by card on pages: chosen on the quote, paid through Stripe's Payment
Element as a booking is (against the local Stripe peer), the registration paid and invoiced
once Stripe says so, never on the browser's word."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text as sql

from kernel.auth.actor import Actor
from kernel.db import Database
from tests.support.stripe import LocalStripe
from tests.support.tickets import priced_workshop
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, log_in, unlabelled_controls
from tests.web.seed import Town
from tests.web.test_citizen_pages import price_for_everyone, text


async def _priced_workshop(database: Database, town: Town) -> int:
    """A 3-D printing workshop in ten days at the town's place, 15 EUR incl. VAT a seat."""
    async with database.engine.connect() as connection:
        manager_id = (
            await connection.execute(
                sql("SELECT id FROM user_account WHERE email = :e"), {"e": town.manager_email}
            )
        ).scalar_one()
    manager = Actor(user_id=manager_id, managed_place_ids=frozenset({town.place_id}))
    return await priced_workshop(
        database,
        manager,
        town.place_id,
        FIXED_NOW,
        title="Atelier impression 3D",
        starts=FIXED_NOW + timedelta(days=10),
        seats=8,
        prices={"*": 1500},
    )


async def test_a_citizen_pays_a_ticket_by_card_and_it_is_paid_once_stripe_says_so(
    card_web: httpx.AsyncClient, town: Town, database: Database, stripe_peer: LocalStripe
) -> None:
    await price_for_everyone(database, town.place_id, town.printer_id, methods=("card", "on_site"))
    session_id = await _priced_workshop(database, town)
    await log_in(card_web, town.citizen_email)

    quote = await card_web.get(f"/sessions/{session_id}/ticket", params={"seats": "1"})
    assert quote.status_code == 200 and unlabelled_controls(quote.text) == []
    assert "Par carte, en ligne" in text(quote.text)
    assert by_id(quote.text, "method-card")["value"] == "card"
    ordered = await card_web.post(
        f"/sessions/{session_id}/ticket",
        data={
            "_csrf_token": csrf(quote.text),
            "seats": "1",
            "fingerprint": quote.text.split('name="fingerprint" value="')[1].split('"')[0],
            "payment_method": "card",
        },
    )
    assert ordered.status_code == 303, text(ordered.text)[:400]
    pay_url = ordered.headers["location"]
    assert pay_url.startswith("/account/registrations/") and pay_url.endswith("/pay")
    mine = text((await card_web.get("/account/registrations")).text)
    assert "15,00 €" in mine and "Payer par carte" in mine

    pay = await card_web.get(pay_url)
    assert pay.status_code == 200
    assert "script-src 'self' https://js.stripe.com" in pay.headers["content-security-policy"]
    assert "Payer 15,00 €" in text(pay.text)
    form = by_id(pay.text, "card-form")
    assert form["data-return-url"] == f"https://mutualab.test{pay_url}"
    intent_id = form["data-client-secret"].split("_secret_")[0]

    # The browser coming back says nothing: only Stripe's word counts.
    unpaid = await card_web.post(pay_url, data={"_csrf_token": csrf(pay.text)})
    assert unpaid.headers["location"] == "/account/registrations?notice=payment_checked"
    assert "Payer par carte" in text((await card_web.get("/account/registrations")).text)

    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    back = await card_web.get(pay_url, params={"payment_intent": intent_id})
    assert back.headers["location"] == "/account/registrations?notice=payment_checked"
    paid = text((await card_web.get("/account/registrations")).text)
    assert "Payer par carte" not in paid and "PDF" in paid  # paid, and invoiced
    # Paid: the card page leads back to my registrations.
    assert (await card_web.get(pay_url)).headers["location"] == "/account/registrations"
