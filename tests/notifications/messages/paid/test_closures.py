"""Closures and blackouts that handle the bookings they hit: previewed, then cancelled by the
place (a card refunded in full, an invoice credited, the booker mailed) or refused.

The fablab is open 08:00-20:00 every day; now is Monday 1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

from typing import Any

import httpx

from kernel.db import Database
from kernel.settings import Settings
from tests.billing.support import PricedLab, checkout, paid_booking
from tests.notifications.messages.support import dispatch, outbox
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import MutableClock, iso, paris
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def _booked(api: Client, person: Person, resource: int, start: Any, end: Any) -> int:
    """A booking paid on site (confirmed, nothing paid yet)."""
    response = await checkout(api, person, resource, start, end, method="on_site")
    assert response.status_code == 201, response.text
    booking_id: int = response.json()["booking"]["id"]
    return booking_id


async def _status(api: Client, lab: PricedLab, booking_id: int) -> str:
    response = await api.get(f"/api/bookings/{booking_id}", headers=lab.manager.headers)
    status: str = response.json()["status"]
    return status


async def test_closing_a_day_lists_then_cancels_its_bookings_refunded_credited_and_mailed(
    api: Client,
    lab: PricedLab,
    queue: Database,
    stripe_settings: Settings,
    stripe_peer: LocalStripe,
    clock: MutableClock,
) -> None:
    ana = await make_user(queue, "ana@example.fr")
    school = await make_organisation(queue, "Collège Charles Le Goffic")
    teacher = await make_user(queue, "prof@college.fr", organisation_roles=((school, "admin"),))
    paid = await paid_booking(
        api, stripe_peer, ana, lab.lab.printer, paris(2027, 3, 8, 10), paris(2027, 3, 8, 12)
    )
    invoiced = await checkout(
        api,
        teacher,
        lab.lab.room,
        paris(2027, 3, 8, 14),
        paris(2027, 3, 8, 16),
        method="invoice",
        organisation_id=school,
        purchase_order="BC-12",
    )
    assert invoiced.status_code == 201, invoiced.text
    next_day = await _booked(
        api, ana, lab.lab.printer, paris(2027, 3, 9, 10), paris(2027, 3, 9, 11)
    )
    card_id, invoice_id = paid["booking"]["id"], invoiced.json()["booking"]["id"]
    url = f"/api/places/{lab.place_id}/closures"
    body = {"first_day": "2027-03-08", "reason": "Inventaire"}

    preview = await api.post(f"{url}/preview", json=body, headers=lab.manager.headers)
    assert preview.status_code == 200, preview.text
    listed = [(e["booking"]["id"], e["booker"]["email"]) for e in preview.json()["affected"]]
    assert listed == [(card_id, "ana@example.fr"), (invoice_id, "prof@college.fr")]

    # Undecided, the closure is refused and nothing changes.
    refused = await api.post(url, json=body, headers=lab.manager.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "closure_hits_bookings"
    assert {b["id"] for b in refused.json()["bookings"]} == {card_id, invoice_id}
    partly = await api.post(
        url, json={**body, "cancel_booking_ids": [card_id]}, headers=lab.manager.headers
    )
    assert partly.status_code == 409 and [b["id"] for b in partly.json()["bookings"]] == [
        invoice_id
    ]
    assert await _status(api, lab, card_id) == "confirmed"
    days = await api.get(
        f"/api/places/{lab.place_id}/exceptions", params={"from": "2027-03-08", "to": "2027-03-09"}
    )
    assert days.json() == []

    await dispatch(queue, stripe_settings, clock)  # what came before the closure
    before = len(await outbox(queue))
    applied = await api.post(
        url, json={**body, "cancel_booking_ids": [card_id, invoice_id]}, headers=lab.manager.headers
    )
    assert applied.status_code == 201, applied.text
    assert [d["day"] for d in applied.json()["days"]] == ["2027-03-08"]
    assert [e["booking"]["status"] for e in applied.json()["cancelled"]] == ["cancelled"] * 2
    assert await _status(api, lab, next_day) == "confirmed"

    card = (await api.get(f"/api/bookings/{card_id}/billing", headers=ana.headers)).json()
    assert card["payment"]["status"] == "refunded"
    assert card["payment"]["status_reason"] == "cancelled_place_cancelled"
    assert [(r["amount_cents"], r["percent"]) for r in card["payment"]["refunds"]] == [(2400, 100)]
    assert sum(r["amount"] for r in stripe_peer.refunds(card["payment"]["intent_id"])) == 2400
    school_billing = (
        await api.get(f"/api/bookings/{invoice_id}/billing", headers=teacher.headers)
    ).json()
    invoice, credit = school_billing["documents"]
    assert (invoice["kind"], credit["kind"]) == ("invoice", "credit_note")
    assert credit["total_incl_vat_cents"] == invoice["total_incl_vat_cents"] == 5000
    assert school_billing["payment"]["refunds"] == []  # nothing was paid: the debt is cancelled

    # The day is closed to new bookings, and both bookers are told after commit.
    again = await checkout(api, ana, lab.lab.printer, paris(2027, 3, 8, 16), paris(2027, 3, 8, 17))
    assert again.status_code == 409, again.text
    await dispatch(queue, stripe_settings, clock)
    mails = await outbox(queue, "booking_cancelled")
    assert sorted(m.recipient for m in mails) == ["ana@example.fr", "prof@college.fr"]
    assert all("Inventaire" in m.text for m in mails)
    assert len(await outbox(queue)) > before


async def test_special_hours_on_the_dst_day_keep_the_bookings_inside_them(
    api: Client, lab: PricedLab, queue: Database
) -> None:
    # Sunday 28 March 2027: Paris moves from UTC+1 to UTC+2 at 02:00.
    ana = await make_user(queue, "ana@example.fr")
    inside = await _booked(
        api, ana, lab.lab.printer, paris(2027, 3, 28, 15), paris(2027, 3, 28, 16)
    )
    late = await _booked(api, ana, lab.lab.laser, paris(2027, 3, 28, 18), paris(2027, 3, 28, 19))
    eve = await _booked(api, ana, lab.lab.room, paris(2027, 3, 27, 18), paris(2027, 3, 27, 19))
    body = {"first_day": "2027-03-28", "spans": [{"opens": "14:00", "closes": "18:00"}]}
    url = f"/api/places/{lab.place_id}/closures"
    preview = await api.post(f"{url}/preview", json=body, headers=lab.manager.headers)
    # 18:00 local is 16:00 UTC that day (an hour's error would keep or drop the wrong ones).
    assert [e["booking"]["id"] for e in preview.json()["affected"]] == [late]
    applied = await api.post(
        url, json={**body, "cancel_booking_ids": [late]}, headers=lab.manager.headers
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["days"][0]["spans"] == [{"opens": "14:00:00", "closes": "18:00:00"}]
    assert [await _status(api, lab, b) for b in (inside, late, eve)] == [
        "confirmed",
        "cancelled",
        "confirmed",
    ]
    spans = await api.get(
        f"/api/places/{lab.place_id}/open-spans", params={"from": "2027-03-28", "to": "2027-03-29"}
    )
    assert [(s["starts_at"], s["ends_at"]) for s in spans.json()] == [
        ("2027-03-28T12:00:00Z", "2027-03-28T16:00:00Z")
    ]


async def test_a_range_of_days_and_the_single_day_endpoint_decide_too(
    api: Client, lab: PricedLab, queue: Database
) -> None:
    ana = await make_user(queue, "ana@example.fr")
    first = await _booked(api, ana, lab.lab.printer, paris(2027, 3, 10, 9), paris(2027, 3, 10, 10))
    last = await _booked(api, ana, lab.lab.printer, paris(2027, 3, 12, 19), paris(2027, 3, 12, 20))
    after = await _booked(api, ana, lab.lab.printer, paris(2027, 3, 13, 8), paris(2027, 3, 13, 9))
    url = f"/api/places/{lab.place_id}/closures"
    body = {"first_day": "2027-03-10", "last_day": "2027-03-12"}
    preview = await api.post(f"{url}/preview", json=body, headers=lab.manager.headers)
    assert [e["booking"]["id"] for e in preview.json()["affected"]] == [first, last]

    single = f"/api/places/{lab.place_id}/exceptions/2027-03-10"
    refused = await api.put(single, json={"closed": True}, headers=lab.manager.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "closure_hits_bookings"

    applied = await api.post(
        url, json={**body, "cancel_booking_ids": [first, last]}, headers=lab.manager.headers
    )
    assert applied.status_code == 201, applied.text
    assert [d["day"] for d in applied.json()["days"]] == ["2027-03-10", "2027-03-11", "2027-03-12"]
    assert await _status(api, lab, after) == "confirmed"
    assert (
        await api.put(single, json={"closed": True}, headers=lab.manager.headers)
    ).status_code == 200


async def test_bad_closures_are_422_naming_the_field_and_others_cannot_close(
    api: Client, lab: PricedLab, queue: Database
) -> None:
    url = f"/api/places/{lab.place_id}/closures"
    backwards = await api.post(
        url, json={"first_day": "2027-03-10", "last_day": "2027-03-09"}, headers=lab.manager.headers
    )
    assert backwards.status_code == 422, backwards.text
    assert backwards.headers["content-type"].startswith("application/problem+json")
    bad_day = await api.post(url, json={"first_day": "10/03/2027"}, headers=lab.manager.headers)
    assert bad_day.status_code == 422 and "first_day" in bad_day.text
    ana = await make_user(queue, "ana@example.fr")
    forbidden = await api.post(url, json={"first_day": "2027-03-10"}, headers=ana.headers)
    assert forbidden.status_code == 403, forbidden.text


async def test_a_blackout_hits_only_the_bookings_of_its_resource(
    api: Client, lab: PricedLab, queue: Database
) -> None:
    ana = await make_user(queue, "ana@example.fr")
    laser = await _booked(api, ana, lab.lab.laser, paris(2027, 3, 9, 10), paris(2027, 3, 9, 12))
    printer = await _booked(api, ana, lab.lab.printer, paris(2027, 3, 9, 10), paris(2027, 3, 9, 12))
    later = await _booked(api, ana, lab.lab.laser, paris(2027, 3, 9, 14), paris(2027, 3, 9, 15))
    url = f"/api/resources/{lab.lab.laser}/blackouts"
    body = {"starts_at": iso(paris(2027, 3, 9, 11)), "ends_at": iso(paris(2027, 3, 9, 14))}
    preview = await api.post(f"{url}/preview", json=body, headers=lab.manager.headers)
    assert [e["booking"]["id"] for e in preview.json()["affected"]] == [laser]
    refused = await api.post(url, json=body, headers=lab.manager.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "closure_hits_bookings"
    applied = await api.post(
        url, json={**body, "cancel_booking_ids": [laser]}, headers=lab.manager.headers
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["starts_at"] == "2027-03-09T10:00:00Z"
    assert [await _status(api, lab, b) for b in (laser, printer, later)] == [
        "cancelled",
        "confirmed",
        "confirmed",
    ]
    cancelled = await api.get(f"/api/bookings/{laser}", headers=ana.headers)
    assert cancelled.json()["status_reason"] == "maintenance de l'équipement"
