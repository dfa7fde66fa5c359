"""Packs of prepaid hours: defined by a place's managers, bought on site, on invoice or by card
(against localstripe), invoiced in the place's chain, used by the one quote before money, taken
under lock at checkout, given back by the refund tiers, expired by the hourly job.

The laser cutter (a machine) costs 30 EUR/h excl. VAT (20 %): an hour is 36.00 EUR. Now is
Monday 1 March 2027, 09:00 in Paris; bookings are a week later (100 % refunded up to 48 h
before, 50 % up to 24 h).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import text

from billing.plan_cards import expire_packs
from kernel.db import Database
from kernel.settings import Settings
from mutualab.composition import build_runtime
from tests.billing.support import PricedLab, checkout, deliver, until_waiting_for
from tests.support.accounts import Person, make_organisation, make_user, stored_hash
from tests.support.booking import MutableClock, booking_body, iso, paris
from tests.support.stripe import LocalStripe
from tests.web.helpers import another_browser, log_in
from tests.web.helpers import text as page_text
from tests.web.seed import PASSWORD

Client = httpx.AsyncClient


def pack_body(lab: PricedLab, **overrides: Any) -> dict[str, Any]:
    """10 hours of the laser cutter, 150 EUR incl. VAT, a year."""
    return {
        "name": "10 h de découpe laser",
        "minutes": 600,
        "resource_id": lab.lab.laser,
        "price_cents": 15000,
        "validity_days": 365,
        **overrides,
    }


def packs_of(quote: dict[str, Any]) -> list[dict[str, Any]]:
    """The quote's time paid by packs of prepaid hours."""
    return [c for c in quote["coverage"] if c["source"] == "pack"]


async def define_pack(api: Client, lab: PricedLab, **overrides: Any) -> dict[str, Any]:
    made = await api.post(
        f"/api/places/{lab.place_id}/packs",
        json=pack_body(lab, **overrides),
        headers=lab.manager.headers,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def buy(
    api: Client, person: Person, pack_id: int, method: str = "on_site", **extra: Any
) -> httpx.Response:
    return await api.post(
        f"/api/packs/{pack_id}/purchases",
        json={"payment_method": method, **extra},
        headers=person.headers,
    )


async def holding_of(api: Client, lab: PricedLab, person: Person, minutes: int = 600) -> int:
    """``person`` holds a laser pack of ``minutes``, bought on site."""
    pack = await define_pack(api, lab, minutes=minutes)
    bought = await buy(api, person, pack["id"])
    assert bought.status_code == 201, bought.text
    holding_id: int = bought.json()["id"]
    return holding_id


async def laser_quote(
    api: Client, person: Person, lab: PricedLab, start: datetime, hours: int = 1, **extra: Any
) -> dict[str, Any]:
    response = await api.post(
        "/api/quotes",
        json=booking_body(lab.lab.laser, start, start.replace(hour=start.hour + hours), **extra),
        headers=person.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def book_laser(
    api: Client,
    person: Person,
    lab: PricedLab,
    start: datetime,
    hours: int = 1,
    fingerprint: str | None = None,
    method: str = "on_site",
) -> httpx.Response:
    end = start.replace(hour=start.hour + hours)
    return await checkout(
        api, person, lab.lab.laser, start, end, method=method, fingerprint=fingerprint
    )


async def balance(database: Database, holding_id: int) -> int:
    async with database.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT balance_minutes FROM pack_holding WHERE id = :id"), {"id": holding_id}
        )
        return int(found.scalar_one())


async def movements(database: Database, holding_id: int) -> list[tuple[str, int, int]]:
    async with database.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT kind, minutes, balance_after_minutes FROM pack_movement "
                "WHERE holding_id = :id ORDER BY id"
            ),
            {"id": holding_id},
        )
        return [(k, m, b) for k, m, b in found.all()]


