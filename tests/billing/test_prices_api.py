"""Price lists per user type and VAT regime, quotes, and checkout at the quoted price (no card).

Amounts: the printer costs 10 EUR/h excl. VAT for
citizens, 20 EUR/h for companies (30 EUR minimum) and 15 EUR/h for anyone else, at 20 % VAT.
"""

from __future__ import annotations

from typing import Any

import httpx

from billing.pricing import BARE_PREMISES_MENTION
from kernel.db import Database
from tests.billing.support import END, START, PricedLab, checkout, quote
from tests.support.accounts import make_organisation, make_user
from tests.support.booking import booking_body

Client = httpx.AsyncClient


async def test_price_per_user_type_and_vat_regime(
    api: Client, lab: PricedLab, database: Database
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    company = await make_organisation(
        database, "Atelier Bois SARL", user_type="company", requires_purchase_order=False
    )
    employee = await make_user(
        database, "max@atelier.fr", organisation_roles=((company, "booker"),)
    )

    mine = await quote(api, citizen, lab.lab.printer)
    assert (mine["total_excl_vat_cents"], mine["total_vat_cents"]) == (2000, 400)
    assert mine["total_incl_vat_cents"] == 2400
    assert mine["user_type"] == "citizen" and mine["display"] == "incl_vat"
    assert mine["payment_methods"] == ["card", "on_site"]
    [line] = mine["lines"]
    assert line["unit_price_cents"] == 1000 and line["hours"] == "2"
    assert (line["vat_kind"], line["vat_rate"]) == ("taxable", "20.00")

    theirs = await quote(api, employee, lab.lab.printer, organisation_id=company)
    assert theirs["user_type"] == "company" and theirs["display"] == "both"
    assert theirs["total_incl_vat_cents"] == 4800
    assert theirs["payment_methods"] == ["card", "invoice"]
    # The company's minimum charge wins over one hour at 20 EUR.
    one_hour = await quote(
        api, employee, lab.lab.printer, START, START.replace(hour=11), organisation_id=company
    )
    assert one_hour["lines"][0]["minimum_applied"] is True
    assert one_hour["total_excl_vat_cents"] == 3000

    # Anyone may look at another type's price; unlisted types get the "*" rate.
    student = await quote(api, None, lab.lab.printer, user_type="student")
    assert student["total_incl_vat_cents"] == 3600

    # Exempt room, 10 % seats per unit with a fee, the laser priced by its kind: one quote.
    mixed = await quote(api, citizen, [(lab.lab.room, 1), (lab.lab.seats, 12), (lab.lab.laser, 1)])
    by_id = {line["resource_id"]: line for line in mixed["lines"]}
    room, seats, laser = by_id[lab.lab.room], by_id[lab.lab.seats], by_id[lab.lab.laser]
    assert (room["total_excl_vat_cents"], room["vat_cents"], room["vat_kind"]) == (
        5000,
        0,
        "exempt",
    )
    assert room["mention"] == BARE_PREMISES_MENTION
    assert mixed["mentions"] == [BARE_PREMISES_MENTION]
    assert (seats["total_excl_vat_cents"], seats["vat_cents"]) == (200 * 12 * 2 + 500, 530)
    assert laser["total_excl_vat_cents"] == 6000
    # The parts as a person sees them: VAT included where it is charged, per seat, fee apart.
    assert (room["unit_price_cents"], room["unit_price_incl_vat_cents"]) == (2500, 2500)
    assert (seats["unit_price_incl_vat_cents"], seats["per_unit"]) == (220, True)
    assert (seats["flat_fee_cents"], seats["flat_fee_incl_vat_cents"]) == (500, 550)
    assert {(b["kind"], b["rate"]): b["base_cents"] for b in mixed["breakdown"]} == {
        ("taxable", "20.00"): 6000,
        ("taxable", "10.00"): 5300,
        ("exempt", "0.00"): 5000,
    }
    assert mixed["total_incl_vat_cents"] == 5000 + 5300 + 530 + 6000 + 1200

    # The public list shows both prices of each rate.
    lists = (await api.get(f"/api/places/{lab.place_id}/price-lists")).json()
    printer = next(p for p in lists if p["resource_id"] == lab.lab.printer)
    rates = {r["user_type"]: r for r in printer["rates"]}
    assert (rates["citizen"]["hourly_cents"], rates["citizen"]["hourly_incl_vat_cents"]) == (
        1000,
        1200,
    )


async def test_negative_or_absurd_prices_are_refused(api: Client, lab: PricedLab) -> None:
    url = f"/api/places/{lab.place_id}/price-lists"
    before = (await api.get(url)).json()
    bad: list[dict[str, Any]] = [
        {"user_type": "*", "hourly_cents": -1},
        {"user_type": "*", "hourly_cents": 100_000_001},
        {"user_type": "*", "flat_fee_cents": 12.5},
        {"user_type": "*", "minimum_cents": "lots"},
        {"user_type": "not a type"},
    ]
    for rate in bad:
        response = await api.put(
            url, json={"resource_id": lab.lab.printer, "rates": [rate]}, headers=lab.manager.headers
        )
        assert response.status_code == 422, (rate, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for vat in ({"kind": "taxable", "rate": "150"}, {"kind": "exempt", "rate": "20"}):
        response = await api.put(
            url,
            json={"resource_id": lab.lab.printer, "vat": vat, "rates": [{"user_type": "*"}]},
            headers=lab.manager.headers,
        )
        assert response.status_code == 422, (vat, response.text)
    unknown = await api.put(
        url,
        json={"resource_id": lab.lab.printer, "rates": [{"user_type": "astronaut"}]},
        headers=lab.manager.headers,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_user_type"
    assert (await api.get(url)).json() == before


async def test_prices_typed_vat_included_are_stored_excluding_vat(
    api: Client, lab: PricedLab
) -> None:
    response = await api.put(
        f"/api/places/{lab.place_id}/price-lists",
        json={
            "resource_id": lab.lab.printer,
            "amounts_include_vat": True,
            "rates": [{"user_type": "*", "hourly_cents": 1200}],
        },
        headers=lab.manager.headers,
    )
    assert response.status_code == 200, response.text
    [rate] = response.json()["rates"]
    assert (rate["hourly_cents"], rate["hourly_incl_vat_cents"]) == (1000, 1200)


async def test_quote_equals_charge_and_invoice(
    api: Client, lab: PricedLab, database: Database
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    items = [(lab.lab.printer, 1), (lab.lab.room, 1)]
    shown = await quote(api, citizen, items)
    response = await checkout(
        api, citizen, items, method="on_site", fingerprint=shown["fingerprint"]
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["quote"] == shown
    payment = body["payment"]
    assert payment["amount_cents"] == shown["total_incl_vat_cents"] == 2400 + 5000
    assert payment["status"] == "awaiting_on_site" and body["booking"]["status"] == "confirmed"
    assert payment["documents"] == []

    # The manager records the cash: the invoice is issued then, with the quoted lines.
    recorded = await api.post(
        f"/api/payments/{payment['id']}/record", json={"means": "cash"}, headers=lab.manager.headers
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["status"] == "succeeded"
    [invoice] = recorded.json()["documents"]
    assert invoice["number"] == "FLT-2027-000001"
    content = (await api.get(f"/api/invoices/{invoice['id']}", headers=citizen.headers)).json()[
        "content"
    ]
    assert content["total_incl_vat_cents"] == shown["total_incl_vat_cents"]
    assert content["total_vat_cents"] == shown["total_vat_cents"]
    assert [line["total_excl_vat_cents"] for line in content["lines"]] == [
        line["total_excl_vat_cents"] for line in shown["lines"]
    ]
    assert content["vat_breakdown"] == shown["breakdown"]


async def test_a_price_change_after_the_quote_is_refused(
    api: Client, lab: PricedLab, database: Database
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    shown = await quote(api, citizen, lab.lab.printer)
    raised = await api.put(
        f"/api/places/{lab.place_id}/price-lists",
        json={"resource_id": lab.lab.printer, "rates": [{"user_type": "*", "hourly_cents": 1100}]},
        headers=lab.manager.headers,
    )
    assert raised.status_code == 200
    response = await checkout(
        api, citizen, lab.lab.printer, method="on_site", fingerprint=shown["fingerprint"]
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "price_changed"
    assert problem["quote"]["total_incl_vat_cents"] == 2640
    mine = (await api.get("/api/me/bookings", headers=citizen.headers)).json()
    assert mine["total"] == 0  # nothing was booked
    again = await checkout(
        api, citizen, lab.lab.printer, method="on_site", fingerprint=problem["quote"]["fingerprint"]
    )
    assert again.status_code == 201, again.text


async def test_payment_methods_per_user_type_and_purchase_orders(
    api: Client, lab: PricedLab, database: Database
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    refused = await checkout(api, citizen, lab.lab.printer, method="invoice")
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_method_not_allowed"
    assert refused.json()["allowed"] == ["card", "on_site"]

    school = await make_organisation(database, "Lycée Le Dantec", requires_purchase_order=True)
    teacher = await make_user(database, "prof@lycee.fr", organisation_roles=((school, "booker"),))
    missing = await checkout(
        api, teacher, lab.lab.printer, method="invoice", organisation_id=school
    )
    assert missing.status_code == 422 and missing.json()["code"] == "purchase_order_required"

    ordered = await checkout(
        api,
        teacher,
        lab.lab.printer,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-2027-118",
    )
    assert ordered.status_code == 201, ordered.text
    payment = ordered.json()["payment"]
    assert payment["status"] == "invoiced" and payment["due_on"] == "2027-03-31"
    assert ordered.json()["booking"]["status"] == "confirmed"
    [invoice] = payment["documents"]
    content = (await api.get(f"/api/invoices/{invoice['id']}", headers=teacher.headers)).json()[
        "content"
    ]
    assert content["buyer"]["name"] == "Lycée Le Dantec"
    assert content["payment"]["purchase_order"] == "BC-2027-118"
    assert content["payment"]["due_on"] == "2027-03-31"
    assert content["payment"]["recovery_indemnity"] is not None
    assert content["total_incl_vat_cents"] == 3600  # schools pay the "*" rate


async def test_free_resources_skip_payment(api: Client, lab: PricedLab, database: Database) -> None:
    await api.put(
        f"/api/places/{lab.place_id}/price-lists",
        json={"resource_id": lab.lab.printer, "rates": [{"user_type": "*", "free": True}]},
        headers=lab.manager.headers,
    )
    citizen = await make_user(database, "ana@example.fr")
    response = await checkout(api, citizen, lab.lab.printer, method="card")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["payment"]["method"] == "free" and body["payment"]["status"] == "free"
    assert body["booking"]["status"] == "confirmed" and body["payment"]["documents"] == []


async def test_a_resource_not_offered_to_a_user_type(
    api: Client, lab: PricedLab, database: Database
) -> None:
    await api.put(
        f"/api/places/{lab.place_id}/price-lists",
        json={
            "resource_id": lab.lab.printer,
            "rates": [{"user_type": "school", "hourly_cents": 1}],
        },
        headers=lab.manager.headers,
    )
    response = await api.post(
        "/api/quotes", json=booking_body(lab.lab.printer, START, END), headers={}
    )
    assert response.status_code == 409 and response.json()["code"] == "no_rate"
