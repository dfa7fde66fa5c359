"""Issue 16, items 1-3: every priced booking is paid, a move is re-priced, and moving a booking
cannot buy a better refund tier.

The fablab's printer costs citizens 10 EUR/h + 20 % VAT (2 h = 24.00 EUR), others 15 EUR/h;
citizens pay by card or on site, schools on invoice; 100 % refund up to 48 h before the start,
50 % up to 24 h. Now is Monday 1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import END, START, PricedLab, checkout, paid_booking
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import book, iso, paris
from tests.support.invariants import unpaid_priced_bookings
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def _billing(api: Client, person: Person, booking_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/bookings/{booking_id}/billing", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _mine(api: Client, person: Person) -> int:
    response = await api.get("/api/me/bookings", headers=person.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def _reschedule(
    api: Client, person: Person, booking_id: int, start: Any, end: Any, **extra: Any
) -> httpx.Response:
    return await api.post(
        f"/api/bookings/{booking_id}/reschedule",
        json={"starts_at": iso(start), "ends_at": iso(end), **extra},
        headers=person.headers,
    )


async def _allow_late_changes(api: Client, lab: PricedLab) -> None:
    response = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"cancel_deadline_hours": 0}]},
        headers=lab.manager.headers,
    )
    assert response.status_code == 200, response.text


# 1. a priced booking exists only with a payment ------------------------------------------
async def test_a_citizen_cannot_book_a_priced_resource_without_paying(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    response = await book(api, ana, lab.lab.laser, START, END)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "payment_required"
    assert problem["checkout"] == "/api/checkout"
    assert problem["quote"]["total_incl_vat_cents"] == 7200  # 2 h x 30 EUR + 20 %
    assert await _mine(api, ana) == 0
    # Checkout books it, with its payment.
    paid = await checkout(api, ana, lab.lab.laser, method="on_site")
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["status"] == "awaiting_on_site"


async def test_a_priced_series_without_checkout_is_refused_and_nothing_is_booked(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    response = await api.post(
        "/api/series",
        json={
            "items": [{"resource_id": lab.lab.printer, "quantity": 1}],
            "rule": "FREQ=WEEKLY;COUNT=20",
            "first_date": "2027-03-08",
            "start_time": "10:00",
            "duration_minutes": 120,
        },
        headers=ana.headers,
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "payment_required"
    assert await _mine(api, ana) == 0


async def test_a_manager_books_a_priced_resource_payable_on_site(
    api: Client, lab: PricedLab
) -> None:
    manager = lab.manager
    response = await book(api, manager, lab.lab.printer, START, END)
    assert response.status_code == 201, response.text
    booking_id = response.json()["id"]
    billing = await _billing(api, manager, booking_id)
    payment = billing["payment"]
    assert (payment["method"], payment["status"], payment["amount_cents"]) == (
        "on_site",
        "awaiting_on_site",
        2400,
    )
    assert payment["status_reason"] == "booked_by_manager"
    # Paid at the desk: recorded, then invoiced.
    recorded = await api.post(
        f"/api/payments/{payment['id']}/record", json={"means": "cash"}, headers=manager.headers
    )
    assert recorded.status_code == 200, recorded.text
    billing = await _billing(api, manager, booking_id)
    assert billing["payment"]["status"] == "succeeded"
    assert [d["kind"] for d in billing["documents"]] == ["invoice"]


async def test_a_manager_booking_for_a_school_is_invoiced(
    api: Client, lab: PricedLab, database: Database
) -> None:
    school = await make_organisation(database, requires_purchase_order=False)
    manager = await make_user(
        database,
        "director@fablab.test",
        manages=(lab.place_id,),
        organisation_roles=((school, "booker"),),
    )
    response = await book(api, manager, lab.lab.printer, START, END, organisation_id=school)
    assert response.status_code == 201, response.text
    billing = await _billing(api, manager, response.json()["id"])
    payment = billing["payment"]
    # Schools pay on invoice only here: 2 h x 15 EUR + 20 %.
    assert (payment["method"], payment["status"], payment["amount_cents"]) == (
        "invoice",
        "invoiced",
        3600,
    )
    assert payment["due_on"] is not None
    assert [(d["kind"], d["total_incl_vat_cents"]) for d in billing["documents"]] == [
        ("invoice", 3600)
    ]


async def test_the_invariant_finds_a_priced_booking_without_payment(
    api: Client, lab: PricedLab, database: Database
) -> None:
    """The check the suite runs after every test (tests/conftest.py) sees such a booking."""
    manager = lab.manager
    response = await book(api, manager, lab.lab.printer, START, END)
    assert response.status_code == 201, response.text
    booking_id = response.json()["id"]
    assert await unpaid_priced_bookings(database) == []
    async with database.writer() as session, session.begin():
        await session.execute(text("DELETE FROM payment WHERE booking_id = :b"), {"b": booking_id})
    assert await unpaid_priced_bookings(database) == [booking_id]
    async with database.writer() as session, session.begin():
        await session.execute(
            text("UPDATE booking SET status = 'cancelled' WHERE id = :b"), {"b": booking_id}
        )
    assert await unpaid_priced_bookings(database) == []


# 2. a move is re-priced ----------------------------------------------------------------
async def test_a_move_at_the_same_price_goes_through_and_is_invoiced_anew(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    ana = await make_user(database, "ana@example.fr")
    paid = await paid_booking(api, stripe_peer, ana, lab.lab.printer)
    booking_id = paid["booking"]["id"]
    moved = await _reschedule(api, ana, booking_id, paris(2027, 3, 9, 14), paris(2027, 3, 9, 16))
    assert moved.status_code == 200, moved.text
    billing = await _billing(api, ana, booking_id)
    assert billing["payment"]["status"] == "succeeded"
    assert billing["payment"]["refunds"] == []
    documents = billing["documents"]
    assert [(d["kind"], d["total_incl_vat_cents"]) for d in documents] == [
        ("invoice", 2400),
        ("credit_note", 2400),
        ("invoice", 2400),
    ]
    assert documents[1]["corrects_id"] == documents[0]["id"]
    new_invoice = await api.get(f"/api/invoices/{documents[2]['id']}", headers=ana.headers)
    assert new_invoice.status_code == 200, new_invoice.text
    assert new_invoice.json()["content"]["booking"]["local_start"] == "2027-03-09 14:00"


async def test_a_dearer_move_of_a_paid_booking_is_a_price_change(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    ana = await make_user(database, "ana@example.fr")
    paid = await paid_booking(api, stripe_peer, ana, lab.lab.printer, START, paris(2027, 3, 8, 11))
    booking_id = paid["booking"]["id"]
    moved = await _reschedule(api, ana, booking_id, START, paris(2027, 3, 8, 14))
    assert moved.status_code == 409, moved.text
    problem = moved.json()
    assert problem["code"] == "price_changed"
    assert problem["quote"]["total_incl_vat_cents"] == 4800
    assert problem["difference_cents"] == 3600
    assert problem["pay_difference"] == []
    # Nothing moved, nothing billed.
    booking = await api.get(f"/api/bookings/{booking_id}", headers=ana.headers)
    assert booking.json()["ends_at"] == paid["booking"]["ends_at"]
    billing = await _billing(api, ana, booking_id)
    assert [d["kind"] for d in billing["documents"]] == ["invoice"]


async def test_a_dearer_move_on_invoice_asks_for_the_difference_then_reinvoices(
    api: Client, lab: PricedLab, database: Database
) -> None:
    school = await make_organisation(database, requires_purchase_order=False)
    teacher = await make_user(
        database, "prof@college.test", organisation_roles=((school, "booker"),)
    )
    done = await checkout(api, teacher, lab.lab.printer, method="invoice", organisation_id=school)
    assert done.status_code == 201, done.text
    booking_id = done.json()["booking"]["id"]
    later = (START, paris(2027, 3, 8, 13))  # 3 h instead of 2: 54.00 EUR
    refused = await _reschedule(api, teacher, booking_id, *later)
    assert refused.status_code == 409, refused.text
    assert refused.json()["pay_difference"] == ["invoice"]
    moved = await _reschedule(api, teacher, booking_id, *later, pay_difference="invoice")
    assert moved.status_code == 200, moved.text
    billing = await _billing(api, teacher, booking_id)
    assert (billing["payment"]["status"], billing["payment"]["amount_cents"]) == ("invoiced", 5400)
    assert [(d["kind"], d["total_incl_vat_cents"]) for d in billing["documents"]] == [
        ("invoice", 3600),
        ("credit_note", 3600),
        ("invoice", 5400),
    ]


async def test_a_cheaper_move_refunds_the_difference_by_the_tiers(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    await _allow_late_changes(api, lab)
    ana = await make_user(database, "ana@example.fr")
    early = await paid_booking(api, stripe_peer, ana, lab.lab.printer)  # a week ahead: 100 %
    late = await paid_booking(
        api, stripe_peer, ana, lab.lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 16)
    )  # 29 h ahead: 50 %
    one_hour = await _reschedule(api, ana, early["booking"]["id"], START, paris(2027, 3, 8, 11))
    assert one_hour.status_code == 200, one_hour.text
    billing = await _billing(api, ana, early["booking"]["id"])
    assert billing["payment"]["status"] == "partially_refunded"
    assert [(r["amount_cents"], r["percent"]) for r in billing["payment"]["refunds"]] == [
        (1200, 100)
    ]
    assert [(d["kind"], d["total_incl_vat_cents"]) for d in billing["documents"]] == [
        ("invoice", 2400),
        ("credit_note", 2400),
        ("invoice", 1200),
    ]
    shorter = await _reschedule(
        api, ana, late["booking"]["id"], paris(2027, 3, 2, 14), paris(2027, 3, 2, 15)
    )
    assert shorter.status_code == 200, shorter.text
    billing = await _billing(api, ana, late["booking"]["id"])
    # Half of the 12.00 EUR saved; the other half stays billed on the old invoice.
    assert [(r["amount_cents"], r["percent"]) for r in billing["payment"]["refunds"]] == [(600, 50)]
    assert [(d["kind"], d["total_incl_vat_cents"]) for d in billing["documents"]] == [
        ("invoice", 2400),
        ("credit_note", 1800),
        ("invoice", 1200),
    ]
    # Cancelling now gives back half of the new price, never the kept fee again.
    cancelled = await api.post(
        f"/api/bookings/{late['booking']['id']}/cancel", json={}, headers=ana.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    billing = await _billing(api, ana, late["booking"]["id"])
    assert [(r["amount_cents"], r["percent"]) for r in billing["payment"]["refunds"]] == [
        (600, 50),
        (600, 50),
    ]


# 3. refund tiers cannot be gamed by moving ---------------------------------------------
async def test_moving_a_booking_later_does_not_buy_a_better_refund(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    await _allow_late_changes(api, lab)
    ana = await make_user(database, "ana@example.fr")
    # Tomorrow 14:00, 29 h ahead: cancelling now refunds 50 %.
    paid = await paid_booking(
        api, stripe_peer, ana, lab.lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 16)
    )
    booking_id = paid["booking"]["id"]
    moved = await _reschedule(api, ana, booking_id, paris(2027, 3, 9, 14), paris(2027, 3, 9, 16))
    assert moved.status_code == 200, moved.text
    preview = (await _billing(api, ana, booking_id))["if_cancelled_now"]
    assert (preview["amount_cents"], preview["percent"]) == (1200, 50)
    cancelled = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=ana.headers)
    assert cancelled.status_code == 200, cancelled.text
    billing = await _billing(api, ana, booking_id)
    assert [(r["amount_cents"], r["percent"]) for r in billing["payment"]["refunds"]] == [
        (1200, 50)
    ]
