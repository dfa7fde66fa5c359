"""Money through Stripe (a local peer): a card payment and its refund each reach the
subscriber once, with the payment as the place's managers see it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from kernel.db import Database
from kernel.settings import Settings
from mutualab.composition import Runtime
from tests.billing.support import paid_booking, price_fablab
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, MutableClock, booking_client
from tests.support.jobs import eventually, queued_count, workers
from tests.support.stripe import SECRET_KEY, WEBHOOK_SECRET, LocalStripe
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import hook_registry, subscribe, url_of


@pytest.fixture
async def api(
    hook_settings: Settings, queue: Database, clock: MutableClock, stripe_peer: LocalStripe
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with card payments through the local peer."""
    with_cards = hook_settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(SECRET_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_publishable_key": "pk_test_mutualab",
            "stripe_api_base": stripe_peer.api_base,
        }
    )
    async with booking_client(with_cards, queue, clock) as http:
        yield http


async def _idle(database: Database) -> bool:
    return await queued_count(database) == 0


async def test_a_card_payment_and_its_refund_are_delivered_once_each(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
    stripe_peer: LocalStripe,
) -> None:
    priced = await price_fablab(api, lab, manager)
    subscription = await subscribe(
        api, manager, receiver.url, [lab.place_id], ["payment.received", "payment.refunded"]
    )
    ana = await make_user(queue, "ana@example.fr")
    paid = await paid_booking(api, stripe_peer, ana, priced.lab.printer)  # a week ahead
    cancelled = await api.post(
        f"/api/bookings/{paid['booking']['id']}/cancel", json={}, headers=ana.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
        await eventually(lambda: _idle(queue), "the payment events were delivered")
    payloads: dict[str, Any] = {}
    for request in receiver.requests:
        payload = request.verified(str(subscription["secret"]))
        payloads[str(payload["type"])] = payload
    assert len(receiver.requests) == 2
    assert sorted(payloads) == ["payment.received", "payment.refunded"]
    refunded = payloads["payment.refunded"]["data"]
    assert refunded["payment"]["id"] == paid["payment"]["id"]
    assert refunded["payment"]["client_secret"] is None  # the payer's only
    [refund] = refunded["payment"]["refunds"]
    assert refund["id"] == refunded["refund_id"] and refund["status"] == "succeeded"
