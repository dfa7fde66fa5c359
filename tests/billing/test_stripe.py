"""Card payments against a real local Stripe peer (localstripe).

The tests play the browser's part (attach a test card, confirm, pass 3-D Secure) at the peer, and
Stripe's part by signing webhook bodies with the real HMAC scheme; one test lets localstripe
deliver its own signed webhooks to the app served by uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import uvicorn

from billing import maintenance
from kernel.db import Database
from kernel.settings import Settings
from mutualab.app import create_app
from mutualab.composition import build_runtime
from tests.billing.support import PricedLab, checkout, deliver
from tests.support.accounts import make_user
from tests.support.booking import MutableClock
from tests.support.net import free_port, serving
from tests.support.stripe import (
    DECLINED,
    THREE_D_SECURE_CARD,
    WEBHOOK_SECRET,
    LocalStripe,
    event,
    signed,
)

Client = httpx.AsyncClient


async def _state(api: Client, person: Any, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    booking = await api.get(f"/api/bookings/{body['booking']['id']}", headers=person.headers)
    payment = await api.get(f"/api/payments/{body['payment']['id']}", headers=person.headers)
    return booking.json()["status"], payment.json()


async def test_a_card_payment_is_confirmed_by_a_verified_webhook(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    response = await checkout(api, citizen, lab.lab.printer, method="card")
    assert response.status_code == 201, response.text
    body = response.json()
    booking, payment = body["booking"], body["payment"]
    assert booking["status"] == "held" and booking["hold_expires_at"] is not None
    assert payment["status"] == "pending" and payment["client_secret"].startswith("pi_")
    assert payment["publishable_key"] == "pk_test_mutualab"
    intent = stripe_peer.intent(payment["intent_id"])
    assert (intent["amount"], intent["currency"]) == (2400, "eur")
    assert intent["metadata"]["booking_id"] == str(booking["id"])

    assert stripe_peer.pay(payment["intent_id"])["status"] == "succeeded"
    # Nothing is confirmed on the browser's word: only Stripe's.
    assert (await _state(api, citizen, body))[0] == "held"
    delivered = await deliver(api, stripe_peer, "payment_intent.succeeded", payment["intent_id"])
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["outcome"] == "confirmed"
    status, paid = await _state(api, citizen, body)
    assert status == "confirmed" and paid["status"] == "succeeded"
    [invoice] = paid["documents"]
    assert invoice["number"] == "FLT-2027-000001" and invoice["total_incl_vat_cents"] == 2400
    # Someone else sees neither the payment nor its secret.
    other = await make_user(database, "bob@example.fr")
    assert (
        await api.get(f"/api/payments/{payment['id']}", headers=other.headers)
    ).status_code == 404
    manager_view = await api.get(f"/api/payments/{payment['id']}", headers=lab.manager.headers)
    assert manager_view.status_code == 200 and manager_view.json()["client_secret"] is None


async def test_a_declined_card_keeps_the_hold_and_may_be_retried(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    body = (await checkout(api, citizen, lab.lab.printer, method="card")).json()
    intent_id = body["payment"]["intent_id"]
    declined = stripe_peer.pay(intent_id, DECLINED)
    assert declined["_status_code"] == 402
    delivered = await deliver(api, stripe_peer, "payment_intent.payment_failed", intent_id)
    assert delivered.json()["outcome"] == "failed"
    status, payment = await _state(api, citizen, body)
    assert status == "held"
    assert (payment["status"], payment["failure_code"]) == ("failed", "card_declined")

    # The browser asks the app to look at Stripe: still declined, still held until it expires.
    refreshed = await api.post(
        f"/api/payments/{body['payment']['id']}/refresh", headers=citizen.headers
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["status"] == "failed"
    assert refreshed.json()["failure_message"] == "Your card was declined."


async def test_three_d_secure_is_required_then_passed(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    body = (await checkout(api, citizen, lab.lab.printer, method="card")).json()
    payment = body["payment"]
    card = stripe_peer.card(THREE_D_SECURE_CARD)
    assert stripe_peer.pay(payment["intent_id"], card)["status"] == "requires_action"
    refresh = f"/api/payments/{payment['id']}/refresh"
    assert (await api.post(refresh, headers=citizen.headers)).json()["status"] == "requires_action"
    assert (await _state(api, citizen, body))[0] == "held"
    stripe_peer.authenticate(payment["intent_id"], payment["client_secret"])
    assert (await api.post(refresh, headers=citizen.headers)).json()["status"] == "succeeded"
    assert (await _state(api, citizen, body))[0] == "confirmed"


async def test_replayed_and_out_of_order_webhooks_change_nothing(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    body = (await checkout(api, citizen, lab.lab.printer, method="card")).json()
    intent_id = body["payment"]["intent_id"]
    # An event Stripe sent before the payment arrives late, after the card was charged: the app
    # reads the intent back, so the late "requires action" confirms rather than regresses.
    early = event("payment_intent.requires_action", stripe_peer.intent(intent_id), "evt_early_1")
    stripe_peer.pay(intent_id)
    payload, headers = signed(early)
    late = await api.post("/api/stripe/webhook", content=payload, headers=headers)
    assert late.json()["outcome"] == "confirmed"

    outcomes = [
        (await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id, "evt_ok_1")).json()
        for _ in range(3)
    ]
    assert [o["outcome"] for o in outcomes] == ["already_paid", "duplicate", "duplicate"]
    for _ in range(3):  # the very first event, replayed three times
        again = await api.post("/api/stripe/webhook", content=payload, headers=headers)
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    stale = await deliver(api, stripe_peer, "payment_intent.payment_failed", intent_id, "evt_f_1")
    assert stale.json()["outcome"] == "already_paid"

    status, payment = await _state(api, citizen, body)
    assert status == "confirmed" and payment["status"] == "succeeded"
    assert len(payment["documents"]) == 1  # one invoice, however many deliveries


async def test_bad_signatures_are_refused_and_change_nothing(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    body = (await checkout(api, citizen, lab.lab.printer, method="card")).json()
    intent_id = body["payment"]["intent_id"]
    stripe_peer.pay(intent_id)
    good = event("payment_intent.succeeded", stripe_peer.intent(intent_id), "evt_signed_1")
    payload, headers = signed(good)
    forged_payload, forged = signed(good, secret="whsec_someone_else")
    _, old = signed(good, at=int(time.time()) - 3600)
    attempts = [
        (payload, {"Content-Type": "application/json"}),
        (forged_payload, forged),
        (payload, old),
        (payload.replace(b"succeeded", b"succeedee"), headers),
        (b"not json", {**headers}),
        (payload, {**headers, "Stripe-Signature": "garbage"}),
    ]
    for content, sent in attempts:
        response = await api.post("/api/stripe/webhook", content=content, headers=sent)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_signature"
    status, payment = await _state(api, citizen, body)
    assert status == "held" and payment["status"] == "pending"
    # The genuine event was never recorded by the refused attempts.
    accepted = await api.post("/api/stripe/webhook", content=payload, headers=headers)
    assert accepted.json()["outcome"] == "confirmed"


async def test_webhooks_about_unknown_payment_intents_are_acknowledged(
    api: Client, lab: PricedLab, stripe_peer: LocalStripe
) -> None:
    foreign = {"id": "pi_not_ours_123", "object": "payment_intent", "status": "succeeded"}
    payload, headers = signed(event("payment_intent.succeeded", foreign))
    response = await api.post("/api/stripe/webhook", content=payload, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "unknown_payment_intent"
    ignored = signed(event("customer.created", {"id": "cus_1", "object": "customer"}))
    response = await api.post("/api/stripe/webhook", content=ignored[0], headers=ignored[1])
    assert response.json()["outcome"] == "ignored"


async def test_webhook_bodies_have_a_limit_of_their_own(
    api: Client, lab: PricedLab, stripe_peer: LocalStripe
) -> None:
    # Larger than the app's default limit (an event carries whole objects): still read.
    large = {"id": "pi_not_ours_456", "object": "payment_intent", "metadata": {"n": "x" * 200_000}}
    payload, headers = signed(event("payment_intent.succeeded", large))
    response = await api.post("/api/stripe/webhook", content=payload, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "unknown_payment_intent"
    # Bounded all the same: refused before its signature is even checked.
    payload, headers = signed(event("payment_intent.succeeded", {**large, "metadata": "x" * 2**21}))
    response = await api.post("/api/stripe/webhook", content=payload, headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_payment_after_the_hold_expired_and_the_slot_was_taken_is_refunded(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe, clock: MutableClock
) -> None:
    late_payer = await make_user(database, "ana@example.fr")
    body = (await checkout(api, late_payer, lab.lab.printer, method="card")).json()
    intent_id = body["payment"]["intent_id"]
    clock.advance(minutes=16)
    assert stripe_peer.pay(intent_id)["status"] == "succeeded"  # too late
    rival = await make_user(database, "bob@example.fr")
    taken = await checkout(api, rival, lab.lab.printer, *(_range(body)), method="on_site")
    assert taken.status_code == 201, taken.text  # the lapsed hold released the slot

    status, payment = await _state(api, late_payer, body)
    assert status == "expired"
    assert payment["status"] == "refunded"
    assert payment["status_reason"] == "paid_after_hold_expired"
    assert "remboursé" in payment["status_detail"]
    [refund] = payment["refunds"]
    assert (refund["amount_cents"], refund["status"]) == (2400, "succeeded")
    assert sum(r["amount"] for r in stripe_peer.refunds(intent_id)) == 2400
    # Stripe's own webhook arrives afterwards: nothing is refunded twice.
    again = await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    assert again.json()["outcome"] == "already_paid"
    assert len(stripe_peer.refunds(intent_id)) == 1


def _range(body: dict[str, Any]) -> tuple[Any, Any]:
    from datetime import datetime

    return (
        datetime.fromisoformat(body["booking"]["starts_at"]),
        datetime.fromisoformat(body["booking"]["ends_at"]),
    )


async def test_expired_holds_cancel_their_payment_intent(
    api: Client,
    lab: PricedLab,
    database: Database,
    stripe_peer: LocalStripe,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    body = (await checkout(api, citizen, lab.lab.printer, method="card")).json()
    clock.advance(minutes=16)
    runtime = build_runtime(stripe_settings, database, clock)
    try:
        released, report = await maintenance.expire_holds(runtime.billing)
    finally:
        await runtime.close()
    assert (released, report.intents_cancelled, report.errors) == (1, 1, [])
    assert stripe_peer.intent(body["payment"]["intent_id"])["status"] == "canceled"
    status, payment = await _state(api, citizen, body)
    assert status == "expired"
    assert (payment["status"], payment["status_reason"]) == ("cancelled", "booking_expired")


async def test_localstripe_delivers_signed_webhooks_to_the_served_app(
    api: Client,
    lab: PricedLab,
    database: Database,
    stripe_peer: LocalStripe,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    port = free_port()
    served = create_app(stripe_settings, database=database, clock=clock)
    config = uvicorn.Config(
        served, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    try:
        async with serving(config):
            url = f"http://127.0.0.1:{port}/api/stripe/webhook"
            stripe_peer.register_webhook(url, WEBHOOK_SECRET)
            citizen = await make_user(database, "ana@example.fr")
            body = (await checkout(api, citizen, lab.lab.printer, method="card")).json()
            stripe_peer.pay(body["payment"]["intent_id"])
            deadline = time.monotonic() + 20
            status = "held"
            while status != "confirmed" and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                status = (await _state(api, citizen, body))[0]
            assert status == "confirmed"
    finally:
        stripe_peer.register_webhook("http://127.0.0.1:9/nowhere", WEBHOOK_SECRET)
