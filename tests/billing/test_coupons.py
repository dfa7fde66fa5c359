"""Coupons: defined by a place, entered at quote time, a discount line that reduces the VAT base,
spent once per booking at checkout, never twice for the last use.

The printer costs citizens 10 EUR/h excl. VAT (20 %): two hours are 24.00 EUR. Now is Monday
1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import END, START, PricedLab, checkout, make_coupon, quote
from tests.support.accounts import Person, make_user
from tests.support.booking import booking_body, iso, paris

Client = httpx.AsyncClient


async def _quote(api: Client, person: Person, lab: PricedLab, code: str) -> httpx.Response:
    return await api.post(
        "/api/quotes",
        json=booking_body(lab.lab.printer, START, END, coupon_code=code),
        headers=person.headers,
    )


async def _checkout(
    api: Client, person: Person, lab: PricedLab, code: str, day: int = 8, **extra: Any
) -> httpx.Response:
    start, end = paris(2027, 3, day, 10), paris(2027, 3, day, 12)
    quoted = await api.post(
        "/api/quotes",
        json=booking_body(lab.lab.printer, start, end, coupon_code=code),
        headers=person.headers,
    )
    assert quoted.status_code == 200, quoted.text
    return await checkout(
        api,
        person,
        lab.lab.printer,
        start,
        end,
        method=extra.pop("method", "on_site"),
        fingerprint=quoted.json()["fingerprint"],
        coupon_code=code,
        **extra,
    )


async def _uses(database: Database, coupon_id: int) -> int:
    async with database.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT uses FROM coupon WHERE id = :id"), {"id": coupon_id}
        )
        uses: int = found.scalar_one()
        return uses


async def _bookings(database: Database) -> int:
    async with database.engine.connect() as conn:
        count: int = (await conn.execute(text("SELECT count(*) FROM booking"))).scalar_one()
        return count


async def test_a_coupon_is_a_discount_line_that_reduces_the_vat_base_and_is_invoiced(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    coupon = await make_coupon(api, lab, code="rentree25", percent="25", max_uses=10)
    assert coupon["code"] == "RENTREE25" and coupon["uses"] == 0

    priced = await _quote(api, ana, lab, "Rentree25")
    assert priced.status_code == 200, priced.text
    body = priced.json()
    assert body["coupon_code"] == "RENTREE25"
    assert [
        (a["kind"], a["total_excl_vat_cents"], a["vat_cents"]) for a in body["adjustments"]
    ] == [("coupon", -500, -100)]
    assert body["breakdown"] == [
        {"kind": "taxable", "rate": "20.00", "base_cents": 1500, "vat_cents": 300}
    ]
    assert body["total_incl_vat_cents"] == 1800
    # The quote without the code has another price, hence another fingerprint.
    plain = await quote(api, ana, lab.lab.printer)
    assert plain["total_incl_vat_cents"] == 2400 and plain["fingerprint"] != body["fingerprint"]

    booked = await _checkout(api, ana, lab, "RENTREE25")
    assert booked.status_code == 201, booked.text
    payment = booked.json()["payment"]
    assert payment["amount_cents"] == 1800
    assert await _uses(database, coupon["id"]) == 1

    recorded = await api.post(
        f"/api/payments/{payment['id']}/record", json={"means": "cash"}, headers=lab.manager.headers
    )
    assert recorded.status_code == 200, recorded.text
    [invoice] = recorded.json()["documents"]
    content = (await api.get(f"/api/invoices/{invoice['id']}", headers=ana.headers)).json()[
        "content"
    ]
    assert [(line["label"], line["total_incl_vat_cents"]) for line in content["lines"]] == [
        ("Imprimante 3D", 2400),
        ("Code promo RENTREE25 (25 %)", -600),
    ]
    assert content["total_incl_vat_cents"] == 1800
    assert content["vat_breakdown"] == body["breakdown"]
    page = await api.get(f"/api/invoices/{invoice['id']}/print", headers=ana.headers)
    assert "Code promo RENTREE25" in page.text

    uses = await api.get(
        f"/api/places/{lab.place_id}/coupons/{coupon['id']}/uses", headers=lab.manager.headers
    )
    assert [(u["email"], u["discount_cents"]) for u in uses.json()] == [("ana@example.fr", 600)]


async def test_codes_that_cannot_be_used_are_refused_at_quote_time(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    await make_coupon(api, lab, code="OLD", amount_cents=500, valid_until="2027-02-28")
    await make_coupon(api, lab, code="SOON", amount_cents=500, valid_from="2027-03-02")
    await make_coupon(api, lab, code="SCHOOLS", percent="10", user_types=["school"])
    await make_coupon(api, lab, code="ROOM", percent="10", resource_ids=[lab.lab.room])
    await make_coupon(api, lab, code="OFF", percent="10", active=False)

    unknown = await _quote(api, ana, lab, "NOPE")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "coupon_code"
    for code, refusal in (
        ("OLD", "coupon_expired"),
        ("SOON", "coupon_not_started"),
        ("SCHOOLS", "coupon_not_for_rate"),
        ("ROOM", "coupon_not_for_resources"),
    ):
        refused = await _quote(api, ana, lab, code)
        assert (refused.status_code, refused.json()["code"]) == (409, refusal), code
    withdrawn = await _quote(api, ana, lab, "OFF")
    assert withdrawn.status_code == 422


async def test_a_coupon_used_up_since_the_quote_is_a_price_change_and_books_nothing(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    coupon = await make_coupon(api, lab, code="ONCE", amount_cents=1000, max_uses=1)
    seen = await _quote(api, ana, lab, "ONCE")
    assert seen.json()["total_incl_vat_cents"] == 1400

    first = await _checkout(api, bob, lab, "ONCE", day=9)
    assert first.status_code == 201, first.text
    late = await checkout(
        api,
        ana,
        lab.lab.printer,
        method="on_site",
        fingerprint=seen.json()["fingerprint"],
        coupon_code="ONCE",
    )
    assert late.status_code == 409 and late.json()["code"] == "price_changed"
    # The current price, without the coupon.
    assert late.json()["quote"]["total_incl_vat_cents"] == 2400
    assert late.json()["quote"]["adjustments"] == []
    assert await _bookings(database) == 1
    assert await _uses(database, coupon["id"]) == 1


async def test_the_last_use_cannot_be_spent_twice_by_concurrent_checkouts(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    coupon = await make_coupon(api, lab, code="LAST", percent="50", max_uses=1)
    responses = await asyncio.gather(
        _checkout(api, ana, lab, "LAST", day=8), _checkout(api, bob, lab, "LAST", day=9)
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    [lost] = [r for r in responses if r.status_code == 409]
    assert lost.json()["code"] == "price_changed"
    assert await _uses(database, coupon["id"]) == 1
    assert await _bookings(database) == 1


async def test_a_checkout_waiting_for_the_last_use_finds_it_gone(
    api: Client, lab: PricedLab, database: Database
) -> None:
    """The use is decided under the coupon's row lock: a checkout that read the coupon as
    usable, then waited for another transaction spending the last use, finds none left."""
    ana = await make_user(database, "ana@example.fr")
    coupon = await make_coupon(api, lab, code="LASTONE", percent="50", max_uses=1)
    async with database.engine.connect() as other:
        transaction = await other.begin()
        await other.execute(
            text("UPDATE coupon SET uses = uses + 1 WHERE id = :id"), {"id": coupon["id"]}
        )
        pending = asyncio.create_task(_checkout(api, ana, lab, "LASTONE"))
        await _until_waiting_for_a_lock(database)
        await transaction.commit()
        late = await pending
    assert late.status_code == 409 and late.json()["code"] == "price_changed", late.text
    assert await _uses(database, coupon["id"]) == 1
    assert await _bookings(database) == 0


async def _until_waiting_for_a_lock(database: Database) -> None:
    for _ in range(200):
        async with database.engine.connect() as conn:
            waiting = await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE '%UPDATE coupon%'"
                )
            )
            if waiting.scalar_one():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the checkout never waited for the coupon's row")


async def test_a_person_limit_and_unpaid_bookings_give_their_use_back(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    coupon = await make_coupon(api, lab, code="ONEEACH", percent="10", max_uses_per_person=1)
    first = await _checkout(api, ana, lab, "ONEEACH", day=8)
    assert first.status_code == 201, first.text
    again = await _quote(api, ana, lab, "ONEEACH")
    assert (again.status_code, again.json()["code"]) == (409, "coupon_limit_reached")

    # Cancelled before anything was paid: the use comes back, and Ana may use the code again.
    cancelled = await api.post(
        f"/api/bookings/{first.json()['booking']['id']}/cancel", json={}, headers=ana.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await _uses(database, coupon["id"]) == 0
    second = await _checkout(api, ana, lab, "ONEEACH", day=9)
    assert second.status_code == 201, second.text
    assert await _uses(database, coupon["id"]) == 1


async def test_a_discounted_booking_is_refunded_from_what_was_paid_and_moves_keep_the_discount(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    await make_coupon(api, lab, code="HALF", percent="50")
    booked = await _checkout(api, ana, lab, "HALF", day=8)
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["booking"]["id"]
    payment = booked.json()["payment"]
    assert payment["amount_cents"] == 1200

    # The same length a day later: the same discounted price, no price change.
    moved = await api.post(
        f"/api/bookings/{booking_id}/reschedule",
        json={"starts_at": iso(paris(2027, 3, 9, 10)), "ends_at": iso(paris(2027, 3, 9, 12))},
        headers=ana.headers,
    )
    assert moved.status_code == 200, moved.text

    recorded = await api.post(
        f"/api/payments/{payment['id']}/record", json={"means": "cash"}, headers=lab.manager.headers
    )
    assert recorded.status_code == 200, recorded.text
    cancelled = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=ana.headers)
    assert cancelled.status_code == 200, cancelled.text
    billing = (await api.get(f"/api/bookings/{booking_id}/billing", headers=ana.headers)).json()
    # More than 48 h before: all of what was paid, and no more.
    assert billing["payment"]["refunded_cents"] == 1200
    credit = [d for d in billing["documents"] if d["kind"] == "credit_note"]
    assert [d["total_incl_vat_cents"] for d in credit] == [1200]


async def test_managers_define_coupons_within_rules(
    api: Client, lab: PricedLab, database: Database
) -> None:
    url = f"/api/places/{lab.place_id}/coupons"
    headers = lab.manager.headers
    both = await api.post(
        url, json={"code": "BOTH", "percent": "5", "amount_cents": 100}, headers=headers
    )
    neither = await api.post(url, json={"code": "NONE"}, headers=headers)
    assert both.status_code == neither.status_code == 422
    foreign = await api.post(
        url, json={"code": "FOREIGN", "percent": "5", "resource_ids": [10_000]}, headers=headers
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "resource_ids[0]"
    dates = await api.post(
        url,
        json={
            "code": "DATES",
            "percent": "5",
            "valid_from": "2027-03-10",
            "valid_until": "2027-03-01",
        },
        headers=headers,
    )
    assert dates.status_code == 422
    made = await make_coupon(api, lab, code="TWICE", percent="5", max_uses=2)
    taken = await api.post(url, json={"code": "twice", "percent": "5"}, headers=headers)
    assert (taken.status_code, taken.json()["code"]) == (409, "coupon_code_taken")

    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    for person, day in ((ana, 8), (bob, 9)):
        booked = await _checkout(api, person, lab, "TWICE", day=day)
        assert booked.status_code == 201, booked.text
    lowered = await api.put(
        f"{url}/{made['id']}",
        json={"code": "TWICE", "percent": "5", "max_uses": 1},
        headers=headers,
    )
    assert lowered.status_code == 422
    listed = await api.get(url, headers=headers)
    assert [(c["code"], c["uses"]) for c in listed.json()] == [("TWICE", 2)]
    stranger = await make_user(database, "eve@example.fr")
    hidden = await api.get(url, headers=stranger.headers)
    assert hidden.status_code in (403, 404)
