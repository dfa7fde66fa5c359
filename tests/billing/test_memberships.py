"""Membership plans and memberships through the API: defined by a place's managers, subscribed
on site, on invoice (organisations) or by card (against localstripe), invoiced in the place's
one chain, cancelled at the end of the period."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import httpx

from billing.invoicing import verify_documents
from billing.render import invoice_html, invoice_pdf
from billing.repository import BillingRepository
from kernel.db import Database
from tests.billing.memberships_support import define_plan, member, plan_body, subscribe
from tests.billing.support import PricedLab, checkout, deliver
from tests.support.accounts import make_organisation, make_user
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def test_a_manager_defines_plans_that_everyone_can_read(
    api: Client, lab: PricedLab, database: Database, admin_headers: dict[str, str]
) -> None:
    plan = await define_plan(
        api,
        lab.manager,
        lab.place_id,
        user_types=["citizen", "student"],
        discount_percent=10,
        members_access=True,
        extra_horizon_days=30,
        allowances=[
            {"resource_id": lab.lab.printer, "minutes": 120},
            {"resource_kind": "machine", "minutes": 60},
        ],
    )
    assert plan["price_incl_vat_cents"] == 2400
    assert plan["vat"] == {"kind": "taxable", "rate": "20.00", "mention": None}
    assert [a["minutes"] for a in plan["allowances"]] == [120, 60]
    # A platform-wide plan, by an administrator, is offered at every place.
    platform = await api.post(
        "/api/plans",
        json=plan_body(name="Pass réseau", period="year", vat={"kind": "exempt"}),
        headers=admin_headers,
    )
    assert platform.status_code == 201, platform.text
    assert platform.json()["place_id"] is None and platform.json()["vat"]["kind"] == "exempt"
    listed = await api.get(f"/api/places/{lab.place_id}/plans")
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()] == ["Adhésion mensuelle", "Pass réseau"]
    # Replaced: inactive plans are no longer offered.
    replaced = await api.put(
        f"/api/plans/{plan['id']}", json=plan_body(active=False), headers=lab.manager.headers
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["allowances"] == []
    listed = await api.get(f"/api/places/{lab.place_id}/plans")
    assert [p["name"] for p in listed.json()] == ["Pass réseau"]


async def test_bad_plans_are_refused_naming_the_field(
    api: Client, lab: PricedLab, database: Database, admin_headers: dict[str, str]
) -> None:
    other = await api.post(
        "/api/places",
        json={
            "slug": "autre-lieu",
            "name": "Autre lieu",
            "address": "1 rue",
            "postcode": "22300",
            "town": "Lannion",
            "operator_name": "Commune",
        },
        headers=admin_headers,
    )
    assert other.status_code == 201, other.text
    cases: list[tuple[dict[str, Any], str]] = [
        ({"user_types": ["astronaut"]}, "user_types[0]"),
        ({"allowances": [{"minutes": 60}]}, "allowances[0].resource_id"),
        ({"vat": {"kind": "exempt", "rate": "5.5"}}, "vat"),
    ]
    for overrides, field in cases:
        response = await api.post(
            f"/api/places/{lab.place_id}/plans",
            json=plan_body(**overrides),
            headers=lab.manager.headers,
        )
        assert response.status_code == 422, response.text
        assert field in response.text
    # Another place's resource, or another place's plans: refused.
    foreign = await api.post(
        f"/api/places/{other.json()['id']}/plans", json=plan_body(), headers=lab.manager.headers
    )
    assert foreign.status_code == 403
    citizen = await make_user(database, "ana@example.fr")
    assert (
        await api.post(
            f"/api/places/{lab.place_id}/plans", json=plan_body(), headers=citizen.headers
        )
    ).status_code == 403
    negative = await api.post(
        f"/api/places/{lab.place_id}/plans",
        json=plan_body(price_cents=-1),
        headers=lab.manager.headers,
    )
    assert negative.status_code == 422


async def test_on_site_membership_is_invoiced_once_paid_in_the_places_chain(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    citizen = await make_user(database, "ana@example.fr")
    made = await subscribe(api, citizen, plan["id"])
    assert made.status_code == 201, made.text
    membership = made.json()
    assert membership["state"] == "active"
    [period] = membership["periods"]
    # From today, 1 March 2027, to 31 March, local midnights in Paris (UTC+1).
    assert (period["first_day"], period["last_day"]) == ("2027-03-01", "2027-03-31")
    assert period["starts_at"].startswith("2027-02-28T23:00:00")
    assert period["ends_at"].startswith("2027-03-31T22:00:00")  # summer time by then
    assert period["charge"]["status"] == "awaiting_on_site"
    assert period["charge"]["amount_cents"] == 2400 and period["charge"]["documents"] == []
    # A booking paid on site is invoiced once paid too: not yet.
    booked = await checkout(api, citizen, lab.lab.printer, method="on_site")
    assert booked.status_code == 201, booked.text
    paid = await api.post(
        f"/api/memberships/{membership['id']}/receive",
        json={"means": "cheque"},
        headers=lab.manager.headers,
    )
    assert paid.status_code == 200, paid.text
    charge = paid.json()["periods"][0]["charge"]
    assert charge["status"] == "succeeded"
    [invoice] = charge["documents"]
    assert invoice["number"] == "FLT-2027-000001" and invoice["total_incl_vat_cents"] == 2400
    assert invoice["booking_id"] is None and invoice["plan_charge_id"] == charge["id"]
    again = await api.post(
        f"/api/memberships/{membership['id']}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert again.status_code == 409 and again.json()["code"] == "nothing_due"
    # The invoice, as its buyer reads it: the plan, its period, VAT.
    document = await api.get(f"/api/invoices/{invoice['id']}", headers=citizen.headers)
    assert document.status_code == 200, document.text
    content = document.json()["content"]
    assert content["membership"]["first_day"] == "2027-03-01"
    assert content["lines"][0]["label"] == (
        "Adhésion « Adhésion mensuelle » du 01/03/2027 au 31/03/2027"
    )
    assert content["total_vat_cents"] == 400
    # Printed and mailed like any invoice: the plan and its days instead of a booking.
    page = invoice_html(content, document.json()["hash"])
    assert "Adhésion « Adhésion mensuelle » : du 01/03/2027\nau 31/03/2027 inclus." in page
    assert invoice_pdf(content, document.json()["hash"]).startswith(b"%PDF")
    facturx = await api.get(f"/api/invoices/{invoice['id']}/facturx", headers=citizen.headers)
    assert facturx.status_code == 200 and facturx.content.startswith(b"%PDF")
    stranger = await make_user(database, "bob@example.fr")
    hidden = await api.get(f"/api/invoices/{invoice['id']}", headers=stranger.headers)
    assert hidden.status_code == 404
    async with database.reader() as session:
        assert await verify_documents(BillingRepository(session), lab.place_id) == []


async def test_an_organisation_subscribes_on_invoice_and_a_person_may_not(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, for_organisations=True)
    school = await make_organisation(database)
    teacher = await make_user(database, "prof@ecole.fr", organisation_roles=((school, "admin"),))
    booker = await make_user(database, "aide@ecole.fr", organisation_roles=((school, "booker"),))
    refused = await subscribe(api, teacher, plan["id"], "invoice")
    assert refused.status_code == 409 and refused.json()["code"] == "invoice_not_allowed"
    plain = await subscribe(api, booker, plan["id"], "invoice", organisation_id=school)
    assert plain.status_code == 403 and plain.json()["code"] == "not_organisation_admin"
    # A booking invoiced first: the membership's invoice takes the next number of one chain.
    booked = await checkout(
        api,
        teacher,
        lab.lab.printer,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-6",
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["payment"]["documents"][0]["number"] == "FLT-2027-000001"
    made = await subscribe(
        api, teacher, plan["id"], "invoice", organisation_id=school, purchase_order="BC-7"
    )
    assert made.status_code == 201, made.text
    charge = made.json()["periods"][0]["charge"]
    assert charge["status"] == "invoiced" and charge["due_on"] == "2027-03-31"
    [invoice] = charge["documents"]
    assert invoice["number"] == "FLT-2027-000002"
    document = await api.get(f"/api/invoices/{invoice['id']}", headers=booker.headers)
    assert document.status_code == 200, document.text
    content = document.json()["content"]
    assert content["buyer"]["kind"] == "organisation"
    assert content["payment"]["purchase_order"] == "BC-7"
    # The organisation's members see it; subscribing again is refused.
    mine = await api.get("/api/me/memberships", headers=booker.headers)
    assert [m["id"] for m in mine.json()] == [made.json()["id"]]
    twice = await subscribe(api, teacher, plan["id"], "invoice", organisation_id=school)
    assert twice.status_code == 409 and twice.json()["code"] == "already_subscribed"


async def test_who_may_subscribe(api: Client, lab: PricedLab, database: Database) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, user_types=["student"])
    citizen = await make_user(database, "ana@example.fr")
    refused = await subscribe(api, citizen, plan["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "plan_not_for_you"
    student = await make_user(database, "lea@example.fr", user_type="student")
    assert (await subscribe(api, student, plan["id"])).status_code == 201
    school = await make_organisation(database)
    teacher = await make_user(database, "prof@ecole.fr", organisation_roles=((school, "admin"),))
    for_org = await subscribe(api, teacher, plan["id"], "invoice", organisation_id=school)
    assert for_org.status_code == 409 and for_org.json()["code"] == "plan_not_for_you"
    missing = await subscribe(api, student, 999_999)
    assert missing.status_code == 404
    bad = await api.post(
        f"/api/plans/{plan['id']}/memberships",
        json={"payment_method": "cheque"},
        headers=student.headers,
    )
    assert bad.status_code == 422 and "payment_method" in bad.text


async def test_a_card_period_counts_once_stripe_says_it_is_paid(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, members_access=True)
    citizen = await make_user(database, "ana@example.fr")
    made = await subscribe(api, citizen, plan["id"], "card")
    assert made.status_code == 201, made.text
    membership = made.json()
    assert membership["state"] == "pending"
    assert membership["periods"][0]["status"] == "pending"
    # The PaymentIntent is made after commit (the job, or asking for it).
    started = await api.post(
        f"/api/memberships/{membership['id']}/refresh", headers=citizen.headers
    )
    assert started.status_code == 200, started.text
    charge = started.json()["periods"][0]["charge"]
    secret = charge["client_secret"]
    assert secret.startswith("pi_")
    intent_id = secret.split("_secret")[0]
    intent = stripe_peer.intent(intent_id)
    assert (intent["amount"], intent["metadata"]["plan_charge_id"]) == (2400, str(charge["id"]))
    # Asked again before paying: the same intent, still pending.
    again = await api.post(f"/api/memberships/{membership['id']}/refresh", headers=citizen.headers)
    assert again.json()["periods"][0]["charge"]["client_secret"] == secret
    assert again.json()["state"] == "pending"
    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    # Stripe's webhook confirms it (a browser's word never does).
    delivered = await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    assert delivered.status_code == 200 and delivered.json()["outcome"] == "paid", delivered.text
    paid = await api.get(f"/api/memberships/{membership['id']}", headers=citizen.headers)
    assert paid.json()["state"] == "active"
    charge = paid.json()["periods"][0]["charge"]
    assert charge["status"] == "succeeded" and charge["client_secret"] is None
    assert [d["total_incl_vat_cents"] for d in charge["documents"]] == [2400]
    # Delivered twice, fetched back again: invoiced once.
    replay = await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    assert replay.json()["outcome"] in ("duplicate", "already_paid")
    fetched = await api.post(
        f"/api/memberships/{membership['id']}/refresh", headers=citizen.headers
    )
    assert len(fetched.json()["periods"][0]["charge"]["documents"]) == 1


async def test_cancelling_ends_the_membership_at_the_end_of_its_period(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    citizen = await make_user(database, "ana@example.fr")
    held = await member(api, citizen, plan["id"], lab.manager)
    stranger = await make_user(database, "bob@example.fr")
    hidden = await api.post(f"/api/memberships/{held['id']}/cancel", headers=stranger.headers)
    assert hidden.status_code == 404
    cancelled = await api.post(f"/api/memberships/{held['id']}/cancel", headers=citizen.headers)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["state"] == "cancelled" and body["auto_renew"] is False
    # The paid period stays.
    assert body["periods"][0]["status"] == "active"
    twice = await api.post(f"/api/memberships/{held['id']}/cancel", headers=citizen.headers)
    assert twice.status_code == 409 and twice.json()["code"] == "already_cancelled"
    # Still running to the end of its period: not subscribed a second time meanwhile.
    again = await subscribe(api, citizen, plan["id"])
    assert again.status_code == 409 and again.json()["code"] == "already_subscribed"
    # The manager sees who holds what.
    holders = await api.get(f"/api/places/{lab.place_id}/memberships", headers=lab.manager.headers)
    assert holders.status_code == 200
    assert [(m["user_id"], m["state"]) for m in holders.json()] == [(citizen.user_id, "cancelled")]
    assert datetime.fromisoformat(body["cancelled_at"]).astimezone(UTC).date() == date(2027, 3, 1)


async def test_two_subscriptions_at_once_make_one_membership(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    citizen = await make_user(database, "ana@example.fr")
    first, second = await asyncio.gather(
        subscribe(api, citizen, plan["id"]), subscribe(api, citizen, plan["id"])
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "already_subscribed"
    mine = await api.get("/api/me/memberships", headers=citizen.headers)
    assert len(mine.json()) == 1


async def test_membership_invoices_are_listed_and_exported_with_the_others(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, for_organisations=True)
    school = await make_organisation(database)
    teacher = await make_user(database, "prof@ecole.fr", organisation_roles=((school, "admin"),))
    made = await subscribe(
        api, teacher, plan["id"], "invoice", organisation_id=school, purchase_order="BC-9"
    )
    assert made.status_code == 201, made.text
    [invoice] = made.json()["periods"][0]["charge"]["documents"]
    listed = await api.get(
        f"/api/places/{lab.place_id}/invoices",
        params={"q": "BC-9", "state": "unpaid"},
        headers=lab.manager.headers,
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    rows = body["items"] if isinstance(body, dict) else body
    assert [(r["number"], r["purchase_order"], r["state"]) for r in rows] == [
        (invoice["number"], "BC-9", "unpaid")
    ]
    exported = await api.get(
        f"/api/places/{lab.place_id}/exports/invoices",
        params={"from": "2027-03-01", "to": "2027-03-31", "format": "csv"},
        headers=lab.manager.headers,
    )
    assert exported.status_code == 200, exported.text
    [line] = [row for row in exported.text.splitlines() if invoice["number"] in row]
    assert line.endswith(",Adhésion mensuelle,24.00,Sur facture,Non payée,2027-03-31,BC-9,")
