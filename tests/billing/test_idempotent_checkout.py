"""A checkout sent twice with one idempotency key books, charges and invoices once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import END, START, PricedLab, quote
from tests.support.accounts import make_user
from tests.support.booking import booking_body


async def _counts(database: Database) -> tuple[int, int]:
    async with database.engine.connect() as conn:
        bookings = (await conn.execute(text("SELECT count(*) FROM booking"))).scalar_one()
        payments = (await conn.execute(text("SELECT count(*) FROM payment"))).scalar_one()
    return bookings, payments


@pytest.mark.parametrize("method", ["card", "on_site"])
async def test_a_repeated_checkout_is_carried_out_once(
    api: httpx.AsyncClient, lab: PricedLab, database: Database, method: str
) -> None:
    ana = await make_user(database, "ana@example.fr")
    priced = await quote(api, ana, lab.lab.printer)
    order = booking_body(
        lab.lab.printer, START, END, method=method, quote_fingerprint=priced["fingerprint"]
    )
    headers = {**ana.headers, "Idempotency-Key": f"checkout-{method}"}
    first = await api.post("/api/checkout", json=order, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.post("/api/checkout", json=order, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["booking"]["id"] == first.json()["booking"]["id"]
    assert again.json()["payment"]["id"] == first.json()["payment"]["id"]
    assert await _counts(database) == (1, 1)


async def test_a_checked_out_card_payment_is_refreshed_without_keeping_a_key(
    api: httpx.AsyncClient, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    priced = await quote(api, ana, lab.lab.printer)
    order = booking_body(
        lab.lab.printer, START, END, method="card", quote_fingerprint=priced["fingerprint"]
    )
    headers = {**ana.headers, "Idempotency-Key": "card-1"}
    first = await api.post("/api/checkout", json=order, headers=headers)
    assert first.status_code == 201, first.text
    payment_id = first.json()["payment"]["id"]
    # Refreshing reads the PaymentIntent back from Stripe: it takes no key (none is kept, no
    # lock is held across the call), and it answers the same each time.
    refresh = {**ana.headers, "Idempotency-Key": "refresh-1"}
    for _ in range(2):
        answer = await api.post(f"/api/payments/{payment_id}/refresh", headers=refresh)
        assert answer.status_code == 200, answer.text
        assert "idempotent-replayed" not in answer.headers
    async with database.engine.connect() as conn:
        kept = await conn.execute(text("SELECT key FROM idempotency_record ORDER BY key"))
        assert [key for (key,) in kept] == ["card-1"]


async def test_a_keyed_priced_booking_that_loses_the_race_is_a_409_not_a_500(
    api: httpx.AsyncClient, lab: PricedLab, database: Database
) -> None:
    """A manager books a priced machine with a key: the booking and its due payment are one
    change, so the booking is not stored on its own. A writer the booking's check cannot see
    (no unit lock, foreign-key checks off) holds the slot; the exclusion constraint refuses the
    booking and ends the transaction. Asking the key about an earlier booking then fails too:
    the refusal stands, 409 ``slot_unavailable``, never a 500."""
    decoy = await api.post(
        "/api/bookings",
        json=booking_body(lab.lab.room, START, END),
        headers=lab.manager.headers,
    )
    assert decoy.status_code == 201, decoy.text
    async with database.engine.connect() as other:
        await other.execute(text("SET LOCAL session_replication_role = replica"))
        await other.execute(
            text(
                """
                INSERT INTO booking_allocation
                    (booking_id, item_id, resource_id, unit_id, starts_at, blocked_until, active)
                SELECT booking_id, item_id, :printer,
                       (SELECT id FROM resource_unit WHERE resource_id = :printer),
                       starts_at, blocked_until, true
                FROM booking_allocation WHERE booking_id = :booking
                """
            ),
            {"printer": lab.lab.printer, "booking": decoy.json()["id"]},
        )
        headers = {**lab.manager.headers, "Idempotency-Key": "race-1"}
        racing = asyncio.create_task(
            api.post(
                "/api/bookings", json=booking_body(lab.lab.printer, START, END), headers=headers
            )
        )
        await asyncio.sleep(0.5)
        assert not racing.done()  # held by the constraint until the other writer decides
        await other.commit()
        response = await racing
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "slot_unavailable"
    assert await _counts(database) == (1, 1)  # the decoy and its due payment only
