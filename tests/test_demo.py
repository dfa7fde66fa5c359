"""The demo data shows the product: prices, payment methods, a training, requests, bookings."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pikepdf
import pytest
from sqlalchemy import Row, text

from accounts.bootstrap import ensure_demo_people, reset_demo_passwords
from accounts.passwords import passwords
from billing.facturx import facturx_pdf, facturx_xml
from booking.schemas import BookingCreate, ItemRequest
from kernel.db import Database
from kernel.errors import ConflictError, ForbiddenError
from mutualab.demo import demo_place_ids, seed_demo
from mutualab.demo_activity import LASER, cast_of, next_monday, seed_activity
from mutualab.demo_programme import OCCUPYING_SESSIONS
from tests.billing.facturx_rules import problems
from tests.support.apps import runtime_on

PARIS = ZoneInfo("Europe/Paris")
# A Saturday whose next six weeks hold Christmas: the demo moves bookings off public holidays.
TODAY = date(2026, 12, 5)


async def _rows(database: Database, sql: str, **params: object) -> list[Row[Any]]:
    async with database.engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


async def _seeded(database: Database, today: date = TODAY) -> list[int]:
    morning = datetime.combine(today, time(9), UTC)
    async with (
        runtime_on(database, lambda: morning) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        await seed_demo(session, today)
        place_ids = await demo_place_ids(session)
        await ensure_demo_people(session, place_ids, "first-demo-password")
        assert (
            await seed_activity(runtime, session, place_ids, today)
            == 14 + 2 * 18 + 2 * OCCUPYING_SESSIONS
        )
    return place_ids


async def test_every_demo_place_sells_per_user_type_and_takes_on_site_and_invoice(
    database: Database, client: httpx.AsyncClient
) -> None:
    place_ids = await _seeded(database)
    for place_id in place_ids:
        lists = (await client.get(f"/api/places/{place_id}/price-lists")).json()
        assert len(lists) == 5  # one per resource
        ((laser_id,),) = await _rows(
            database,
            "SELECT id FROM resource WHERE place_id = :p AND name = :n",
            p=place_id,
            n=LASER,
        )
        laser = next(p for p in lists if p["resource_id"] == laser_id)
        hourly = {r["user_type"]: r["hourly_cents"] for r in laser["rates"]}
        assert hourly["*"] > hourly["student"] > 0 and hourly["company"] > hourly["*"]
        # A membership plan at each place, with hours of the laser cutter included.
        [plan] = (await client.get(f"/api/places/{place_id}/plans")).json()
        assert (plan["name"], plan["price_incl_vat_cents"]) == ("Adhésion annuelle", 3000)
        assert plan["allowances"] == [
            {"resource_id": laser_id, "resource_kind": None, "minutes": 240}
        ]
        # A 10-hour pack of the laser cutter at each place, 150 EUR incl. VAT, a year.
        [pack] = (await client.get(f"/api/places/{place_id}/packs")).json()
        assert (pack["name"], pack["minutes"], pack["resource_id"]) == (
            "10 h de découpe laser",
            600,
            laser_id,
        )
        assert (pack["price_incl_vat_cents"], pack["validity_days"]) == (15000, 365)
    # Someone waits for the rate they asked for (the administrators' rate requests page).
    asking = await _rows(
        database,
        "SELECT requested_user_type_code FROM user_account "
        "WHERE requested_user_type_code IS NOT NULL",
    )
    assert [r[0] for r in asking] == ["job_seeker"]
    methods = await _rows(database, "SELECT payment_methods FROM place_billing")
    assert len(methods) == len(place_ids)
    for (by_type,) in methods:
        assert "on_site" in by_type["*"] and "invoice" in by_type["school"]
    # A promo code at each place, for citizens, once each, until the end of next month.
    coupons = await _rows(
        database,
        "SELECT place_id, code, percent_bp, max_uses_per_person, user_types, valid_until "
        "FROM coupon ORDER BY place_id",
    )
    assert [(c[0], c[1], c[2], c[3], c[4]) for c in coupons] == [
        (place_id, "BIENVENUE", 1000, 1, ["citizen"]) for place_id in place_ids
    ]
    assert {c[5] for c in coupons} == {date(2027, 1, 31)}
    # Camille has 10 EUR in her wallet at each place, with the reason.
    wallets = await _rows(
        database,
        "SELECT w.place_id, w.balance_cents, m.reason FROM wallet w "
        "JOIN wallet_movement m ON m.wallet_id = w.id ORDER BY w.place_id",
    )
    assert [(w[0], w[1]) for w in wallets] == [(place_id, 1000) for place_id in place_ids]
    assert {w[2] for w in wallets} == {"Atelier d'initiation annulé par le lieu"}
    # Camille holds one pack, at the first place, paid at the desk and invoiced.
    held = await _rows(
        database,
        "SELECT h.place_id, h.balance_minutes, h.status, c.status, "
        "(SELECT count(*) FROM billing_document d WHERE d.plan_charge_id = c.id) "
        "FROM pack_holding h JOIN plan_charge c ON c.pack_holding_id = h.id",
    )
    assert [tuple(h) for h in held] == [(place_ids[0], 600, "active", "succeeded", 1)]


# Whatever the weekday the demo starts on (the closure and the blackout move with it).
@pytest.mark.parametrize("today", [TODAY + timedelta(days=n) for n in range(7)], ids=str)
async def test_the_demo_has_a_training_a_request_and_bookings_over_the_weeks(
    database: Database, today: date
) -> None:
    place_ids = await _seeded(database, today)
    every = await _rows(
        database,
        "SELECT b.status, b.starts_at, b.place_id, p.method "
        "FROM booking b LEFT JOIN payment p ON p.booking_id = b.id",
    )
    # The coming weeks (the months before are the history, below).
    rows = [r for r in every if r.starts_at.astimezone(PARIS).date() >= today]
    assert sorted(r.status for r in rows if r.status != "confirmed") == ["pending_approval"] * 2
    assert {r.method for r in rows} >= {"on_site", "invoice"}
    weeks = {r.starts_at.isocalendar()[1] for r in rows}
    assert len(weeks) >= 3
    public_holidays = {date(2026, 12, 25), date(2027, 1, 1)}
    assert not {r.starts_at.astimezone(PARIS).date() for r in rows} & public_holidays
    assert all(r.starts_at > datetime.combine(next_monday(today), time(), PARIS) for r in rows)
    assert {r.place_id for r in rows} == set(place_ids)
    # At each place, a walk-in booked at the front desk (no log-in) paid by cheque there.
    paid = await _rows(
        database,
        "SELECT b.place_id, p.status, r.means, r.amount_cents = p.amount_cents "
        "FROM booking b JOIN user_account u ON u.id = b.booker_user_id "
        "JOIN payment p ON p.booking_id = b.id JOIN payment_receipt r ON r.payment_id = p.id "
        "WHERE u.password_hash IS NULL AND u.guest_place_id = b.place_id",
    )
    assert sorted(tuple(r) for r in paid) == [(p, "succeeded", "cheque", True) for p in place_ids]


async def test_the_laser_needs_the_training_camille_holds_and_lea_does_not(
    database: Database,
) -> None:
    place_ids = await _seeded(database)
    day = next_monday(TODAY) + timedelta(weeks=5, days=1)
    async with (
        runtime_on(database, lambda: datetime(2026, 12, 5, 9, tzinfo=UTC)) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        cast = await cast_of(session)
        ((laser,),) = await _rows(
            database,
            "SELECT id FROM resource WHERE place_id = :p AND name = :n",
            p=place_ids[0],
            n=LASER,
        )
        bookings = runtime.booking.bookings(session)

        def request(hour: int) -> BookingCreate:
            return BookingCreate(
                items=[ItemRequest(resource_id=laser)],
                starts_at=datetime.combine(day, time(hour), PARIS),
                ends_at=datetime.combine(day, time(hour + 1), PARIS),
            )

        with pytest.raises(ForbiddenError) as refused:
            await bookings.create(cast.student, request(10))
        assert refused.value.code == "training_required"
        # Camille passes the training rule; the laser is priced, so only checkout may book it.
        with pytest.raises(ConflictError) as priced:
            await bookings.create(cast.citizen, request(15))
        assert priced.value.code == "payment_required"


async def test_reset_passwords_gives_every_demo_account_the_new_one(database: Database) -> None:
    await _seeded(database)
    async with database.writer() as session, session.begin():
        emails = await reset_demo_passwords(session, "a-fresh-demo-password")
    rows = await _rows(database, "SELECT email, password_hash FROM user_account")
    hashes: dict[str, str] = {row[0]: row[1] for row in rows}
    checker = passwords(time_cost=1, memory_kib=64)
    for email in emails:
        assert await checker.verify(hashes[email], "a-fresh-demo-password")
        assert not await checker.verify(hashes[email], "first-demo-password")
    assert "camille@demo.mutualab.example" in emails
    assert "admin@demo.mutualab.example" in emails
    assert all(email.endswith("@demo.mutualab.example") for email in emails)


async def test_the_three_months_before_have_their_activity_and_last_month_s_statistics(
    database: Database, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    place_ids = await _seeded(database)
    rows = await _rows(
        database,
        "SELECT b.place_id, b.status, b.starts_at, p.method, p.status AS paid, b.created_at "
        "FROM booking b JOIN payment p ON p.booking_id = b.id WHERE b.starts_at < :today",
        today=datetime.combine(TODAY, time(), PARIS),
    )
    months = {(r.place_id, r.starts_at.astimezone(PARIS).strftime("%Y-%m")) for r in rows}
    assert months == {(p, m) for p in place_ids for m in ("2026-09", "2026-10", "2026-11")}
    for place_id, month in months:
        these = [
            r
            for r in rows
            if r.place_id == place_id and r.starts_at.astimezone(PARIS).strftime("%Y-%m") == month
        ]
        assert sorted(r.status for r in these) == ["cancelled"] + ["confirmed"] * 5
        # Booked two days before the month, as a person would have; desk payments recorded.
        assert all(r.created_at < r.starts_at for r in these)
        assert sorted(r.paid for r in these if r.status == "confirmed") == [
            "invoiced", "invoiced", "succeeded", "succeeded", "succeeded",
        ]  # fmt: skip
    # The invoices of each place are numbered in the order of their dates.
    documents = await _rows(
        database,
        "SELECT place_id, sequence, issued_at FROM billing_document "
        "WHERE kind = 'invoice' ORDER BY place_id, sequence",
    )
    for place_id in place_ids:
        issued = [d.issued_at for d in documents if d.place_id == place_id]
        assert issued == sorted(issued) and len(issued) >= 12
    # Their e-mails and events went out back then: none waits in the queue.
    queued = await _rows(
        database,
        "SELECT convert_from(payload, 'UTF8')::jsonb -> 'data' ->> 'booking_id' AS booking "
        "FROM jobs.pgqueuer WHERE entrypoint = 'events.dispatch'",
    )
    past = {str(r.id) for r in await _rows(
        database, "SELECT id FROM booking WHERE starts_at < :today",
        today=datetime.combine(TODAY, time(), PARIS),
    )}  # fmt: skip
    assert queued and not {r.booking for r in queued} & past
    stats = await client.get(
        f"/api/places/{place_ids[0]}/statistics?period=month&at=2026-11", headers=admin_headers
    )
    assert stats.status_code == 200, stats.text
    figures = stats.json()
    assert (figures["bookings"], figures["cancelled"], figures["unique_people"]) == (5, 1, 3)
    assert figures["revenue_cents"] > 0 and figures["by_user_type"]


async def test_each_demo_place_has_a_programme_whose_machines_are_booked_for_it(
    database: Database,
) -> None:
    place_ids = await _seeded(database)
    rows = await _rows(
        database,
        "SELECT s.place_id, s.kind, s.booking_id IS NOT NULL AS occupies, "
        "(SELECT count(*) FROM programme_registration r WHERE r.session_id = s.id) AS people "
        "FROM programme_session s ORDER BY s.place_id, s.starts_at",
    )
    for place_id in place_ids:
        these = sorted((r.kind, r.occupies) for r in rows if r.place_id == place_id)
        assert these == [
            ("event", False),
            ("training", True),
            ("training", True),
            ("training", True),
            ("workshop", True),
        ]
        assert sum(r.people for r in rows if r.place_id == place_id) == 2  # Léa, and Camille
    # The workshop is paid: Camille's two seats at 15 EUR, paid at the desk and invoiced.
    tickets = await _rows(
        database,
        "SELECT s.place_id, c.status, c.amount_cents, "
        "(SELECT count(*) FROM billing_document d WHERE d.plan_charge_id = c.id) AS invoices "
        "FROM plan_charge c JOIN programme_registration r ON r.id = c.registration_id "
        "JOIN programme_session s ON s.id = r.session_id ORDER BY s.place_id",
    )
    assert [tuple(t) for t in tickets] == [(p, "succeeded", 3000, 1) for p in sorted(place_ids)]
    placed = await _rows(database, "SELECT count(*) FROM booking WHERE place_use")
    assert placed[0][0] == len(place_ids) * OCCUPYING_SESSIONS


async def test_every_demo_invoice_is_valid_facturx(database: Database) -> None:
    # Each checked against the Factur-X EN 16931 XSD and the EN 16931 rules (any credit note
    # too; the demo issues none: tests/billing/test_facturx*.py check theirs).
    await _seeded(database)
    documents = await _rows(
        database, "SELECT number, kind, content, hash FROM billing_document ORDER BY id"
    )
    kinds = {row.kind for row in documents}
    assert len(documents) > 10 and "invoice" in kinds, kinds
    for row in documents:
        xml = facturx_xml(row.content)
        found = problems(xml)
        assert not found, f"{row.number}: " + "\n".join(found)
    # The PDF/A-3 of one of each kind carries exactly that XML.
    for kind in sorted(kinds):
        row = next(r for r in documents if r.kind == kind)
        with pikepdf.open(io.BytesIO(facturx_pdf(row.content, row.hash))) as pdf:
            attached = pdf.attachments["factur-x.xml"].get_file().read_bytes()
        assert attached == facturx_xml(row.content)
