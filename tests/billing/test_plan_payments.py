"""A membership's first period after a coupon restricted to plans and paid (part or all) from
the wallet: quoted by the quote pipeline, charged exactly as quoted or ``409 price_changed``,
invoiced with the discount line and the wallet as prepaid, given back when it ends unpaid.

The plan is monthly, 20 EUR excl. VAT (24.00 EUR incl. 20 % VAT). Now is Monday 1 March 2027,
09:00 in Paris.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from kernel.settings import Settings
from tests.billing.facturx_rules import assert_valid
from tests.billing.memberships_support import define_plan, renew, subscribe
from tests.billing.support import (
    PricedLab,
    checkout,
    credit_wallet,
    deliver,
    make_coupon,
    until_waiting_for,
)
from tests.billing.test_facturx_api import embedded_xml, first
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import MutableClock, booking_body, paris
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def _quote(api: Client, person: Person, plan_id: int, **body: Any) -> httpx.Response:
    return await api.post(f"/api/plans/{plan_id}/quote", json=body, headers=person.headers)


async def _subscribe_as_quoted(
    api: Client, person: Person, plan_id: int, method: str = "on_site", **body: Any
) -> httpx.Response:
    asked = {k: v for k, v in body.items() if k in ("place_id", "coupon_code", "use_wallet")}
    quoted = await _quote(api, person, plan_id, **asked)
    assert quoted.status_code == 200, quoted.text
    return await subscribe(
        api, person, plan_id, method, quote_fingerprint=quoted.json()["fingerprint"], **body
    )


async def _scalar(database: Database, sql: str, **params: Any) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def _uses(database: Database, coupon_id: int) -> int:
    return await _scalar(database, "SELECT uses FROM coupon WHERE id = :id", id=coupon_id)


async def _balance(database: Database, person: Person) -> int:
    return await _scalar(
        database,
        "SELECT coalesce(sum(balance_cents), 0) FROM wallet WHERE user_id = :u",
        u=person.user_id,
    )


async def _memberships(database: Database) -> int:
    return await _scalar(database, "SELECT count(*) FROM plan_subscription")


async def _invoice(api: Client, person: Person, charge: dict[str, Any]) -> dict[str, Any]:
    [document] = charge["documents"]
    response = await api.get(f"/api/invoices/{document['id']}", headers=person.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_coupon_for_plans_discounts_the_first_period_and_is_invoiced(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, auto_renew=True)
    coupon = await make_coupon(api, lab, code="adhesion50", percent="50", plan_ids=[plan["id"]])
    assert coupon["plan_ids"] == [plan["id"]] and coupon["resource_ids"] == []
    ana = await make_user(database, "ana@example.fr")

    quoted = await _quote(api, ana, plan["id"], coupon_code="Adhesion50")
    assert quoted.status_code == 200, quoted.text
    body = quoted.json()
    assert body["coupon_code"] == "ADHESION50"
    assert (body["price_incl_vat_cents"], body["first_day"], body["last_day"]) == (
        2400,
        "2027-03-01",
        "2027-03-31",
    )
    assert [
        (a["kind"], a["label"], a["total_excl_vat_cents"], a["vat_cents"])
        for a in body["adjustments"]
    ] == [("coupon", "Code promo ADHESION50 (50 %)", -1000, -200)]
    # The coupon reduces the VAT base.
    assert body["breakdown"] == [
        {"kind": "taxable", "rate": "20.00", "base_cents": 1000, "vat_cents": 200}
    ]
    assert (body["total_incl_vat_cents"], body["wallet_cents"], body["due_cents"]) == (
        1200,
        0,
        1200,
    )
    plain = (await _quote(api, ana, plan["id"])).json()
    assert plain["total_incl_vat_cents"] == 2400 and plain["fingerprint"] != body["fingerprint"]

    made = await subscribe(
        api,
        ana,
        plan["id"],
        "on_site",
        coupon_code="ADHESION50",
        quote_fingerprint=body["fingerprint"],
        auto_renew=True,
    )
    assert made.status_code == 201, made.text
    charge = made.json()["periods"][0]["charge"]
    assert (charge["amount_cents"], charge["wallet_cents"], charge["status"]) == (
        1200,
        0,
        "awaiting_on_site",
    )
    assert await _uses(database, coupon["id"]) == 1
    uses = await api.get(
        f"/api/places/{lab.place_id}/coupons/{coupon['id']}/uses", headers=lab.manager.headers
    )
    [use] = uses.json()
    assert (use["plan_charge_id"], use["booking_id"], use["discount_cents"]) == (
        charge["id"],
        None,
        1200,
    )

    received = await api.post(
        f"/api/memberships/{made.json()['id']}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert received.status_code == 200, received.text
    content = (await _invoice(api, ana, received.json()["periods"][0]["charge"]))["content"]
    assert [(line["label"], line["total_incl_vat_cents"]) for line in content["lines"]] == [
        ("Adhésion « Adhésion mensuelle » du 01/03/2027 au 31/03/2027", 2400),
        ("Code promo ADHESION50 (50 %)", -1200),
    ]
    assert content["total_incl_vat_cents"] == 1200
    assert content["vat_breakdown"] == body["breakdown"]


async def test_a_coupon_is_for_the_plans_it_names_and_a_booking_code_is_not_for_plans(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    other = await define_plan(api, lab.manager, lab.place_id, name="Adhésion annuelle")
    await make_coupon(api, lab, code="ADHESION", amount_cents=500, plan_ids=[plan["id"]])
    await make_coupon(api, lab, code="BIENVENUE", percent="10")
    ana = await make_user(database, "ana@example.fr")

    wrong_plan = await _quote(api, ana, other["id"], coupon_code="ADHESION")
    assert wrong_plan.status_code == 409 and wrong_plan.json()["code"] == "coupon_not_for_plan"
    booking_code = await _quote(api, ana, plan["id"], coupon_code="BIENVENUE")
    assert booking_code.status_code == 409
    assert booking_code.json()["code"] == "coupon_not_for_plan"
    unknown = await _quote(api, ana, plan["id"], coupon_code="NOPE")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "coupon_code"
    # A code for plans is not for bookings.
    booked = await api.post(
        "/api/quotes",
        json=booking_body(
            lab.lab.printer, paris(2027, 3, 8, 10), paris(2027, 3, 8, 12), coupon_code="ADHESION"
        ),
        headers=ana.headers,
    )
    assert booked.status_code == 409 and booked.json()["code"] == "coupon_only_for_plans"
    # An amount off the plan: 5.00 EUR incl. VAT.
    amount = (await _quote(api, ana, plan["id"], coupon_code="adhesion")).json()
    assert amount["total_incl_vat_cents"] == 1900

    # With a coupon or the wallet, subscribing carries the quote's fingerprint.
    blind = await subscribe(api, ana, plan["id"], coupon_code="ADHESION")
    assert blind.status_code == 422
    assert blind.json()["errors"][0]["field"] == "quote_fingerprint"
    assert await _memberships(database) == 0


async def test_managers_name_only_plans_offered_at_their_place(
    api: Client, lab: PricedLab, database: Database, admin_headers: dict[str, str]
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    platform = await api.post(
        "/api/plans",
        json={"name": "Pass réseau", "period": "year", "price_cents": 1000},
        headers=admin_headers,
    )
    assert platform.status_code == 201, platform.text
    both = await make_coupon(
        api, lab, code="RESEAU", percent="20", plan_ids=[plan["id"], platform.json()["id"]]
    )
    assert both["plan_ids"] == sorted([plan["id"], platform.json()["id"]])
    for body, field in (
        ({"plan_ids": [plan["id"], 999_999]}, "plan_ids[1]"),
        ({"plan_ids": [plan["id"]], "resource_ids": [lab.lab.printer]}, "plan_ids"),
    ):
        refused = await api.post(
            f"/api/places/{lab.place_id}/coupons",
            json={"code": "MAUVAIS", "percent": "10", **body},
            headers=lab.manager.headers,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == field


async def test_the_wallet_pays_a_whole_period_which_is_active_and_invoiced_at_once(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    ana = await make_user(database, "ana@example.fr")
    await credit_wallet(api, lab, ana, 3000, "Atelier annulé")
    quoted = (await _quote(api, ana, plan["id"], use_wallet=True)).json()
    assert (quoted["total_incl_vat_cents"], quoted["wallet_cents"], quoted["due_cents"]) == (
        2400,
        2400,
        0,
    )
    # The wallet is a means of payment: no discount line, the same VAT.
    assert quoted["adjustments"] == [] and quoted["breakdown"][0]["base_cents"] == 2000
    made = await subscribe(
        api, ana, plan["id"], "card", use_wallet=True, quote_fingerprint=quoted["fingerprint"]
    )
    assert made.status_code == 201, made.text
    membership = made.json()
    assert membership["state"] == "active"
    charge = membership["periods"][0]["charge"]
    assert (charge["method"], charge["status"], charge["amount_cents"], charge["wallet_cents"]) == (
        "wallet",
        "succeeded",
        0,
        2400,
    )
    assert await _balance(database, ana) == 600
    [wallet] = (await api.get("/api/me/wallets", headers=ana.headers)).json()
    spent = wallet["movements"][0]
    assert (spent["kind"], spent["amount_cents"], spent["plan_charge_id"]) == (
        "spend",
        -2400,
        charge["id"],
    )
    invoice = await _invoice(api, ana, charge)
    content = invoice["content"]
    assert content["total_incl_vat_cents"] == 2400
    assert "Réglé par le porte-monnaie : 24,00 €." in content["payment"]["terms"]
    facturx = await api.get(f"/api/invoices/{invoice['id']}/facturx", headers=ana.headers)
    assert facturx.status_code == 200, facturx.text
    xml = embedded_xml(facturx.content)
    assert_valid(xml)
    assert first(xml, "//ram:TotalPrepaidAmount/text()") == "24.00"


async def test_an_organisation_s_membership_is_not_paid_from_a_person_s_wallet(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, for_organisations=True)
    company = await make_organisation(database, "Atelier Bois SARL", user_type="company")
    max_ = await make_user(database, "max@atelier.fr", organisation_roles=((company, "admin"),))
    await credit_wallet(api, lab, max_, 3000, "Atelier annulé")
    refused = await _quote(api, max_, plan["id"], organisation_id=company, use_wallet=True)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "use_wallet"
    also = await subscribe(
        api, max_, plan["id"], "invoice", organisation_id=company, use_wallet=True
    )
    assert also.status_code == 422 and also.json()["errors"][0]["field"] == "use_wallet"
    assert await _balance(database, max_) == 3000 and await _memberships(database) == 0


async def test_the_wallet_pays_part_and_the_card_the_rest_with_a_coupon(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    await make_coupon(api, lab, code="MOITIE", percent="50", plan_ids=[plan["id"]])
    ana = await make_user(database, "ana@example.fr")
    await credit_wallet(api, lab, ana, 500, "Atelier annulé")
    made = await _subscribe_as_quoted(
        api, ana, plan["id"], "card", coupon_code="MOITIE", use_wallet=True
    )
    assert made.status_code == 201, made.text
    membership = made.json()
    assert membership["state"] == "pending"
    charge = membership["periods"][0]["charge"]
    assert (charge["amount_cents"], charge["wallet_cents"]) == (700, 500)
    started = await api.post(f"/api/memberships/{membership['id']}/refresh", headers=ana.headers)
    assert started.status_code == 200, started.text
    intent_id = started.json()["periods"][0]["charge"]["client_secret"].split("_secret")[0]
    # The PaymentIntent is for the rest only.
    assert stripe_peer.intent(intent_id)["amount"] == 700
    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    delivered = await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    assert delivered.json()["outcome"] == "paid", delivered.text
    paid = (await api.get(f"/api/memberships/{membership['id']}", headers=ana.headers)).json()
    assert paid["state"] == "active"
    invoice = await _invoice(api, ana, paid["periods"][0]["charge"])
    content = invoice["content"]
    assert [line["total_incl_vat_cents"] for line in content["lines"]] == [2400, -1200]
    assert content["total_incl_vat_cents"] == 1200
    assert content["payment"]["wallet_cents"] == 500
    assert "Réglé par le porte-monnaie : 5,00 € ; par carte" in content["payment"]["terms"]
    facturx = await api.get(f"/api/invoices/{invoice['id']}/facturx", headers=ana.headers)
    assert_valid(embedded_xml(facturx.content))


async def test_a_coupon_used_up_or_a_wallet_moved_since_the_quote_is_a_price_change(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    coupon = await make_coupon(
        api, lab, code="UNIQUE", percent="50", max_uses=1, plan_ids=[plan["id"]]
    )
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    seen = (await _quote(api, bob, plan["id"], coupon_code="UNIQUE")).json()
    taken = await _subscribe_as_quoted(api, ana, plan["id"], coupon_code="UNIQUE")
    assert taken.status_code == 201, taken.text
    late = await subscribe(
        api, bob, plan["id"], coupon_code="UNIQUE", quote_fingerprint=seen["fingerprint"]
    )
    assert late.status_code == 409 and late.json()["code"] == "price_changed", late.text
    assert late.json()["quote"]["total_incl_vat_cents"] == 2400
    assert late.json()["quote"]["coupon_code"] is None
    assert await _uses(database, coupon["id"]) == 1 and await _memberships(database) == 1

    await credit_wallet(api, lab, bob, 1000, "Atelier annulé")
    seen = (await _quote(api, bob, plan["id"], use_wallet=True)).json()
    assert seen["wallet_cents"] == 1000
    await credit_wallet(api, lab, bob, 500, "Atelier annulé")
    moved = await subscribe(
        api, bob, plan["id"], use_wallet=True, quote_fingerprint=seen["fingerprint"]
    )
    assert moved.status_code == 409 and moved.json()["code"] == "price_changed"
    assert moved.json()["quote"]["wallet_cents"] == 1500
    assert await _balance(database, bob) == 1500 and await _memberships(database) == 1


async def test_two_subscriptions_racing_for_the_last_coupon_use_one_wins(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    coupon = await make_coupon(
        api, lab, code="DERNIER", percent="50", max_uses=1, plan_ids=[plan["id"]]
    )
    people = [await make_user(database, f"p{i}@example.fr") for i in range(2)]
    quotes = [(await _quote(api, p, plan["id"], coupon_code="DERNIER")).json() for p in people]
    responses = await asyncio.gather(
        *(
            subscribe(api, p, plan["id"], coupon_code="DERNIER", quote_fingerprint=q["fingerprint"])
            for p, q in zip(people, quotes, strict=True)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert await _uses(database, coupon["id"]) == 1
    assert await _memberships(database) == 1
    assert await _scalar(database, "SELECT count(*) FROM coupon_redemption") == 1


async def test_a_subscription_waiting_for_the_last_use_finds_it_gone(
    api: Client, lab: PricedLab, database: Database
) -> None:
    """The use is decided under the coupon's row lock: a subscription that quoted the last use,
    then waited for another transaction taking it, finds none left and subscribes nothing."""
    plan = await define_plan(api, lab.manager, lab.place_id)
    coupon = await make_coupon(
        api, lab, code="DERNIER", percent="50", max_uses=1, plan_ids=[plan["id"]]
    )
    ana = await make_user(database, "ana@example.fr")
    async with database.engine.connect() as other:
        transaction = await other.begin()
        await other.execute(
            text("UPDATE coupon SET uses = uses + 1 WHERE id = :id"), {"id": coupon["id"]}
        )
        pending = asyncio.create_task(
            _subscribe_as_quoted(api, ana, plan["id"], coupon_code="DERNIER")
        )
        await until_waiting_for(database, "UPDATE coupon")
        await transaction.commit()
        late = await pending
    assert late.status_code == 409 and late.json()["code"] == "price_changed", late.text
    assert late.json()["quote"]["total_incl_vat_cents"] == 2400
    assert await _uses(database, coupon["id"]) == 1 and await _memberships(database) == 0


async def test_a_subscription_and_a_booking_spending_the_last_euros_at_once_one_wins(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    ana = await make_user(database, "ana@example.fr")
    await credit_wallet(api, lab, ana, 1000, "Atelier annulé")
    start, end = paris(2027, 3, 8, 10), paris(2027, 3, 8, 12)
    for_booking = await api.post(
        "/api/quotes",
        json=booking_body(lab.lab.printer, start, end, use_wallet=True),
        headers=ana.headers,
    )
    for_plan = (await _quote(api, ana, plan["id"], use_wallet=True)).json()
    assert for_booking.json()["wallet_cents"] == for_plan["wallet_cents"] == 1000
    responses = await asyncio.gather(
        subscribe(api, ana, plan["id"], use_wallet=True, quote_fingerprint=for_plan["fingerprint"]),
        checkout(
            api,
            ana,
            lab.lab.printer,
            start,
            end,
            method="on_site",
            fingerprint=for_booking.json()["fingerprint"],
            use_wallet=True,
        ),
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert await _balance(database, ana) == 0
    spent = await _scalar(
        database, "SELECT -sum(amount_cents) FROM wallet_movement WHERE kind = 'spend'"
    )
    assert spent == 1000


async def test_a_card_period_never_paid_gives_back_its_coupon_use_and_wallet_share_once(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_settings: Settings,
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, auto_renew=True)
    coupon = await make_coupon(api, lab, code="MOITIE", percent="50", plan_ids=[plan["id"]])
    ana = await make_user(database, "ana@example.fr")
    await credit_wallet(api, lab, ana, 500, "Atelier annulé")
    made = await _subscribe_as_quoted(
        api, ana, plan["id"], "card", coupon_code="MOITIE", use_wallet=True, auto_renew=True
    )
    assert made.status_code == 201, made.text
    assert await _uses(database, coupon["id"]) == 1 and await _balance(database, ana) == 0
    clock.now = paris(2027, 3, 15, 9)  # unpaid two weeks into the period: it lapses
    await renew(stripe_settings, database, clock)
    await renew(stripe_settings, database, clock)  # twice: given back once
    read = (await api.get(f"/api/memberships/{made.json()['id']}", headers=ana.headers)).json()
    assert read["periods"][0]["status"] == "lapsed"
    assert read["periods"][0]["charge"]["status"] == "cancelled"
    assert await _uses(database, coupon["id"]) == 0
    assert await _balance(database, ana) == 500
    back = await _scalar(
        database,
        "SELECT count(*) FROM wallet_movement WHERE kind = 'give_back' AND plan_charge_id = :c",
        c=read["periods"][0]["charge"]["id"],
    )
    assert back == 1
    # Its use given back, the code is hers again.
    again = await _quote(api, ana, plan["id"], coupon_code="MOITIE")
    assert again.status_code == 200, again.text


async def test_renewals_are_at_the_full_price(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_settings: Settings,
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, auto_renew=True)
    await make_coupon(api, lab, code="MOITIE", percent="50", plan_ids=[plan["id"]])
    ana = await make_user(database, "ana@example.fr")
    made = await _subscribe_as_quoted(api, ana, plan["id"], coupon_code="MOITIE", auto_renew=True)
    assert made.status_code == 201, made.text
    received = await api.post(
        f"/api/memberships/{made.json()['id']}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert received.status_code == 200, received.text
    clock.now = paris(2027, 3, 26, 9)
    await renew(stripe_settings, database, clock)
    read = (await api.get(f"/api/memberships/{made.json()['id']}", headers=ana.headers)).json()
    assert [p["charge"]["amount_cents"] for p in read["periods"]] == [1200, 2400]
