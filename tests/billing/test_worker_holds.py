"""Holds expire with only a worker running: no cron, no `mutualab bookings expire-holds`."""

from __future__ import annotations

from typing import Any

import httpx

from kernel.db import Database
from kernel.settings import Settings
from mutualab.background import job_registry
from mutualab.composition import build_runtime
from tests.billing.support import PricedLab, checkout
from tests.support.accounts import make_user
from tests.support.booking import MutableClock
from tests.support.jobs import empty_queue, eventually, workers
from tests.support.stripe import LocalStripe


async def _status(api: httpx.AsyncClient, person: Any, body: dict[str, Any]) -> str:
    booking = await api.get(f"/api/bookings/{body['booking']['id']}", headers=person.headers)
    status: str = booking.json()["status"]
    return status


async def test_a_lapsed_hold_expires_and_cancels_its_intent_with_only_the_worker_running(
    api: httpx.AsyncClient,
    lab: PricedLab,
    database: Database,
    stripe_peer: LocalStripe,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    await empty_queue(database)
    citizen = await make_user(database, "ana@example.fr")
    body = (await checkout(api, citizen, lab.lab.printer, method="card")).json()
    assert await _status(api, citizen, body) == "held"
    clock.advance(minutes=16)
    runtime = build_runtime(stripe_settings, database, clock)
    # Every second instead of every minute: the same task, sooner.
    registry = job_registry(runtime, every_minute="* * * * * *")
    url = database.engine.url.render_as_string(hide_password=False)
    try:
        async with workers(url, registry):

            async def expired() -> bool:
                return await _status(api, citizen, body) == "expired"

            await eventually(expired, "the hold expired")

            async def cancelled() -> bool:
                intent = stripe_peer.intent(body["payment"]["intent_id"])
                return bool(intent["status"] == "canceled")

            await eventually(cancelled, "its PaymentIntent was cancelled")
    finally:
        await runtime.close()
        await empty_queue(database)
