"""Stripe's webhooks replayed, reordered and delivered concurrently, in bulk.

Stripe delivers at least once, in no particular order, and retries: the app must confirm each
paid booking exactly once, issue each refund exactly once and invoice each payment once,
whatever arrives and however often. Played against localstripe.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime
from typing import Any

import httpx

from kernel.db import Database
from tests.billing.support import PricedLab, checkout
from tests.support.accounts import make_user
from tests.support.booking import MutableClock, paris
from tests.support.stripe import LocalStripe, event, signed

Client = httpx.AsyncClient
LATE = 3  # payers whose hold lapses and whose slot is taken: refunded
ON_TIME = 5  # payers who pay within their hold: confirmed
REPLAYS = 3  # every event is delivered this many times
CONCURRENCY = 6  # deliveries in flight at once


async def _checkout(api: Client, lab: PricedLab, database: Database, n: int) -> dict[str, Any]:
    payer = await make_user(database, f"payer{n}@example.fr")
    start = paris(2027, 3, 8 + n // 8, 8 + n % 8)
    response = await checkout(
        api, payer, lab.lab.printer, start, start.replace(hour=start.hour + 1)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    body["headers"] = payer.headers
    return body


async def test_a_storm_of_webhooks_confirms_once_and_refunds_once(
    api: Client,
    lab: PricedLab,
    database: Database,
    stripe_peer: LocalStripe,
    clock: MutableClock,
) -> None:
    # What Stripe would have sent for every intent: an early "requires action" (its payload
    # stale by the time it arrives), the success, and a failure from a retry that raced it.
    events: list[dict[str, Any]] = []

    def pay(body: dict[str, Any]) -> None:
        intent_id = body["payment"]["intent_id"]
        early = stripe_peer.intent(intent_id)
        events.append(event("payment_intent.requires_action", early, f"evt_ra_{intent_id}"))
        assert stripe_peer.pay(intent_id)["status"] == "succeeded"
        paid = stripe_peer.intent(intent_id)
        events.append(event("payment_intent.succeeded", paid, f"evt_ok_{intent_id}"))
        events.append(event("payment_intent.payment_failed", paid, f"evt_ko_{intent_id}"))

    late = [await _checkout(api, lab, database, n) for n in range(LATE)]
    clock.advance(minutes=16)  # their holds lapse before the money arrives...
    for n, body in enumerate(late):
        pay(body)
        rival = await make_user(database, f"rival{n}@example.fr")  # ...and rivals take the slots
        booking = body["booking"]
        taken = await checkout(
            api,
            rival,
            lab.lab.printer,
            datetime.fromisoformat(booking["starts_at"]),
            datetime.fromisoformat(booking["ends_at"]),
            method="on_site",
        )
        assert taken.status_code == 201, taken.text
    on_time = [await _checkout(api, lab, database, LATE + n) for n in range(ON_TIME)]
    for body in on_time:
        pay(body)

    deliveries = [e for e in events for _ in range(REPLAYS)]
    random.Random(20270308).shuffle(deliveries)

    slots = asyncio.Semaphore(CONCURRENCY)

    async def deliver(one: dict[str, Any]) -> str:
        payload, headers = signed(one)
        async with slots:
            response = await api.post("/api/stripe/webhook", content=payload, headers=headers)
        assert response.status_code == 200, response.text
        outcome: str = response.json()["outcome"]
        return outcome

    outcomes = Counter(await asyncio.gather(*(deliver(d) for d in deliveries)))
    # Each event is applied once; its replays are recognised as such.
    assert outcomes["duplicate"] == len(events) * (REPLAYS - 1), outcomes
    assert outcomes["confirmed"] == ON_TIME, outcomes
    # The late payments were refunded when their lapsed holds were released (the rivals'
    # bookings): for them every delivery finds the money already handled.
    assert set(outcomes) == {"duplicate", "confirmed", "already_paid"}, outcomes

    for body in on_time:
        payment = (
            await api.get(f"/api/payments/{body['payment']['id']}", headers=body["headers"])
        ).json()
        booking = (
            await api.get(f"/api/bookings/{body['booking']['id']}", headers=body["headers"])
        ).json()
        assert (booking["status"], payment["status"]) == ("confirmed", "succeeded")
        assert len(payment["documents"]) == 1  # one invoice
        assert payment["refunds"] == []
        assert stripe_peer.refunds(body["payment"]["intent_id"]) == []
    for body in late:
        payment = (
            await api.get(f"/api/payments/{body['payment']['id']}", headers=body["headers"])
        ).json()
        assert payment["status"] == "refunded"
        [refund] = payment["refunds"]
        assert (refund["amount_cents"], refund["status"]) == (payment["amount_cents"], "succeeded")
        [at_stripe] = stripe_peer.refunds(body["payment"]["intent_id"])
        assert at_stripe["amount"] == payment["amount_cents"]
