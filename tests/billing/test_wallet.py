"""The wallet: credited by a manager with a reason, a means of payment at checkout (part or all of
a booking), given back by the refund tiers, never below zero even when spent twice at once.

The printer costs citizens 10 EUR/h excl. VAT (20 %): two hours are 24.00 EUR. Now is Monday
1 March 2027, 09:00 in Paris; bookings are a week later (100 % refunded up to 48 h before).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import (
    PricedLab,
    checkout,
    credit_wallet,
    paid_booking,
    until_waiting_for,
)
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import booking_body, paris
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def _quote(api: Client, person: Person, lab: PricedLab, day: int = 8) -> dict[str, Any]:
    response = await api.post(
        "/api/quotes",
        json=booking_body(
            lab.lab.printer, paris(2027, 3, day, 10), paris(2027, 3, day, 12), use_wallet=True
        ),
        headers=person.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _checkout(
    api: Client, person: Person, lab: PricedLab, day: int = 8, method: str = "on_site"
) -> httpx.Response:
    quoted = await _quote(api, person, lab, day)
    return await checkout(
        api,
        person,
        lab.lab.printer,
        paris(2027, 3, day, 10),
        paris(2027, 3, day, 12),
        method=method,
        fingerprint=quoted["fingerprint"],
        use_wallet=True,
    )


async def _balance(database: Database, person: Person) -> int:
    async with database.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT coalesce(sum(balance_cents), 0) FROM wallet WHERE user_id = :u"),
            {"u": person.user_id},
        )
        return int(found.scalar_one())


async def _bookings(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM booking"))).scalar_one())


async def test_a_manager_credits_a_wallet_with_a_reason_and_both_see_it(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    credited = await credit_wallet(api, lab, ana, 1000, "Geste commercial")
    assert credited["balance_cents"] == 1000
    [movement] = credited["movements"]
    assert (movement["kind"], movement["amount_cents"], movement["reason"]) == (
        "manager_credit",
        1000,
        "Geste commercial",
    )
    again = await credit_wallet(api, lab, ana, 250, "Geste commercial")
    assert again["id"] == credited["id"] and again["balance_cents"] == 1250

    mine = (await api.get("/api/me/wallets", headers=ana.headers)).json()
    assert [(w["place_id"], w["balance_cents"], len(w["movements"])) for w in mine] == [
        (lab.place_id, 1250, 2)
    ]
    holders = await api.get(f"/api/places/{lab.place_id}/wallets", headers=lab.manager.headers)
    assert [(h["email"], h["balance_cents"]) for h in holders.json()] == [("ana@example.fr", 1250)]

    unknown = await api.post(
        f"/api/places/{lab.place_id}/wallets/credits",
        json={"email": "nobody@example.fr", "amount_cents": 100, "reason": "x"},
        headers=lab.manager.headers,
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "email"
    nothing = await api.post(
        f"/api/places/{lab.place_id}/wallets/credits",
        json={"email": ana.email, "amount_cents": 0, "reason": "x"},
        headers=lab.manager.headers,
    )
    assert nothing.status_code == 422
    refused = await api.post(
        f"/api/places/{lab.place_id}/wallets/credits",
        json={"email": ana.email, "amount_cents": 100, "reason": "x"},
        headers=ana.headers,
    )
    assert refused.status_code in (403, 404)
    assert await _balance(database, ana) == 1250


async def test_the_wallet_pays_part_of_a_booking_and_the_rest_is_due_on_site(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    await credit_wallet(api, lab, ana, 1000, "Geste commercial")
    quoted = await _quote(api, ana, lab)
    assert (quoted["total_incl_vat_cents"], quoted["wallet_cents"], quoted["due_cents"]) == (
        2400,
        1000,
        1400,
    )
    # The wallet is not a discount: the lines and the VAT are the booking's.
    assert quoted["adjustments"] == [] and quoted["total_vat_cents"] == 400

    booked = await _checkout(api, ana, lab)
    assert booked.status_code == 201, booked.text
    payment = booked.json()["payment"]
    assert (payment["method"], payment["amount_cents"], payment["wallet_cents"]) == (
        "on_site",
        1400,
        1000,
    )
    assert await _balance(database, ana) == 0
    mine = (await api.get("/api/me/wallets", headers=ana.headers)).json()
    spent = mine[0]["movements"][0]
    assert (spent["kind"], spent["amount_cents"], spent["booking_id"]) == (
        "spend",
        -1000,
        booked.json()["booking"]["id"],
    )

    # Cancelled before paying on site: the wallet's share comes back whole.
    cancelled = await api.post(
        f"/api/bookings/{booked.json()['booking']['id']}/cancel", json={}, headers=ana.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await _balance(database, ana) == 1000


async def test_a_wallet_that_pays_it_all_is_the_means_of_payment_on_the_invoice(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    await _late_cancellations_allowed(api, lab)
    await credit_wallet(api, lab, ana, 3000, "Geste commercial")
    # Tuesday 10:00, 25 hours ahead: cancelling now gives back 50 %.
    quoted = await _quote(api, ana, lab, day=2)
    assert quoted["due_cents"] == 0 and quoted["payment_methods"] == ["wallet"]
    booked = await _checkout(api, ana, lab, day=2)
    assert booked.status_code == 201, booked.text
    payment = booked.json()["payment"]
    assert (payment["method"], payment["status"], payment["amount_cents"]) == (
        "wallet",
        "succeeded",
        0,
    )
    assert booked.json()["booking"]["status"] == "confirmed"
    [invoice] = payment["documents"]
    content = (await api.get(f"/api/invoices/{invoice['id']}", headers=ana.headers)).json()[
        "content"
    ]
    assert content["total_incl_vat_cents"] == 2400
    assert "Réglé par le porte-monnaie : 24,00 €." in content["payment"]["terms"]
    assert await _balance(database, ana) == 600

    booking_id = booked.json()["booking"]["id"]
    preview = (await api.get(f"/api/bookings/{booking_id}/billing", headers=ana.headers)).json()
    assert preview["if_cancelled_now"]["wallet_cents"] == 1200
    cancelled = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=ana.headers)
    assert cancelled.status_code == 200, cancelled.text
    billing = (await api.get(f"/api/bookings/{booking_id}/billing", headers=ana.headers)).json()
    assert billing["payment"]["wallet_refunded_cents"] == 1200
    assert billing["payment"]["status"] == "partially_refunded"
    assert billing["payment"]["refunds"] == []  # no money moves: the wallet is credited
    assert await _balance(database, ana) == 1800
    credit = [d for d in billing["documents"] if d["kind"] == "credit_note"]
    assert [d["total_incl_vat_cents"] for d in credit] == [1200]


async def _late_cancellations_allowed(api: Client, lab: PricedLab) -> None:
    response = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"cancel_deadline_hours": 0}]},
        headers=lab.manager.headers,
    )
    assert response.status_code == 200, response.text


async def test_a_wallet_spent_since_the_quote_is_a_price_change_and_books_nothing(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    await credit_wallet(api, lab, ana, 1000, "Geste commercial")
    seen = await _quote(api, ana, lab, day=8)
    first = await _checkout(api, ana, lab, day=9)
    assert first.status_code == 201, first.text
    late = await checkout(
        api,
        ana,
        lab.lab.printer,
        paris(2027, 3, 8, 10),
        paris(2027, 3, 8, 12),
        method="on_site",
        fingerprint=seen["fingerprint"],
        use_wallet=True,
    )
    assert late.status_code == 409 and late.json()["code"] == "price_changed"
    assert late.json()["quote"]["wallet_cents"] == 0
    assert await _bookings(database) == 1


async def test_two_bookings_spending_the_last_euros_at_once_one_wins(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    await credit_wallet(api, lab, ana, 1000, "Geste commercial")
    quotes = [await _quote(api, ana, lab, day) for day in (8, 9)]
    responses = await asyncio.gather(
        *(
            checkout(
                api,
                ana,
                lab.lab.printer,
                paris(2027, 3, day, 10),
                paris(2027, 3, day, 12),
                method="on_site",
                fingerprint=quoted["fingerprint"],
                use_wallet=True,
            )
            for day, quoted in zip((8, 9), quotes, strict=True)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert await _balance(database, ana) == 0
    assert await _bookings(database) == 1


async def test_a_checkout_waiting_for_the_wallet_finds_its_euros_gone(
    api: Client, lab: PricedLab, database: Database
) -> None:
    """Spending is decided under the wallet's row lock: a checkout that quoted the balance,
    then waited for another transaction spending it, finds too little and books nothing."""
    ana = await make_user(database, "ana@example.fr")
    wallet = await credit_wallet(api, lab, ana, 1000, "Geste commercial")
    async with database.engine.connect() as other:
        transaction = await other.begin()
        await other.execute(
            text("UPDATE wallet SET balance_cents = balance_cents - 600 WHERE id = :id"),
            {"id": wallet["id"]},
        )
        pending = asyncio.create_task(_checkout(api, ana, lab))
        await until_waiting_for(database, "UPDATE wallet")
        await transaction.commit()
        late = await pending
    assert late.status_code == 409 and late.json()["code"] == "price_changed", late.text
    assert late.json()["quote"]["wallet_cents"] == 400
    assert await _balance(database, ana) == 400
    assert await _bookings(database) == 0


async def test_an_organisation_s_booking_is_not_paid_from_a_person_s_wallet(
    api: Client, lab: PricedLab, database: Database
) -> None:
    company = await make_organisation(database, "Atelier Bois SARL", user_type="company")
    max_ = await make_user(database, "max@atelier.fr", organisation_roles=((company, "admin"),))
    refused = await api.post(
        "/api/quotes",
        json=booking_body(
            lab.lab.printer,
            paris(2027, 3, 8, 10),
            paris(2027, 3, 8, 12),
            organisation_id=company,
            use_wallet=True,
        ),
        headers=max_.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "use_wallet"


async def test_the_booker_may_take_a_cancellation_s_refund_in_the_wallet(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    ana = await make_user(database, "ana@example.fr")
    paid = await paid_booking(api, stripe_peer, ana, lab.lab.printer)  # 8 March: 100 %
    booking_id = paid["booking"]["id"]
    cancelled = await api.post(
        f"/api/bookings/{booking_id}/cancel", json={"refund_to": "wallet"}, headers=ana.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    billing = (await api.get(f"/api/bookings/{booking_id}/billing", headers=ana.headers)).json()
    # Credited at once to the wallet: nothing is sent back to the card (no money moves; the
    # credit note leaves her a credit, which her wallet holds).
    assert billing["payment"]["refunds"] == []
    assert billing["payment"]["refunded_cents"] == 2400
    assert billing["payment"]["status"] == "refunded"
    assert [
        d["total_incl_vat_cents"] for d in billing["documents"] if d["kind"] == "credit_note"
    ] == [2400]
    assert await _balance(database, ana) == 2400
    mine = (await api.get("/api/me/wallets", headers=ana.headers)).json()
    assert [(m["kind"], m["amount_cents"]) for m in mine[0]["movements"]] == [
        ("refund_credit", 2400)
    ]

    # A cancellation by the place refunds the card, whatever is asked.
    other = await paid_booking(
        api, stripe_peer, ana, lab.lab.printer, paris(2027, 3, 9, 10), paris(2027, 3, 9, 12)
    )
    by_place = await api.post(
        f"/api/bookings/{other['booking']['id']}/cancel",
        json={"refund_to": "wallet"},
        headers=lab.manager.headers,
    )
    assert by_place.status_code == 200, by_place.text
    assert await _balance(database, ana) == 2400
