"""What cancelling now would give back, shown before cancelling, equals what cancelling gives.

The fablab refunds 100 % up to 48 h before the start, 50 % up to 24 h, nothing after.
Now is Monday 1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

from typing import Any

import httpx

from kernel.db import Database
from tests.billing.support import PricedLab, checkout, paid_booking
from tests.support.accounts import make_organisation, make_user
from tests.support.booking import paris
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def _billing(api: Client, headers: dict[str, str], booking_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/bookings/{booking_id}/billing", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_card_refund_announced_is_the_refund_made(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"cancel_deadline_hours": 0}]},
        headers=lab.manager.headers,
    )
    ana = await make_user(database, "ana@example.fr")
    # Tuesday 14:00, 29 h ahead: the 50 % tier.
    body = await paid_booking(
        api, stripe_peer, ana, lab.lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 16)
    )
    booking_id = body["booking"]["id"]
    before = await _billing(api, ana.headers, booking_id)
    assert before["if_cancelled_now"] == {
        "outcome": "refund",
        "amount_cents": 1200,
        "percent": 50,
        "reason": "tier",
        "tier": "50 % jusqu'à 24 h avant le début",
        "wallet_cents": 0,  # nothing was paid from the wallet
        "pack_minutes": 0,  # no prepaid hours were used
        "pack_minutes_used": 0,
    }
    cancelled = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=ana.headers)
    assert cancelled.status_code == 200, cancelled.text
    after = await _billing(api, ana.headers, booking_id)
    assert [r["amount_cents"] for r in after["payment"]["refunds"]] == [1200]
    assert after["if_cancelled_now"] is None  # nothing left to cancel


async def test_an_unpaid_invoice_is_reduced_and_an_on_site_booking_owes_nothing(
    api: Client, lab: PricedLab, database: Database
) -> None:
    school = await make_organisation(database, "Collège Charles Le Goffic")
    teacher = await make_user(database, "prof@college.fr", organisation_roles=((school, "admin"),))
    invoiced = await checkout(
        api,
        teacher,
        lab.lab.printer,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-44",
    )
    assert invoiced.status_code == 201, invoiced.text
    preview = (await _billing(api, teacher.headers, invoiced.json()["booking"]["id"]))[
        "if_cancelled_now"
    ]
    assert (preview["outcome"], preview["amount_cents"], preview["percent"]) == (
        "less_to_pay",
        3600,
        100,
    )

    ana = await make_user(database, "ana@example.fr")
    on_site = await checkout(
        api, ana, lab.lab.printer, paris(2027, 3, 9, 10), paris(2027, 3, 9, 12), method="on_site"
    )
    assert on_site.status_code == 201, on_site.text
    preview = (await _billing(api, ana.headers, on_site.json()["booking"]["id"]))[
        "if_cancelled_now"
    ]
    assert (preview["outcome"], preview["amount_cents"]) == ("nothing_paid", 0)