async def bookings(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM booking"))).scalar_one())


# products -------------------------------------------------------------------------------
async def test_a_manager_defines_packs_that_everyone_reads(
    api: Client, lab: PricedLab, database: Database
) -> None:
    pack = await define_pack(api, lab)
    # Given VAT included, stored without it, as a price list's amounts.
    assert (pack["price_cents"], pack["price_incl_vat_cents"]) == (12500, 15000)
    assert pack["vat"] == {"kind": "taxable", "rate": "20.00", "mention": None}
    kind = await define_pack(
        api,
        lab,
        name="Heures machines",
        resource_id=None,
        resource_kind="machine",
        validity_days=None,
        valid_until="2027-12-31",
        price_cents=5000,
        amounts_include_vat=False,
        user_types=["student"],
    )
    assert (kind["price_cents"], kind["price_incl_vat_cents"]) == (5000, 6000)
    listed = await api.get(f"/api/places/{lab.place_id}/packs")
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()] == ["10 h de découpe laser", "Heures machines"]
    # Withdrawn: no longer offered, still listed for its managers.
    withdrawn = await api.put(
        f"/api/places/{lab.place_id}/packs/{kind['id']}",
        json=pack_body(lab, active=False),
        headers=lab.manager.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    public = await api.get(f"/api/places/{lab.place_id}/packs")
    assert [p["id"] for p in public.json()] == [pack["id"]]
    managed = await api.get(f"/api/places/{lab.place_id}/packs", headers=lab.manager.headers)
    assert [p["active"] for p in managed.json()] == [True, False]


async def test_bad_packs_are_refused_naming_the_field(
    api: Client, lab: PricedLab, database: Database
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"resource_kind": "machine"}, "resource_id"),
        ({"resource_id": None}, "resource_id"),
        ({"valid_until": "2027-12-31"}, "validity_days"),
        ({"validity_days": None}, "validity_days"),
        ({"user_types": ["astronaut"]}, "user_types[0]"),
        ({"vat": {"kind": "exempt", "rate": "5.5"}}, "vat"),
        ({"resource_id": 999999}, "resource_id"),
        ({"minutes": 0}, "minutes"),
        ({"price_cents": -1}, "price_cents"),
    ]
    for overrides, field in cases:
        response = await api.post(
            f"/api/places/{lab.place_id}/packs",
            json=pack_body(lab, **overrides),
            headers=lab.manager.headers,
        )
        assert response.status_code == 422, (overrides, response.text)
        assert field in response.text, (overrides, response.text)
    citizen = await make_user(database, "ana@example.fr")
    refused = await api.post(
        f"/api/places/{lab.place_id}/packs", json=pack_body(lab), headers=citizen.headers
    )
    assert refused.status_code == 403
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM pack"))).scalar_one() == 0


