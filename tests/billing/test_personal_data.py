"""GDPR (issue 16, item 11): the export holds everything about a person; erasure ends it.

Erasure cancels the person's future bookings through the booking service (billing hears it and
applies the place's refund policy), blanks free-text notes, revokes calendar feeds and tokens,
purges the log-in throttle of their e-mail, and keeps issued invoices (legal retention).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlparse

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import END, START, PricedLab, checkout
from tests.support.accounts import make_organisation, make_user, stored_hash
from tests.support.booking import MutableClock

PASSWORD = "violet-harbour-compass-42"

NOTE = "Allergic to acrylic fumes, call 06 12 34 56 78"


async def _scalar(database: Database, sql: str, **params: object) -> object:
    async with database.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def test_export_holds_everything_and_erase_ends_it(
    api: httpx.AsyncClient, lab: PricedLab, database: Database
) -> None:
    school = await make_organisation(database, "École du Port")
    person = await make_user(
        database,
        "ana@example.fr",
        organisation_roles=((school, "admin"),),
        password_hash=stored_hash(PASSWORD),
    )
    # Money the place put in her wallet there, with its reason.
    credited = await api.post(
        f"/api/places/{lab.place_id}/wallets/credits",
        json={"email": person.email, "amount_cents": 700, "reason": "Atelier annulé"},
        headers=lab.manager.headers,
    )
    assert credited.status_code == 201, credited.text
    # Prepaid hours of the laser cutter, bought on site.
    pack = await api.post(
        f"/api/places/{lab.place_id}/packs",
        json={
            "name": "5 h laser",
            "minutes": 300,
            "resource_id": lab.lab.laser,
            "price_cents": 9000,
            "validity_days": 90,
        },
        headers=lab.manager.headers,
    )
    assert pack.status_code == 201, pack.text
    bought = await api.post(
        f"/api/packs/{pack.json()['id']}/purchases",
        json={"payment_method": "on_site"},
        headers=person.headers,
    )
    assert bought.status_code == 201, bought.text
    # A future booking paid on site, with a note; an invoiced booking for the school.
    own = await checkout(api, person, lab.lab.printer, method="on_site", notes=NOTE)
    assert own.status_code == 201, own.text
    booking_id = own.json()["booking"]["id"]
    invoiced = await checkout(
        api,
        person,
        lab.lab.room,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-9",
    )
    assert invoiced.status_code == 201, invoiced.text
    # Sent with an idempotency key: its answer (the feed's secret address) is kept a day.
    feed = await api.post(
        "/api/me/calendar-feed", headers={**person.headers, "Idempotency-Key": "feed-1"}
    )
    assert feed.status_code == 201
    feed_path = urlparse(feed.json()["url"]).path
    assert (await api.get(feed_path)).status_code == 200
    # A wrong password (here, to erase) leaves an attempt counter keyed by the hashed e-mail.
    wrong = await api.post(
        "/api/me/erase", json={"password": "not-it-at-all"}, headers=person.headers
    )
    assert wrong.status_code == 422, wrong.text
    email_key = hashlib.sha256(f"login-email:{person.email}".encode()).hexdigest()
    assert (
        await _scalar(database, "SELECT count(*) FROM attempt_counter WHERE key = :k", k=email_key)
        == 1
    )

    export = await api.get("/api/me/export", headers=person.headers)
    assert export.status_code == 200
    data = export.json()
    assert data["account"]["email"] == person.email
    assert [b["notes"] for b in data["bookings"] if b["id"] == booking_id] == [NOTE]
    assert all(b["items"] for b in data["bookings"])
    assert {p["method"] for p in data["payments"]} == {"on_site", "invoice"}
    assert [i["kind"] for i in data["invoices"]] == ["invoice"]
    assert [o["name"] for o in data["organisations"]] == ["École du Port"]
    assert [
        (w["balance_cents"], [m["reason"] for m in w["movements"]]) for w in data["wallets"]
    ] == [(700, ["Atelier annulé"])]
    assert data["coupon_uses"] == []
    assert [
        (h["name"], h["balance_minutes"], [m["kind"] for m in h["movements"]])
        for h in data["packs"]
    ] == [("5 h laser", 300, ["bought"])]
    assert len(data["calendar_feeds"]) == 1 and "token_sha256" not in data["calendar_feeds"][0]
    assert [t["name"] for t in data["api_tokens"]] == ["test"]
    assert {"booking_series", "rate_grants", "exported_at"} <= set(data)
    assert "client_secret" not in str(data)

    invoices_before = await _scalar(database, "SELECT count(*) FROM billing_document")
    erased = await api.post("/api/me/erase", json={"password": PASSWORD}, headers=person.headers)
    assert erased.status_code == 204, erased.text

    # The answers kept for the person's idempotency keys are gone with the rest.
    assert (
        await _scalar(
            database,
            "SELECT count(*) FROM idempotency_record WHERE caller = :c",
            c=f"user:{person.user_id}",
        )
        == 0
    )
    # Tokens and feeds stop working; the throttle row of the e-mail is gone.
    assert (await api.get("/api/me", headers=person.headers)).status_code == 401
    assert (await api.get(feed_path)).status_code == 404
    assert (
        await _scalar(database, "SELECT count(*) FROM attempt_counter WHERE key = :k", k=email_key)
        == 0
    )
    # The future booking is cancelled the way any cancellation is: billing heard it.
    status = await _scalar(database, "SELECT status FROM booking WHERE id = :i", i=booking_id)
    assert status == "cancelled"
    payment = await _scalar(
        database, "SELECT status FROM payment WHERE booking_id = :i", i=booking_id
    )
    assert payment == "cancelled"
    # Notes blanked everywhere; the school's booking is the school's, kept.
    notes = await _scalar(
        database,
        "SELECT string_agg(notes, '') FROM booking b JOIN user_account u "
        "ON u.id = b.booker_user_id WHERE u.id = :u",
        u=person.user_id,
    )
    assert notes == ""
    # Invoices are kept (legal retention).
    assert await _scalar(database, "SELECT count(*) FROM billing_document") == invoices_before


async def test_erase_cancels_even_past_the_deadline_a_person_must_meet(
    api: httpx.AsyncClient, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    person = await make_user(database, "late@example.fr", password_hash=stored_hash(PASSWORD))
    paid = await checkout(api, person, lab.lab.printer, START, END, method="on_site")
    assert paid.status_code == 201, paid.text
    booking_id = paid.json()["booking"]["id"]
    clock.now = START - timedelta(hours=1)
    late = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=person.headers)
    assert late.status_code == 409
    assert late.json()["code"] == "cancellation_deadline_passed"
    erased = await api.post("/api/me/erase", json={"password": PASSWORD}, headers=person.headers)
    assert erased.status_code == 204
    status = await _scalar(database, "SELECT status FROM booking WHERE id = :i", i=booking_id)
    assert status == "cancelled"
