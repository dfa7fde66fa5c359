"""Wallet top-ups by card, against the local Stripe peer: a PaymentIntent per top-up, the wallet
credited (a "top_up" movement) once Stripe says it is paid — by its webhook or a refresh —
exactly once however often it is told; no invoice (VAT is due when the wallet is spent)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import PricedLab, deliver
from tests.support.accounts import Person, make_user
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def _top_up(api: Client, lab: PricedLab, person: Person, cents: int) -> dict[str, Any]:
    made = await api.post(
        f"/api/places/{lab.place_id}/wallets/top-ups",
        json={"amount_cents": cents},
        headers=person.headers,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def _wallet(api: Client, person: Person) -> dict[str, Any]:
    [wallet] = (await api.get("/api/me/wallets", headers=person.headers)).json()
    assert isinstance(wallet, dict)
    return wallet


async def _documents(database: Database) -> int:
    async with database.engine.connect() as conn:
        found = await conn.execute(text("SELECT count(*) FROM billing_document"))
        return int(found.scalar_one())


async def test_a_top_up_is_credited_once_when_stripe_says_it_is_paid(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    ana = await make_user(database, "ana@example.fr")
    made = await _top_up(api, lab, ana, 2000)
    assert made["status"] == "pending" and made["client_secret"].startswith("pi_")
    intent_id = made["client_secret"].split("_secret")[0]
    intent = stripe_peer.intent(intent_id)
    assert (intent["amount"], intent["metadata"]["wallet_top_up_id"]) == (2000, str(made["id"]))
    # Not paid yet: nothing credited, even when asked to look.
    looked = await api.post("/api/me/wallets/top-ups/refresh", headers=ana.headers)
    assert looked.status_code == 200 and looked.json()[0]["status"] == "pending"
    assert (await api.get("/api/me/wallets", headers=ana.headers)).json() == []

    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    delivered = await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["outcome"] == "wallet_topped_up"
    wallet = await _wallet(api, ana)
    assert wallet["balance_cents"] == 2000
    assert [(m["kind"], m["amount_cents"]) for m in wallet["movements"]] == [("top_up", 2000)]
    # Told again (another event, a refresh, both at once): credited once.
    again = await asyncio.gather(
        deliver(api, stripe_peer, "payment_intent.succeeded", intent_id, event_id="evt_again"),
        api.post("/api/me/wallets/top-ups/refresh", headers=ana.headers),
    )
    assert again[0].json()["outcome"] in ("already_credited", "duplicate"), again[0].text
    assert again[1].json()[0]["status"] == "succeeded"
    assert again[1].json()[0]["client_secret"] is None
    assert (await _wallet(api, ana))["balance_cents"] == 2000
    # A receipt (the movement), no invoice: VAT is due when the wallet is spent.
    assert await _documents(database) == 0
    # Ana's data export holds the top-up, not the card payment's secret.
    exported = (await api.get("/api/me/export", headers=ana.headers)).json()
    assert [(t["amount_cents"], t["status"]) for t in exported["wallet_top_ups"]] == [
        (2000, "succeeded")
    ]
    assert "client_secret" not in str(exported["wallet_top_ups"])


async def test_a_refresh_alone_credits_a_paid_top_up(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    ana = await make_user(database, "ana@example.fr")
    made = await _top_up(api, lab, ana, 1500)
    stripe_peer.pay(made["client_secret"].split("_secret")[0])
    refreshed = await api.post("/api/me/wallets/top-ups/refresh", headers=ana.headers)
    assert [t["status"] for t in refreshed.json()] == ["succeeded"]
    assert (await _wallet(api, ana))["balance_cents"] == 1500


async def test_top_ups_refuse_bad_amounts_and_others_never_see_them(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    for cents in (0, 99, 50_001):
        refused = await api.post(
            f"/api/places/{lab.place_id}/wallets/top-ups",
            json={"amount_cents": cents},
            headers=ana.headers,
        )
        assert refused.status_code == 422, refused.text
        assert "amount_cents" in refused.text
    missing = await api.post(
        "/api/places/999999/wallets/top-ups", json={"amount_cents": 1000}, headers=ana.headers
    )
    assert missing.status_code == 404
    await _top_up(api, lab, ana, 1000)
    bob = await make_user(database, "bob@example.fr")
    assert (await api.post("/api/me/wallets/top-ups/refresh", headers=bob.headers)).json() == []
    anonymous = await api.post(
        f"/api/places/{lab.place_id}/wallets/top-ups", json={"amount_cents": 1000}
    )
    assert anonymous.status_code in (401, 403)
