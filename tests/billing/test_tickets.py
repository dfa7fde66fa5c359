"""Session tickets through the API: prices per user type, the quote = charge flow, payment on
site, on invoice (organisations) and by card (against localstripe), invoices and credit notes
in the place's one chain, refunds by the tiers or in full, exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from billing.invoicing import verify_documents
from billing.repository import BillingRepository
from kernel.db import Database
from tests.billing.support import PricedLab
from tests.programme.support import publish, register, run_minimum_job, session_body
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.apps import runtime_on
from tests.support.booking import FIXED_NOW, MutableClock
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient
START = FIXED_NOW + timedelta(days=6)
END = START + timedelta(hours=3)
# 12.50 EUR excl. VAT for citizens (15.00 incl. 20 % VAT), free for schools, 20 EUR otherwise.
PRICES = {
    "prices": [
        {"user_type": "citizen", "price_cents": 1250},
        {"user_type": "school", "price_cents": 0},
        {"user_type": "*", "price_cents": 2000},
    ]
}


async def priced_session(api: Client, lab: PricedLab, **extra: Any) -> dict[str, Any]:
    """A 3-D printing workshop in six days, 12 seats, with :data:`PRICES`."""
    [made] = await publish(
        api,
        lab.manager,
        lab.place_id,
        session_body(START, END, title="Impression 3D", **extra),
    )
    priced = await api.put(
        f"/api/sessions/{made['id']}/prices", json=PRICES, headers=lab.manager.headers
    )
    assert priced.status_code == 200, priced.text
    [read] = priced.json()["sessions"]
    return dict(read)


async def quote(api: Client, person: Person, session_id: int, **body: Any) -> dict[str, Any]:
    """POST the session's quote; the quote."""
    response = await api.post(
        f"/api/sessions/{session_id}/quote", json=body, headers=person.headers
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def order(
    api: Client, person: Person, session_id: int, method: str = "on_site", **body: Any
) -> httpx.Response:
    """Quote, then register at that quote's fingerprint."""
    seats = body.pop("seats", 1)
    quoted = await quote(
        api, person, session_id, seats=seats, organisation_id=body.get("organisation_id")
    )
    return await api.post(
        f"/api/sessions/{session_id}/tickets",
        json={
            "seats": seats,
            "fingerprint": quoted["fingerprint"],
            "payment_method": method,
            **body,
        },
        headers=person.headers,
    )


async def settle_twice_at_once(database: Database, clock: MutableClock) -> None:
    """The settling job run twice at the same moment, as two workers would."""
    async with runtime_on(database, clock) as one, runtime_on(database, clock) as two:
        await asyncio.gather(one.billing.settle_tickets(), two.billing.settle_tickets())


async def documents_of(database: Database, registration_id: int) -> list[tuple[str, int]]:
    """The invoices and credit notes of a registration's ticket, in issuing order."""
    async with database.reader() as session:
        rows = await session.execute(
            text(
                "SELECT d.kind, d.total_incl_vat_cents FROM billing_document d "
                "JOIN plan_charge c ON c.id = d.plan_charge_id "
                "WHERE c.registration_id = :r ORDER BY d.id"
            ).bindparams(r=registration_id)
        )
        return [(kind, int(total)) for kind, total in rows.all()]


async def refunds_of(database: Database, registration_id: int) -> list[tuple[int, str]]:
    """The refunds of a registration's ticket."""
    async with database.reader() as session:
        rows = await session.execute(
            text(
                "SELECT f.amount_cents, f.status FROM refund f "
                "JOIN plan_charge c ON c.id = f.plan_charge_id "
                "WHERE c.registration_id = :r ORDER BY f.id"
            ).bindparams(r=registration_id)
        )
        return [(int(amount), status) for amount, status in rows.all()]


async def test_prices_per_user_type_are_shown_and_filter_the_programme(
    api: Client, lab: PricedLab, database: Database
) -> None:
    session = await priced_session(api, lab)
    assert session["free"] is False
    assert {p["user_type"]: p["price_incl_vat_cents"] for p in session["prices"]} == {
        "citizen": 1500,
        "school": 0,
        "*": 2400,
    }
    [free] = await publish(api, lab.manager, lab.place_id, session_body(START, END))
    paid = await api.get("/api/sessions", params={"place_id": lab.place_id, "free": "false"})
    assert [s["id"] for s in paid.json()["items"]] == [session["id"]]
    gratis = await api.get("/api/sessions", params={"place_id": lab.place_id, "free": "true"})
    assert [s["id"] for s in gratis.json()["items"]] == [free["id"]]
    # Typed VAT included: stored excluding VAT, shown as typed.
    incl = await api.put(
        f"/api/sessions/{free['id']}/prices",
        json={"amounts_include_vat": True, "prices": [{"user_type": "*", "price_cents": 1500}]},
        headers=lab.manager.headers,
    )
    assert incl.status_code == 200, incl.text
    assert incl.json()["sessions"][0]["prices"] == [
        {"user_type": "*", "price_cents": 1250, "price_incl_vat_cents": 1500}
    ]
    # Bad input names its field; a citizen may not set prices.
    unknown = await api.put(
        f"/api/sessions/{free['id']}/prices",
        json={"prices": [{"user_type": "martian", "price_cents": 1}]},
        headers=lab.manager.headers,
    )
    assert unknown.status_code == 422 and "prices[0].user_type" in unknown.text
    bad_vat = await api.put(
        f"/api/sessions/{free['id']}/prices",
        json={"vat": {"kind": "exempt", "rate": "20"}, "prices": []},
        headers=lab.manager.headers,
    )
    assert bad_vat.status_code == 422 and "vat" in bad_vat.text
    citizen = await make_user(database, "ana@example.fr")
    refused = await api.put(
        f"/api/sessions/{free['id']}/prices", json=PRICES, headers=citizen.headers
    )
    assert refused.status_code in (403, 404)


async def test_quote_is_what_is_charged_and_a_moved_price_is_refused(
    api: Client, lab: PricedLab, database: Database
) -> None:
    session = await priced_session(api, lab)
    citizen = await make_user(database, "ana@example.fr")
    quoted = await quote(api, citizen, session["id"], seats=3)
    assert quoted["total_incl_vat_cents"] == 4500  # 3 seats x 15 EUR
    assert quoted["total_excl_vat_cents"] == 3750 and quoted["user_type"] == "citizen"
    assert quoted["payment_methods"] == ["card", "on_site"]
    # The plain registration is refused for a priced session: the ticket is the way.
    plain = await register(api, citizen, session["id"])
    assert plain.status_code == 409 and plain.json()["code"] == "ticket_required"
    # The manager changes the price between the quote and the registration.
    await api.put(
        f"/api/sessions/{session['id']}/prices",
        json={"prices": [{"user_type": "*", "price_cents": 1300}]},
        headers=lab.manager.headers,
    )
    moved = await api.post(
        f"/api/sessions/{session['id']}/tickets",
        json={"seats": 3, "fingerprint": quoted["fingerprint"], "payment_method": "on_site"},
        headers=citizen.headers,
    )
    assert moved.status_code == 409 and moved.json()["code"] == "price_changed"
    assert moved.json()["quote"]["total_incl_vat_cents"] == 3 * 1560
    again = await api.get(f"/api/sessions/{session['id']}")
    assert again.json()["seats_left"] == 12  # nothing registered
    made = await order(api, citizen, session["id"], seats=3)
    assert made.status_code == 201, made.text
    charge = made.json()["charge"]
    assert (charge["amount_cents"], charge["status"]) == (3 * 1560, "awaiting_on_site")
    assert charge["documents"] == []  # invoiced once paid


async def test_on_site_ticket_is_invoiced_once_received_and_refunded_by_tier(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    session = await priced_session(api, lab)
    citizen = await make_user(database, "ana@example.fr")
    made = await order(api, citizen, session["id"])
    assert made.status_code == 201, made.text
    registration_id = made.json()["registration"]["id"]
    assert made.json()["registration"]["status"] == "registered"
    refused = await api.post(
        f"/api/registrations/{registration_id}/receive",
        json={"means": "cash"},
        headers=citizen.headers,
    )
    assert refused.status_code in (403, 404)
    received = await api.post(
        f"/api/registrations/{registration_id}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert received.status_code == 200, received.text
    charge = received.json()["charge"]
    assert charge["status"] == "succeeded"
    [invoice] = charge["documents"]
    assert invoice["number"].startswith("FLT-2027-") and invoice["total_incl_vat_cents"] == 1500
    twice = await api.post(
        f"/api/registrations/{registration_id}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert twice.status_code == 409 and twice.json()["code"] == "nothing_due"
    # The buyer reads the invoice (PDF and page), which names the session.
    pdf = await api.get(f"/api/invoices/{invoice['id']}/pdf", headers=citizen.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    printed = await api.get(f"/api/invoices/{invoice['id']}/print", headers=citizen.headers)
    assert printed.status_code == 200 and "Inscription à « Impression 3D »" in printed.text
    other = await make_user(database, "other@example.fr")
    hidden = await api.get(f"/api/invoices/{invoice['id']}/pdf", headers=other.headers)
    assert hidden.status_code == 404
    # Cancelled 30 hours before the start: the 50 % tier.
    clock.now = START - timedelta(hours=30)
    cancelled = await api.post(
        f"/api/registrations/{registration_id}/cancel", headers=citizen.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await settle_twice_at_once(database, clock)
    await settle_twice_at_once(database, clock)
    assert await documents_of(database, registration_id) == [
        ("invoice", 1500),
        ("credit_note", 750),
    ]
    # Money received at the desk is given back by the place.
    assert await refunds_of(database, registration_id) == [(750, "manual")]
    read = await api.post(f"/api/registrations/{registration_id}/ticket", headers=citizen.headers)
    assert read.json()["charge"]["status"] == "partially_refunded"
    async with database.reader() as session_:
        assert await verify_documents(BillingRepository(session_), lab.place_id) == []


async def test_a_school_registers_free_and_an_organisation_pays_on_invoice(
    api: Client, lab: PricedLab, database: Database
) -> None:
    session = await priced_session(api, lab)
    school = await make_organisation(database)
    teacher = await make_user(database, "prof@ecole.fr", organisation_roles=((school, "admin"),))
    free = await order(api, teacher, session["id"], "invoice", seats=5, organisation_id=school)
    assert free.status_code == 201, free.text
    assert free.json()["charge"] is None and free.json()["registration"]["seats"] == 5
    company = await make_organisation(database, "Atelier Dupont", user_type="company")
    boss = await make_user(database, "chef@dupont.fr", organisation_roles=((company, "admin"),))
    # Companies pay by card or on invoice at this place (a person never on invoice).
    citizen = await make_user(database, "ana@example.fr")
    person = await order(api, citizen, session["id"], "invoice")
    assert person.status_code == 409, person.text
    invoiced = await order(
        api, boss, session["id"], "invoice", organisation_id=company, purchase_order="BC-9"
    )
    assert invoiced.status_code == 201, invoiced.text
    charge = invoiced.json()["charge"]
    assert charge["status"] == "invoiced" and charge["amount_cents"] == 2400
    [invoice] = charge["documents"]
    assert invoice["total_incl_vat_cents"] == 2400
    left = await api.get(f"/api/sessions/{session['id']}")
    assert left.json()["seats_left"] == 12 - 5 - 1


async def test_below_minimum_everyone_is_refunded_in_full_once(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    session = await priced_session(api, lab, min_attendance=5, minimum_check_hours=48)
    people = [await make_user(database, f"p{i}@example.fr") for i in range(3)]
    registrations = []
    for person in people:
        made = await order(api, person, session["id"])
        assert made.status_code == 201, made.text
        registration_id = made.json()["registration"]["id"]
        received = await api.post(
            f"/api/registrations/{registration_id}/receive",
            json={"means": "cash"},
            headers=lab.manager.headers,
        )
        assert received.status_code == 200, received.text
        registrations.append(registration_id)
    # One more registered on site, not paid yet: nothing to refund, nothing due any more.
    unpaid = await order(api, await make_user(database, "late@example.fr"), session["id"])
    unpaid_id = unpaid.json()["registration"]["id"]
    clock.now = START - timedelta(hours=47)
    assert await run_minimum_job(database, clock) == 1
    assert await run_minimum_job(database, clock) == 0
    await settle_twice_at_once(database, clock)
    await settle_twice_at_once(database, clock)
    for registration_id in registrations:
        assert await documents_of(database, registration_id) == [
            ("invoice", 1500),
            ("credit_note", 1500),
        ]
        assert await refunds_of(database, registration_id) == [(1500, "manual")]
    assert await documents_of(database, unpaid_id) == []
    assert await refunds_of(database, unpaid_id) == []
    read = await api.post(f"/api/registrations/{unpaid_id}/ticket", headers=lab.manager.headers)
    assert read.json()["charge"]["status"] == "cancelled"


async def test_card_ticket_holds_its_seats_is_paid_then_refunded_in_full_by_stripe(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_peer: LocalStripe,
) -> None:
    [made] = await publish(
        api, lab.manager, lab.place_id, session_body(START, END, title="Laser", seats=2)
    )
    await api.put(f"/api/sessions/{made['id']}/prices", json=PRICES, headers=lab.manager.headers)
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    eve = await make_user(database, "eve@example.fr")
    held = await order(api, ana, made["id"], "card")
    assert held.status_code == 201, held.text
    ana_id = held.json()["registration"]["id"]
    assert held.json()["charge"]["status"] == "pending"
    # A pending card payment holds its seat: never oversold.
    assert (await order(api, bob, made["id"], "card")).status_code == 201
    full = await order(api, eve, made["id"], "on_site")
    assert full.status_code == 409 and full.json()["code"] == "session_full"
    # Ana pays: the intent is made after commit, paid at Stripe, fetched back.
    started = await api.post(f"/api/registrations/{ana_id}/ticket", headers=ana.headers)
    secret = started.json()["charge"]["client_secret"]
    intent_id = secret.split("_secret")[0]
    assert stripe_peer.intent(intent_id)["amount"] == 1500
    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    paid = await api.post(f"/api/registrations/{ana_id}/ticket", headers=ana.headers)
    assert paid.json()["charge"]["status"] == "succeeded"
    assert [d["total_incl_vat_cents"] for d in paid.json()["charge"]["documents"]] == [1500]
    # Bob never pays: after the hold, his seat goes back (and Eve gets one).
    clock.advance(minutes=21)
    async with runtime_on(database, clock) as runtime:
        assert await runtime.billing.settle_tickets() == 1
    assert (await order(api, eve, made["id"], "on_site")).status_code == 201
    # The place cancels the session: Ana is refunded in full on her card, once.
    cancelled = await api.post(
        f"/api/sessions/{made['id']}/cancel", json={"reason": "panne"}, headers=lab.manager.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await settle_twice_at_once(database, clock)
    # The next request's dispatch sends the card refund to Stripe (after commit).
    await api.post(f"/api/registrations/{ana_id}/ticket", headers=ana.headers)
    assert await documents_of(database, ana_id) == [("invoice", 1500), ("credit_note", 1500)]
    assert await refunds_of(database, ana_id) == [(1500, "succeeded")]


async def test_twenty_people_at_once_for_six_seats_card_and_on_site_never_oversold(
    api: Client, lab: PricedLab, database: Database
) -> None:
    [made] = await publish(
        api, lab.manager, lab.place_id, session_body(START, END, title="Laser", seats=6)
    )
    await api.put(f"/api/sessions/{made['id']}/prices", json=PRICES, headers=lab.manager.headers)
    people = [await make_user(database, f"p{i}@example.fr") for i in range(20)]
    fingerprint = (await quote(api, people[0], made["id"]))["fingerprint"]
    answers = await asyncio.gather(
        *(
            api.post(
                f"/api/sessions/{made['id']}/tickets",
                json={
                    "fingerprint": fingerprint,
                    "payment_method": "card" if i % 2 else "on_site",
                },
                headers=p.headers,
            )
            for i, p in enumerate(people)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 6 + [409] * 14, [a.text for a in answers if a.status_code >= 500]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"session_full"}
    async with database.reader() as session:
        counted = (
            await session.execute(
                text(
                    "SELECT s.seats_taken, count(c.id) FROM programme_session s "
                    "JOIN programme_registration r ON r.session_id = s.id "
                    "JOIN plan_charge c ON c.registration_id = r.id "
                    "WHERE s.id = :id AND r.status = 'registered' GROUP BY s.seats_taken"
                ).bindparams(id=made["id"])
            )
        ).one()
    assert tuple(counted) == (6, 6)  # one charge per registration, pending cards included


async def test_a_full_paid_session_offers_its_waitlist_paid_on_site_once_seated(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    [made] = await publish(
        api, lab.manager, lab.place_id, session_body(START, END, title="Laser", seats=1)
    )
    await api.put(f"/api/sessions/{made['id']}/prices", json=PRICES, headers=lab.manager.headers)
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    first = await order(api, ana, made["id"])
    assert first.status_code == 201, first.text
    by_card = await order(api, bob, made["id"], "card", waitlist=True)
    assert by_card.status_code == 422 and "payment_method" in by_card.text
    waiting = await order(api, bob, made["id"], waitlist=True)
    assert waiting.status_code == 201, waiting.text
    bob_id = waiting.json()["registration"]["id"]
    assert waiting.json()["registration"]["status"] == "waitlisted"
    assert waiting.json()["charge"]["status"] == "awaiting_on_site"
    # Ana gives up before paying: Bob has her seat, to pay at the desk; nothing to refund.
    ana_id = first.json()["registration"]["id"]
    assert (await api.post(f"/api/registrations/{ana_id}/cancel", headers=ana.headers)).is_success
    await settle_twice_at_once(database, clock)
    seated = await api.post(f"/api/registrations/{bob_id}/ticket", headers=bob.headers)
    assert seated.json()["registration"]["status"] == "registered"
    assert seated.json()["charge"]["status"] == "awaiting_on_site"
    ana_ticket = await api.post(f"/api/registrations/{ana_id}/ticket", headers=ana.headers)
    assert ana_ticket.json()["charge"]["status"] == "cancelled"
    assert await documents_of(database, ana_id) == [] and await refunds_of(database, ana_id) == []


async def test_a_user_type_without_its_price_nor_any_others_is_not_offered_the_session(
    api: Client, lab: PricedLab, database: Database
) -> None:
    [made] = await publish(api, lab.manager, lab.place_id, session_body(START, END))
    only_schools = {"prices": [{"user_type": "school", "price_cents": 500}]}
    await api.put(
        f"/api/sessions/{made['id']}/prices", json=only_schools, headers=lab.manager.headers
    )
    citizen = await make_user(database, "ana@example.fr")
    refused = await api.post(
        f"/api/sessions/{made['id']}/quote", json={"seats": 1}, headers=citizen.headers
    )
    assert refused.status_code == 409 and refused.json()["code"] == "no_rate"
    # Every price at 0: the session is free again, and registered plainly.
    await api.put(
        f"/api/sessions/{made['id']}/prices",
        json={"prices": [{"user_type": "*", "price_cents": 0}]},
        headers=lab.manager.headers,
    )
    assert (await api.get(f"/api/sessions/{made['id']}")).json()["free"] is True
    assert (await register(api, citizen, made["id"])).status_code == 201


async def test_a_priced_session_is_not_registered_at_the_desk_without_its_ticket(
    api: Client, lab: PricedLab, database: Database
) -> None:
    session = await priced_session(api, lab, seats=4)
    desk = await api.post(
        f"/api/sessions/{session['id']}/desk-registrations",
        json={"name": "Yann Le Goff", "seats": 1},
        headers=lab.manager.headers,
    )
    assert desk.status_code == 409, desk.text
    assert desk.json()["code"] == "ticket_required"
    read = await api.get(f"/api/sessions/{session['id']}", headers=lab.manager.headers)
    assert read.json()["seats_left"] == 4  # nothing taken, no guest registered unpaid
    async with database.reader() as reader:
        count = await reader.scalar(
            text("SELECT count(*) FROM programme_registration WHERE session_id = :s").bindparams(
                s=session["id"]
            )
        )
    assert count == 0