# buying ---------------------------------------------------------------------------------
async def test_a_pack_bought_on_site_is_credited_at_once_and_invoiced_once_paid(
    api: Client, lab: PricedLab, database: Database
) -> None:
    pack = await define_pack(api, lab)
    ana = await make_user(database, "ana@example.fr")
    bought = await buy(api, ana, pack["id"])
    assert bought.status_code == 201, bought.text
    held = bought.json()
    assert (held["state"], held["balance_minutes"], held["last_day"]) == (
        "active",
        600,
        "2028-02-28",
    )
    assert held["charge"]["status"] == "awaiting_on_site"
    assert held["charge"]["amount_cents"] == 15000 and held["charge"]["documents"] == []
    assert [(m["kind"], m["minutes"], m["balance_after_minutes"]) for m in held["movements"]] == [
        ("bought", 600, 600)
    ]
    # The manager records the money: the invoice, in the place's chain.
    stranger = await make_user(database, "bob@example.fr")
    hidden = await api.post(
        f"/api/pack-holdings/{held['id']}/receive", json={"means": "cash"}, headers=stranger.headers
    )
    assert hidden.status_code in (403, 404)
    received = await api.post(
        f"/api/pack-holdings/{held['id']}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert received.status_code == 200, received.text
    charge = received.json()["charge"]
    assert charge["status"] == "succeeded"
    [invoice] = charge["documents"]
    assert invoice["total_incl_vat_cents"] == 15000 and invoice["number"].startswith("FLT")
    content = (await api.get(f"/api/invoices/{invoice['id']}", headers=ana.headers)).json()[
        "content"
    ]
    assert content["pack"]["name"] == "10 h de découpe laser" and content["pack"]["hours"] == "10"
    assert content["lines"][0]["label"] == "Heures prépayées « 10 h de découpe laser » (10 h)"
    assert content["total_vat_cents"] == 2500
    again = await api.post(
        f"/api/pack-holdings/{held['id']}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert again.status_code == 409 and again.json()["code"] == "nothing_due"

    mine = (await api.get("/api/me/packs", headers=ana.headers)).json()
    assert [(h["id"], h["balance_minutes"]) for h in mine] == [(held["id"], 600)]
    assert (await api.get("/api/me/packs", headers=stranger.headers)).json() == []
    holders = await api.get(
        f"/api/places/{lab.place_id}/packs/holders", headers=lab.manager.headers
    )
    assert [(h["email"], h["balance_minutes"]) for h in holders.json()] == [("ana@example.fr", 600)]
    assert (
        await api.get(f"/api/pack-holdings/{held['id']}", headers=stranger.headers)
    ).status_code == 404


async def test_who_may_buy_and_how(api: Client, lab: PricedLab, database: Database) -> None:
    students = await define_pack(api, lab, user_types=["student"])
    ana = await make_user(database, "ana@example.fr")
    refused = await buy(api, ana, students["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "pack_not_for_you"
    pack = await define_pack(api, lab)
    invoice = await buy(api, ana, pack["id"], "invoice")
    assert invoice.status_code == 409 and invoice.json()["code"] == "invoice_not_allowed"
    bad = await buy(api, ana, pack["id"], "cheque")
    assert bad.status_code == 422 and "payment_method" in bad.text
    gone = await buy(api, ana, 999999)
    assert gone.status_code == 404 and gone.json()["code"] == "pack_not_found"
    old = await define_pack(api, lab, validity_days=None, valid_until="2027-02-28")
    over = await buy(api, ana, old["id"])
    assert over.status_code == 409 and over.json()["code"] == "pack_expired"
    # An organisation buys on invoice, through an administrator: invoiced at once.
    company = await make_organisation(database, "Atelier Bois SARL", user_type="company")
    max_ = await make_user(database, "max@atelier.fr", organisation_roles=((company, "admin"),))
    bought = await buy(
        api, max_, pack["id"], "invoice", organisation_id=company, purchase_order="BC-12"
    )
    assert bought.status_code == 201, bought.text
    held = bought.json()
    assert held["organisation_id"] == company and held["holder_name"] == "Atelier Bois SARL"
    assert held["balance_minutes"] == 600 and held["charge"]["status"] == "invoiced"
    assert held["charge"]["due_on"] is not None
    assert [d["total_incl_vat_cents"] for d in held["charge"]["documents"]] == [15000]
    member = await make_user(database, "lea@atelier.fr", organisation_roles=((company, "booker"),))
    not_admin = await buy(api, member, pack["id"], "invoice", organisation_id=company)
    assert not_admin.status_code == 403
    # The organisation's pack pays its bookings, not its members' own.
    own = await laser_quote(api, max_, lab, paris(2027, 3, 8, 10))
    assert packs_of(own) == []
    for_it = await laser_quote(api, max_, lab, paris(2027, 3, 8, 10), organisation_id=company)
    assert [c["minutes"] for c in packs_of(for_it)] == [60]


async def test_a_pack_bought_by_card_is_credited_once_stripe_says_it_is_paid(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    pack = await define_pack(api, lab)
    ana = await make_user(database, "ana@example.fr")
    bought = await buy(api, ana, pack["id"], "card")
    assert bought.status_code == 201, bought.text
    held = bought.json()
    assert (held["state"], held["balance_minutes"], held["movements"]) == ("pending", 0, [])
    # Nothing to use before it is paid.
    assert packs_of(await laser_quote(api, ana, lab, paris(2027, 3, 8, 10))) == []
    started = await api.post(f"/api/pack-holdings/{held['id']}/refresh", headers=ana.headers)
    assert started.status_code == 200, started.text
    secret = started.json()["charge"]["client_secret"]
    intent_id = secret.split("_secret")[0]
    assert stripe_peer.intent(intent_id)["amount"] == 15000
    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    delivered = await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    assert delivered.status_code == 200 and delivered.json()["outcome"] == "paid", delivered.text
    paid = (await api.get(f"/api/pack-holdings/{held['id']}", headers=ana.headers)).json()
    assert (paid["state"], paid["balance_minutes"]) == ("active", 600)
    assert paid["charge"]["client_secret"] is None
    assert [d["total_incl_vat_cents"] for d in paid["charge"]["documents"]] == [15000]
    # Delivered twice, fetched back again: credited and invoiced once.
    await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    fetched = await api.post(f"/api/pack-holdings/{held['id']}/refresh", headers=ana.headers)
    assert len(fetched.json()["charge"]["documents"]) == 1
    assert await movements(database, held["id"]) == [("bought", 600, 600)]


# the quote and checkout -------------------------------------------------------------------
async def test_pack_hours_pay_the_booking_before_money(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    holding = await holding_of(api, lab, ana)
    quoted = await laser_quote(api, ana, lab, paris(2027, 3, 8, 10), hours=2)
    assert packs_of(quoted) == [
        {
            "resource_id": lab.lab.laser,
            "source": "pack",
            "source_id": holding,
            "minutes": 120,
            "units": 1,
            "hours": "2",
            "label": "Heures prépayées",
        }
    ]
    assert (quoted["total_incl_vat_cents"], quoted["payment_methods"]) == (0, ["free"])
    # Opting out: the plain price.
    plain = await laser_quote(api, ana, lab, paris(2027, 3, 8, 10), hours=2, use_packs=False)
    assert (packs_of(plain), plain["total_incl_vat_cents"]) == ([], 7200)

    booked = await book_laser(api, ana, lab, paris(2027, 3, 8, 10), 2, quoted["fingerprint"])
    assert booked.status_code == 201, booked.text
    assert booked.json()["booking"]["status"] == "confirmed"
    assert booked.json()["payment"]["method"] == "free"
    assert await balance(database, holding) == 480
    assert (await movements(database, holding))[-1] == ("used", -120, 480)

    # 1 h left on a smaller pack: it covers one hour of two; the other is paid.
    bob = await make_user(database, "bob@example.fr")
    small = await holding_of(api, lab, bob, minutes=60)
    partly = await laser_quote(api, bob, lab, paris(2027, 3, 9, 10), hours=2)
    assert [c["minutes"] for c in packs_of(partly)] == [60]
    assert partly["total_incl_vat_cents"] == 3600
    paid = await book_laser(api, bob, lab, paris(2027, 3, 9, 10), 2, partly["fingerprint"])
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["amount_cents"] == 3600
    assert await balance(database, small) == 0
    # A pack for another resource covers nothing here.
    printed = await api.post(
        "/api/quotes",
        json=booking_body(lab.lab.printer, paris(2027, 3, 10, 10), paris(2027, 3, 10, 12)),
        headers=ana.headers,
    )
    assert packs_of(printed.json()) == []


async def test_earliest_expiry_first_and_never_a_pack_expired_at_the_start(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    late = await holding_of(api, lab, ana, minutes=600)
    soon_pack = await define_pack(api, lab, minutes=60, validity_days=10)
    soon = (await buy(api, ana, soon_pack["id"])).json()["id"]
    # 8 March: the pack ending on 10 March goes first, then the year's.
    quoted = await laser_quote(api, ana, lab, paris(2027, 3, 8, 10), hours=2)
    assert [(c["source_id"], c["minutes"]) for c in packs_of(quoted)] == [
        (soon, 60),
        (late, 60),
    ]
    # 15 March: the short pack is over by then.
    later = await laser_quote(api, ana, lab, paris(2027, 3, 15, 10), hours=2)
    assert [(c["source_id"], c["minutes"]) for c in packs_of(later)] == [(late, 120)]


async def test_pack_hours_used_since_the_quote_are_a_price_change_and_book_nothing(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    holding = await holding_of(api, lab, ana, minutes=60)
    seen = await laser_quote(api, ana, lab, paris(2027, 3, 8, 10))
    first = await book_laser(api, ana, lab, paris(2027, 3, 9, 10))
    assert first.status_code == 201, first.text
    late = await book_laser(api, ana, lab, paris(2027, 3, 8, 10), fingerprint=seen["fingerprint"])
    assert late.status_code == 409 and late.json()["code"] == "price_changed", late.text
    assert packs_of(late.json()["quote"]) == []
    assert late.json()["quote"]["total_incl_vat_cents"] == 3600
    assert await bookings(database) == 1
    assert await balance(database, holding) == 0


async def test_two_checkouts_for_the_last_pack_hour_at_once_one_wins(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    holding = await holding_of(api, lab, ana, minutes=60)
    days = (8, 9)
    quotes = [await laser_quote(api, ana, lab, paris(2027, 3, day, 10)) for day in days]
    assert all(q["total_incl_vat_cents"] == 0 for q in quotes)
    responses = await asyncio.gather(
        *(
            book_laser(api, ana, lab, paris(2027, 3, day, 10), fingerprint=q["fingerprint"])
            for day, q in zip(days, quotes, strict=True)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    [lost] = [r for r in responses if r.status_code == 409]
    assert lost.json()["code"] == "price_changed"
    assert lost.json()["quote"]["total_incl_vat_cents"] == 3600
    assert await balance(database, holding) == 0
    assert await bookings(database) == 1
    assert [m[0] for m in await movements(database, holding)] == ["bought", "used"]


async def test_a_checkout_waiting_for_the_pack_finds_its_minutes_gone(
    api: Client, lab: PricedLab, database: Database
) -> None:
    """Taking minutes is decided under the pack's row lock: a checkout that quoted them, then
    waited for another transaction taking them, finds too few and books nothing."""
    ana = await make_user(database, "ana@example.fr")
    holding = await holding_of(api, lab, ana, minutes=60)
    quoted = await laser_quote(api, ana, lab, paris(2027, 3, 8, 10))
    async with database.engine.connect() as other:
        transaction = await other.begin()
        await other.execute(
            text("UPDATE pack_holding SET balance_minutes = 30 WHERE id = :id"), {"id": holding}
        )
        pending = asyncio.create_task(
            book_laser(api, ana, lab, paris(2027, 3, 8, 10), fingerprint=quoted["fingerprint"])
        )
        await until_waiting_for(database, "UPDATE pack_holding")
        await transaction.commit()
        late = await pending
    assert late.status_code == 409 and late.json()["code"] == "price_changed", late.text
    assert [c["minutes"] for c in packs_of(late.json()["quote"])] == [30]
    assert await balance(database, holding) == 30
    assert await bookings(database) == 0


# cancellations, moves, expiry --------------------------------------------------------------
async def test_cancelling_gives_pack_minutes_back_by_the_refund_tier(
    api: Client, lab: PricedLab, database: Database
) -> None:
    late_ok = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"cancel_deadline_hours": 0}]},
        headers=lab.manager.headers,
    )
    assert late_ok.status_code == 200, late_ok.text
    ana = await make_user(database, "ana@example.fr")
    holding = await holding_of(api, lab, ana)
    # A week ahead: 100 %.
    early = await book_laser(api, ana, lab, paris(2027, 3, 8, 10), 2)
    # Tuesday 10:00, 25 hours ahead: 50 %.
    soon = await book_laser(api, ana, lab, paris(2027, 3, 2, 10), 2)
    assert early.status_code == soon.status_code == 201, (early.text, soon.text)
    assert await balance(database, holding) == 360
    for booked, back in ((early, 120), (soon, 60)):
        booking_id = booked.json()["booking"]["id"]
        preview = await api.get(f"/api/bookings/{booking_id}/billing", headers=ana.headers)
        refund = preview.json()["if_cancelled_now"]
        assert (refund["pack_minutes"], refund["pack_minutes_used"]) == (back, 120)
        cancelled = await api.post(
            f"/api/bookings/{booking_id}/cancel", json={}, headers=ana.headers
        )
        assert cancelled.status_code == 200, cancelled.text
    assert await balance(database, holding) == 540
    assert (await movements(database, holding))[-2:] == [
        ("given_back", 120, 480),
        ("given_back", 60, 540),
    ]
    mine = (await api.get("/api/me/packs", headers=ana.headers)).json()
    assert mine[0]["movements"][0]["kind"] == "given_back"


async def test_hours_the_policy_keeps_are_said_so_on_the_cancel_page(
    api: Client, lab: PricedLab, database: Database
) -> None:
    """A place that refunds nothing keeps the prepaid hours a cancelled booking used: the cancel
    page says so, instead of "nothing was paid"."""
    for path, body in (
        ("booking-policies", {"policies": [{"cancel_deadline_hours": 0}]}),
        (
            "billing-settings",
            {"invoice_prefix": "FLT", "payment_methods": {"*": ["on_site"]}, "refund_tiers": []},
        ),
    ):
        changed = await api.put(
            f"/api/places/{lab.place_id}/{path}", json=body, headers=lab.manager.headers
        )
        assert changed.status_code == 200, changed.text
    ana = await make_user(database, "ana@example.fr", password_hash=stored_hash(PASSWORD))
    await holding_of(api, lab, ana)
    booked = await book_laser(api, ana, lab, paris(2027, 3, 8, 10), 2)
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["booking"]["id"]
    preview = await api.get(f"/api/bookings/{booking_id}/billing", headers=ana.headers)
    refund = preview.json()["if_cancelled_now"]
    assert (refund["outcome"], refund["pack_minutes"], refund["pack_minutes_used"]) == (
        "nothing_paid",
        0,
        120,
    )
    # A browser on the same app, as the web tests' (api's address is plain http).
    async with another_browser(
        api, origin="https://127.0.0.1", headers={"accept": "text/html"}
    ) as browser:
        await log_in(browser, ana.email)
        page = page_text((await browser.get(f"/account/bookings/{booking_id}/cancel")).text)
    assert "2 h des heures prépayées utilisées ne vous sont pas rendues" in page
    assert "Rien n'a été payé" not in page
    assert "Aucune somme n'a été payée pour cette réservation" in page


async def test_a_hold_that_expires_gives_its_pack_minutes_back_whole(
    api: Client,
    lab: PricedLab,
    database: Database,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    ana = await make_user(database, "ana@example.fr")
    holding = await holding_of(api, lab, ana, minutes=60)
    # Two hours, one from the pack and one by card: held until paid.
    held = await book_laser(api, ana, lab, paris(2027, 3, 8, 10), 2, method="card")
    assert held.status_code == 201, held.text
    assert held.json()["booking"]["status"] == "held"
    assert await balance(database, holding) == 0
    clock.advance(minutes=16)
    runtime = build_runtime(stripe_settings, database, clock)
    try:
        from billing import maintenance

        released, _ = await maintenance.expire_holds(runtime.billing)
    finally:
        await runtime.close()
    assert released == 1
    assert await balance(database, holding) == 60
    assert (await movements(database, holding))[-1] == ("given_back", 60, 60)


async def test_a_booking_paid_with_pack_hours_is_not_moved(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    holding = await holding_of(api, lab, ana)
    booked = await book_laser(api, ana, lab, paris(2027, 3, 8, 10))
    assert booked.status_code == 201, booked.text
    moved = await api.post(
        f"/api/bookings/{booked.json()['booking']['id']}/reschedule",
        json={"starts_at": iso(paris(2027, 3, 9, 10)), "ends_at": iso(paris(2027, 3, 9, 11))},
        headers=ana.headers,
    )
    assert moved.status_code == 409 and moved.json()["code"] == "paid_with_packs", moved.text
    detail = await api.get(f"/api/bookings/{booked.json()['booking']['id']}", headers=ana.headers)
    assert detail.json()["starts_at"].startswith("2027-03-08")
    assert await balance(database, holding) == 540


async def test_the_expiry_job_ends_packs_past_their_validity(
    api: Client,
    lab: PricedLab,
    database: Database,
    stripe_settings: Settings,
    clock: MutableClock,
) -> None:
    ana = await make_user(database, "ana@example.fr")
    pack = await define_pack(api, lab, validity_days=2)
    holding = (await buy(api, ana, pack["id"])).json()["id"]
    unpaid = (await buy(api, ana, pack["id"], "card")).json()["id"]
    booked = await book_laser(api, ana, lab, paris(2027, 3, 2, 10))
    assert booked.status_code == 201, booked.text
    runtime = build_runtime(stripe_settings, database, clock)
    try:
        await expire_packs(runtime.billing)  # nothing is over yet
        assert await balance(database, holding) == 540
        # Tuesday 2 March was its last day: on Wednesday, it is over.
        clock.advance(days=2, hours=16)
        await expire_packs(runtime.billing)
        await expire_packs(runtime.billing)  # twice: once
    finally:
        await runtime.close()
    assert await balance(database, holding) == 0
    assert (await movements(database, holding))[-1] == ("expired", -540, 0)
    mine = {h["id"]: h for h in (await api.get("/api/me/packs", headers=ana.headers)).json()}
    assert mine[holding]["state"] == "expired"
    assert mine[unpaid]["state"] == "cancelled"
    assert mine[unpaid]["charge"]["status"] == "cancelled"
    # Expired minutes are never used.
    later = await laser_quote(api, ana, lab, paris(2027, 3, 8, 10))
    assert packs_of(later) == [] and later["total_incl_vat_cents"] == 3600
