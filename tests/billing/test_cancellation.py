"""Cancellation refunds by the place's policy: Stripe refunds for cards, credit notes always.

The fablab refunds 100 % up to 48 h before the start, 50 % up to 24 h, nothing after; a
cancellation by the place refunds everything. Now is Monday 1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.billing.support import PricedLab, checkout, paid_booking
from tests.support.accounts import make_organisation, make_user
from tests.support.booking import paris
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def _allow_late_cancellations(api: Client, lab: PricedLab) -> None:
    response = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"cancel_deadline_hours": 0}]},
        headers=lab.manager.headers,
    )
    assert response.status_code == 200, response.text


async def _cancel(api: Client, headers: dict[str, str], booking_id: int) -> dict:
    response = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=headers)
    assert response.status_code == 200, response.text
    billing = await api.get(f"/api/bookings/{booking_id}/billing", headers=headers)
    assert billing.status_code == 200, billing.text
    return billing.json()


async def test_card_refunds_follow_the_tiers(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    await _allow_late_cancellations(api, lab)
    ana = await make_user(database, "ana@example.fr")
    printer = lab.lab.printer
    week = await paid_booking(api, stripe_peer, ana, printer)  # 8 March: 169 h ahead
    tomorrow = await paid_booking(
        api, stripe_peer, ana, printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 16)
    )
    tonight = await paid_booking(
        api, stripe_peer, ana, printer, paris(2027, 3, 1, 17), paris(2027, 3, 1, 19)
    )
    by_place = await paid_booking(
        api, stripe_peer, ana, printer, paris(2027, 3, 1, 14), paris(2027, 3, 1, 16)
    )

    full = await _cancel(api, ana.headers, week["booking"]["id"])
    half = await _cancel(api, ana.headers, tomorrow["booking"]["id"])
    none = await _cancel(api, ana.headers, tonight["booking"]["id"])
    place = await _cancel(api, lab.manager.headers, by_place["booking"]["id"])

    def refunded(billing: dict) -> list[tuple[int, int, str]]:
        return [
            (r["amount_cents"], r["percent"], r["status"]) for r in billing["payment"]["refunds"]
        ]

    assert refunded(full) == [(2400, 100, "succeeded")]
    assert full["payment"]["status"] == "refunded"
    assert refunded(half) == [(1200, 50, "succeeded")]
    assert half["payment"]["status"] == "partially_refunded"
    assert refunded(none) == []
    assert none["payment"]["status_reason"] == "cancelled_no_tier"
    assert refunded(place) == [(2400, 100, "succeeded")]
    assert place["payment"]["status_reason"] == "cancelled_place_cancelled"
    # Stripe holds exactly those refunds.
    for billing, cents in ((full, 2400), (half, 1200), (none, 0), (place, 2400)):
        intent = billing["payment"]["intent_id"]
        assert sum(r["amount"] for r in stripe_peer.refunds(intent)) == cents

    # Every refund has its credit note, correcting the invoice; a partial one splits the VAT.
    kinds = [d["kind"] for d in half["documents"]]
    assert kinds == ["invoice", "credit_note"]
    invoice, credit = half["documents"]
    assert credit["corrects_id"] == invoice["id"] and credit["total_incl_vat_cents"] == 1200
    content = (await api.get(f"/api/invoices/{credit['id']}", headers=ana.headers)).json()[
        "content"
    ]
    assert content["corrects"]["number"] == invoice["number"]
    assert content["vat_breakdown"] == [
        {"kind": "taxable", "rate": "20.00", "base_cents": 1000, "vat_cents": 200}
    ]
    assert [d["kind"] for d in none["documents"]] == ["invoice"]
    numbers = sorted(
        d["number"]
        for b in (full, half, place)
        for d in b["documents"]
        if d["kind"] == "credit_note"
    )
    assert numbers == ["FLT-AV-2027-000001", "FLT-AV-2027-000002", "FLT-AV-2027-000003"]


async def test_an_invoiced_booking_is_credited_not_refunded(
    api: Client, lab: PricedLab, database: Database
) -> None:
    school = await make_organisation(database, "Collège Charles Le Goffic")
    teacher = await make_user(database, "prof@college.fr", organisation_roles=((school, "admin"),))
    booked = await checkout(
        api,
        teacher,
        lab.lab.printer,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-44",
    )
    assert booked.status_code == 201, booked.text
    billing = await _cancel(api, teacher.headers, booked.json()["booking"]["id"])
    assert billing["payment"]["status"] == "cancelled"
    assert billing["payment"]["refunds"] == []  # no money moved: the credit note cancels the debt
    invoice, credit = billing["documents"]
    assert (invoice["kind"], credit["kind"]) == ("invoice", "credit_note")
    assert credit["total_incl_vat_cents"] == invoice["total_incl_vat_cents"] == 3600


async def test_cancelling_an_unpaid_card_booking_cancels_its_intent(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    ana = await make_user(database, "ana@example.fr")
    body = (await checkout(api, ana, lab.lab.printer, method="card")).json()
    billing = await _cancel(api, ana.headers, body["booking"]["id"])
    assert billing["payment"]["status"] == "cancelled"
    assert stripe_peer.intent(body["payment"]["intent_id"])["status"] == "canceled"
