"""A membership's benefits in the one quote = charge: included hours first, then the member
discount; checkout charges exactly that or refuses with ``price_changed``; included minutes are
never spent twice, even by two checkouts at once; a cancelled booking gives them back.

The printer costs citizens 10 EUR/h excl. VAT (20 %). Now is Monday 1 March 2027, 09:00 in
Paris; the monthly plan subscribed now runs to 1 April and includes 1 hour of the printer and
10 % off. Bookings are on 8 and 9 March, 10:00 to 12:00.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.memberships_support import define_plan, member, subscribe
from tests.billing.support import PricedLab, checkout, quote
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import iso, paris

Client = httpx.AsyncClient


async def _plan(api: Client, lab: PricedLab, **overrides: Any) -> dict[str, Any]:
    return await define_plan(
        api,
        lab.manager,
        lab.place_id,
        discount_percent=10,
        allowances=[{"resource_id": lab.lab.printer, "minutes": 60}],
        **overrides,
    )


async def _member(api: Client, lab: PricedLab, database: Database, email: str) -> Person:
    person = await make_user(database, email)
    await member(api, person, (await _plan(api, lab))["id"], lab.manager)
    return person


async def _quote(api: Client, person: Person, lab: PricedLab, day: int, **extra: Any) -> Any:
    return await quote(
        api, person, lab.lab.printer, paris(2027, 3, day, 10), paris(2027, 3, day, 12), **extra
    )


async def _checkout(
    api: Client, person: Person, lab: PricedLab, day: int, fingerprint: str, **extra: Any
) -> httpx.Response:
    return await checkout(
        api,
        person,
        lab.lab.printer,
        paris(2027, 3, day, 10),
        paris(2027, 3, day, 12),
        method=extra.pop("method", "on_site"),
        fingerprint=fingerprint,
        **extra,
    )


async def _bookings(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM booking"))).scalar_one())


async def test_a_member_s_quote_uses_the_included_hour_then_the_discount_and_checkout_charges_it(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await _member(api, lab, database, "ana@example.fr")
    seen = await _quote(api, ana, lab, 8)
    assert seen["coverage"] == [
        {
            "resource_id": lab.lab.printer,
            "source": "included",
            "source_id": None,
            "minutes": 60,
            "units": 1,
            "hours": "1",
            "label": "Heures incluses (adhésion)",
        }
    ]
    # One hour charged (10.00 excl. VAT), 10 % off (1.00), VAT on 9.00: 10.80.
    assert seen["lines"][0]["total_excl_vat_cents"] == 1000
    [discount] = seen["adjustments"]
    assert discount["kind"] == "member_discount" and discount["label"] == "Remise adhérent (10 %)"
    assert (discount["total_excl_vat_cents"], discount["vat_cents"]) == (-100, -20)
    assert seen["breakdown"][0]["base_cents"] == 900 and seen["total_incl_vat_cents"] == 1080
    booked = await _checkout(api, ana, lab, 8, seen["fingerprint"])
    assert booked.status_code == 201, booked.text
    assert booked.json()["payment"]["amount_cents"] == 1080
    # Paid at the desk: the invoice says which time was included, then the member discount.
    recorded = await api.post(
        f"/api/payments/{booked.json()['payment']['id']}/record",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert recorded.status_code == 200, recorded.text
    billing = await api.get(
        f"/api/bookings/{booked.json()['booking']['id']}/billing", headers=ana.headers
    )
    [invoice] = billing.json()["documents"]
    assert invoice["total_incl_vat_cents"] == 1080
    printed = await api.get(f"/api/invoices/{invoice['id']}/print", headers=ana.headers)
    assert "(dont 1 h incluse(s) dans l&#39;adhésion)" in printed.text
    assert "Remise adhérent (10 %)" in printed.text
    # The hour is spent: the next booking only has the discount.
    later = await _quote(api, ana, lab, 9)
    assert later["coverage"] == [] and later["total_incl_vat_cents"] == 2160
    # A non-member pays the full price; a quote at a requested rate ignores memberships.
    bob = await make_user(database, "bob@example.fr")
    assert (await _quote(api, bob, lab, 9))["total_incl_vat_cents"] == 2400
    requested = await _quote(api, ana, lab, 9, user_type="citizen")
    assert requested["adjustments"] == [] and requested["total_incl_vat_cents"] == 2400


async def test_an_included_hour_used_elsewhere_since_the_quote_is_a_price_change(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await _member(api, lab, database, "ana@example.fr")
    seen = await _quote(api, ana, lab, 8)
    assert seen["coverage"]
    other = await _checkout(api, ana, lab, 9, (await _quote(api, ana, lab, 9))["fingerprint"])
    assert other.status_code == 201, other.text
    late = await _checkout(api, ana, lab, 8, seen["fingerprint"])
    assert late.status_code == 409 and late.json()["code"] == "price_changed", late.text
    current = late.json()["quote"]
    assert current["coverage"] == [] and current["total_incl_vat_cents"] == 2160
    assert await _bookings(database) == 1


async def test_a_cancelled_booking_gives_its_included_hour_back_whole(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await _member(api, lab, database, "ana@example.fr")
    booked = await _checkout(api, ana, lab, 8, (await _quote(api, ana, lab, 8))["fingerprint"])
    assert booked.status_code == 201, booked.text
    assert (await _quote(api, ana, lab, 9))["coverage"] == []
    cancelled = await api.post(
        f"/api/bookings/{booked.json()['booking']['id']}/cancel", json={}, headers=ana.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [c["minutes"] for c in (await _quote(api, ana, lab, 9))["coverage"]] == [60]


async def test_a_late_cancellation_keeps_its_included_hour_by_the_refund_tier(
    api: Client, lab: PricedLab, database: Database
) -> None:
    # The place refunds 100 % up to 48 h before and 50 % up to 24 h: included hours come back
    # in the same proportion as money. Cancelled 25 h before, half the included hour is kept.
    ben = await _member(api, lab, database, "ben@example.fr")
    start, end = paris(2027, 3, 2, 10), paris(2027, 3, 2, 12)
    quoted = await quote(api, ben, lab.lab.printer, start, end)
    assert [c["minutes"] for c in quoted["coverage"]] == [60]
    booked = await checkout(
        api, ben, lab.lab.printer, start, end, method="on_site", fingerprint=quoted["fingerprint"]
    )
    assert booked.status_code == 201, booked.text
    cancelled = await api.post(
        f"/api/bookings/{booked.json()['booking']['id']}/cancel", json={}, headers=ben.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [c["minutes"] for c in (await _quote(api, ben, lab, 9))["coverage"]] == [30]


async def test_two_checkouts_racing_for_the_last_included_hour_one_wins(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await _member(api, lab, database, "ana@example.fr")
    quotes = {day: await _quote(api, ana, lab, day) for day in (8, 9)}
    assert all(q["coverage"] for q in quotes.values())
    responses = await asyncio.gather(
        *(_checkout(api, ana, lab, day, q["fingerprint"]) for day, q in quotes.items())
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    [lost] = [r for r in responses if r.status_code == 409]
    assert lost.json()["code"] == "price_changed" and lost.json()["quote"]["coverage"] == []
    assert await _bookings(database) == 1


async def test_an_organisation_s_plan_benefits_its_bookings_not_its_members_own(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await _plan(api, lab, for_organisations=True)
    school = await make_organisation(database)
    teacher = await make_user(database, "prof@ecole.fr", organisation_roles=((school, "admin"),))
    made = await subscribe(
        api, teacher, plan["id"], "invoice", organisation_id=school, purchase_order="BC-1"
    )
    assert made.status_code == 201, made.text
    # Schools pay 15 EUR/h excl. VAT: one hour included, 10 % off the other: 13.50 + VAT.
    for_school = await _quote(api, teacher, lab, 8, organisation_id=school)
    assert [c["minutes"] for c in for_school["coverage"]] == [60]
    assert for_school["total_excl_vat_cents"] == 1350
    booked = await _checkout(
        api,
        teacher,
        lab,
        8,
        for_school["fingerprint"],
        method="invoice",
        organisation_id=school,
        purchase_order="BC-2",
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["payment"]["amount_cents"] == 1620
    # The teacher's own booking has no benefit of the school's plan.
    own = await _quote(api, teacher, lab, 9)
    assert own["coverage"] == [] and own["adjustments"] == []


async def test_a_move_re_prices_with_the_included_hour_the_booking_already_holds(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await _member(api, lab, database, "ana@example.fr")
    booked = await _checkout(api, ana, lab, 8, (await _quote(api, ana, lab, 8))["fingerprint"])
    assert booked.status_code == 201, booked.text
    # The same length a day later: its own included hour is not counted as used by another.
    moved = await api.post(
        f"/api/bookings/{booked.json()['booking']['id']}/reschedule",
        json={"starts_at": iso(paris(2027, 3, 9, 10)), "ends_at": iso(paris(2027, 3, 9, 12))},
        headers=ana.headers,
    )
    assert moved.status_code == 200, moved.text
    billing = (
        await api.get(
            f"/api/bookings/{booked.json()['booking']['id']}/billing", headers=ana.headers
        )
    ).json()
    assert billing["payment"]["amount_cents"] == 1080
    # Longer by an hour: that hour is charged at the member's rate (10.80 more), a change.
    longer = await api.post(
        f"/api/bookings/{booked.json()['booking']['id']}/reschedule",
        json={"starts_at": iso(paris(2027, 3, 9, 10)), "ends_at": iso(paris(2027, 3, 9, 13))},
        headers=ana.headers,
    )
    assert longer.status_code == 409 and longer.json()["code"] == "price_changed", longer.text
    assert longer.json()["quote"]["total_incl_vat_cents"] == 2160


async def test_a_series_for_an_organisation_uses_its_included_hours_date_after_date(
    api: Client, lab: PricedLab, database: Database
) -> None:
    """The school's plan includes 3 hours of the room a month and 10 % off; its Tuesdays of
    2 hours (the room: 25 EUR/h, VAT exempt) use them in date order: 2 h, then 1 h, then none."""
    plan = await define_plan(
        api,
        lab.manager,
        lab.place_id,
        for_organisations=True,
        discount_percent=10,
        allowances=[{"resource_id": lab.lab.room, "minutes": 180}],
    )
    school = await make_organisation(database)
    head = await make_user(database, "direction@ecole.fr", organisation_roles=((school, "admin"),))
    teacher = await make_user(database, "prof@ecole.fr", organisation_roles=((school, "booker"),))
    made = await subscribe(
        api, head, plan["id"], "invoice", organisation_id=school, purchase_order="BC-1"
    )
    assert made.status_code == 201, made.text
    body = {
        "items": [{"resource_id": lab.lab.room, "quantity": 1}],
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270316",
        "first_date": "2027-03-02",
        "start_time": "14:00",
        "duration_minutes": 120,
        "organisation_id": school,
    }
    quoted = await api.post("/api/series/quote", json=body, headers=teacher.headers)
    assert quoted.status_code == 200, quoted.text
    dates = quoted.json()["occurrences"]
    assert [[c["minutes"] for c in d["coverage"]] for d in dates] == [[120], [60], []]
    assert [d["total_incl_vat_cents"] for d in dates] == [0, 2250, 4500]
    assert quoted.json()["total_incl_vat_cents"] == 6750
    booked = await api.post(
        "/api/series/checkout",
        json={
            **body,
            "method": "invoice",
            "purchase_order": "BC-2",
            "quote_fingerprint": quoted.json()["fingerprint"],
        },
        headers=teacher.headers,
    )
    assert booked.status_code == 201, booked.text
    amounts = [o["amount_cents"] for o in booked.json()["billing"]["occurrences"]]
    assert amounts == [0, 2250, 4500]
    # Spent: a booking of the room the same month has only the discount.
    later = await quote(
        api,
        teacher,
        lab.lab.room,
        paris(2027, 3, 25, 10),
        paris(2027, 3, 25, 11),
        organisation_id=school,
    )
    assert later["coverage"] == [] and later["total_incl_vat_cents"] == 2250
