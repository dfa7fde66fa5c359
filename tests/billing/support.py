"""Billing test helpers: price a fablab through the API, quote then check out like a client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.support.accounts import Person
from tests.support.booking import Fablab, booking_body, paris
from tests.support.stripe import LocalStripe, event, signed

# A week after the fixed clock: Monday 8 March 2027, in Paris.
START = paris(2027, 3, 8, 10)
END = paris(2027, 3, 8, 12)


@dataclass(frozen=True)
class PricedLab:
    """A furnished, priced fablab and its manager."""

    lab: Fablab
    manager: Person

    @property
    def place_id(self) -> int:
        """The place."""
        return self.lab.place_id


async def price_fablab(api: httpx.AsyncClient, lab: Fablab, manager: Person) -> PricedLab:
    """Printer 10 EUR/h excl. VAT for citizens, 20 EUR/h for companies, 15 EUR/h otherwise (20 %
    VAT); the room exempt (bare premises); seats 2 EUR/h per seat plus a 5 EUR fee, 10 % VAT;
    machines (the laser) priced by kind. Citizens pay by card or on site, companies by card or on
    invoice, schools on invoice; 100 % refund up to 48 h before, 50 % up to 24 h."""
    lists: list[dict[str, Any]] = [
        {
            "resource_id": lab.printer,
            "rates": [
                {"user_type": "citizen", "hourly_cents": 1000},
                {"user_type": "company", "hourly_cents": 2000, "minimum_cents": 3000},
                {"user_type": "*", "hourly_cents": 1500},
            ],
        },
        {
            "resource_id": lab.room,
            "vat": {"kind": "exempt"},
            "rates": [{"user_type": "*", "hourly_cents": 2500}],
        },
        {
            "resource_id": lab.seats,
            "vat": {"kind": "taxable", "rate": "10"},
            "rates": [
                {"user_type": "*", "hourly_cents": 200, "per_unit": True, "flat_fee_cents": 500}
            ],
        },
        {
            "resource_kind": "machine",
            "rates": [{"user_type": "*", "hourly_cents": 3000}],
        },
    ]
    for body in lists:
        response = await api.put(
            f"/api/places/{lab.place_id}/price-lists", json=body, headers=manager.headers
        )
        assert response.status_code == 200, response.text
    settings = await api.put(
        f"/api/places/{lab.place_id}/billing-settings",
        json={
            "invoice_prefix": "FLT",
            "seller_vat_number": "FR40732829320",
            "payment_methods": {
                "citizen": ["card", "on_site"],
                "company": ["card", "invoice"],
                "school": ["invoice"],
                "*": ["card"],
            },
            "refund_tiers": [{"hours": 48, "percent": 100}, {"hours": 24, "percent": 50}],
            "hold_minutes": 15,
        },
        headers=manager.headers,
    )
    assert settings.status_code == 200, settings.text
    return PricedLab(lab, manager)


async def quote(
    api: httpx.AsyncClient,
    person: Person | None,
    items: list[tuple[int, int]] | int,
    start: datetime = START,
    end: datetime = END,
    **extra: Any,
) -> dict[str, Any]:
    """POST /api/quotes and return the quote."""
    response = await api.post(
        "/api/quotes",
        json=booking_body(items, start, end, **extra),
        headers=person.headers if person else {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def checkout(
    api: httpx.AsyncClient,
    person: Person,
    items: list[tuple[int, int]] | int,
    start: datetime = START,
    end: datetime = END,
    *,
    method: str = "card",
    fingerprint: str | None = None,
    **extra: Any,
) -> httpx.Response:
    """Quote, then check out at that quote (or at ``fingerprint``)."""
    organisation = (
        {"organisation_id": extra["organisation_id"]} if "organisation_id" in extra else {}
    )
    if fingerprint is None:
        fingerprint = (await quote(api, person, items, start, end, **organisation))["fingerprint"]
    return await api.post(
        "/api/checkout",
        json=booking_body(items, start, end, method=method, quote_fingerprint=fingerprint, **extra),
        headers=person.headers,
    )


async def deliver(
    api: httpx.AsyncClient,
    peer: LocalStripe,
    event_type: str,
    intent_id: str,
    event_id: str | None = None,
) -> httpx.Response:
    """Send a webhook about a PaymentIntent, signed with the real HMAC scheme."""
    payload, headers = signed(event(event_type, peer.intent(intent_id), event_id))
    return await api.post("/api/stripe/webhook", content=payload, headers=headers)


async def paid_booking(
    api: httpx.AsyncClient,
    peer: LocalStripe,
    person: Person,
    items: list[tuple[int, int]] | int,
    start: datetime = START,
    end: datetime = END,
) -> dict[str, Any]:
    """Check out by card, pay at Stripe, deliver the webhook: a confirmed, invoiced booking."""
    response = await checkout(api, person, items, start, end, method="card")
    assert response.status_code == 201, response.text
    payment = response.json()["payment"]
    assert peer.pay(payment["intent_id"])["status"] == "succeeded"
    delivered = await deliver(api, peer, "payment_intent.succeeded", payment["intent_id"])
    assert delivered.json()["outcome"] == "confirmed", delivered.text
    body: dict[str, Any] = response.json()
    return body


async def until_waiting_for(database: Database, statement: str) -> None:
    """Return once another connection waits for a row lock in ``statement`` (a checkout made
    to wait for a concurrent transaction's lock)."""
    for _ in range(200):
        async with database.engine.connect() as conn:
            waiting = await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE :q"
                ),
                {"q": f"%{statement}%"},
            )
            if waiting.scalar_one():
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing waited for a lock in {statement}")


async def make_coupon(api: httpx.AsyncClient, lab: PricedLab, **body: Any) -> dict[str, Any]:
    """A promo code of the lab's place, made by its manager."""
    response = await api.post(
        f"/api/places/{lab.place_id}/coupons", json=body, headers=lab.manager.headers
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def credit_wallet(
    api: httpx.AsyncClient, lab: PricedLab, person: Person, cents: int, reason: str
) -> dict[str, Any]:
    """Put ``cents`` in ``person``'s wallet at the lab's place, as its manager does."""
    response = await api.post(
        f"/api/places/{lab.place_id}/wallets/credits",
        json={"email": person.email, "amount_cents": cents, "reason": reason},
        headers=lab.manager.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
