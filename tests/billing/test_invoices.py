"""Invoices and credit notes: gap-free numbers under concurrency, mentions, print, PDF, and
tampering caught by ``mutualab invoices verify`` (run as a real process)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from billing.pricing import VatBreakdownLine, VatKind, credit_breakdown
from kernel.db import Database
from tests.billing.support import START, PricedLab, checkout
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import MutableClock, paris

Client = httpx.AsyncClient


async def _on_site_bookings(api: Client, lab: PricedLab, person: Person, count: int) -> list[int]:
    payments = []
    for day in range(count):
        start = paris(2027, 3, 2 + day, 10)
        response = await checkout(
            api, person, lab.lab.printer, start, start.replace(hour=11), method="on_site"
        )
        assert response.status_code == 201, response.text
        payments.append(response.json()["payment"]["id"])
    return payments


async def _record(api: Client, lab: PricedLab, payment_id: int) -> httpx.Response:
    return await api.post(
        f"/api/payments/{payment_id}/record", json={"means": "cash"}, headers=lab.manager.headers
    )


async def test_twenty_concurrent_issues_get_twenty_consecutive_numbers(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    payments = await _on_site_bookings(api, lab, ana, 20)
    # Twenty managers' requests at once, each issuing an invoice in its own transaction.
    responses = await asyncio.gather(*(_record(api, lab, p) for p in payments))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    numbers = [r.json()["documents"][0]["number"] for r in responses]
    assert sorted(numbers) == [f"FLT-2027-{n:06d}" for n in range(1, 21)]
    listed = await api.get(
        f"/api/places/{lab.place_id}/invoices?limit=50", headers=lab.manager.headers
    )
    assert listed.json()["total"] == 20
    assert _verify(database_url_of(database)).returncode == 0


async def test_the_api_record_keeps_a_receipt_of_all_that_was_due(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    ana = await make_user(database, "ana@example.fr")
    [payment_id] = await _on_site_bookings(api, lab, ana, 1)
    recorded = await _record(api, lab, payment_id)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["status"] == "succeeded"
    async with database.engine.connect() as conn:
        receipts = (
            await conn.execute(
                text(
                    "SELECT r.amount_cents, r.means, r.received_on, p.amount_cents"
                    " FROM payment_receipt r JOIN payment p ON p.id = r.payment_id"
                    " WHERE r.payment_id = :id"
                ),
                {"id": payment_id},
            )
        ).all()
    # One receipt, as the front desk leaves: the whole amount, its means, the place's day.
    [(amount, means, received_on, due)] = receipts
    assert (amount, means) == (due, "cash") and due > 0
    assert received_on == clock().astimezone(ZoneInfo("Europe/Paris")).date()
    again = await _record(api, lab, payment_id)
    assert again.status_code == 409 and again.json()["code"] == "payment_not_due"


def database_url_of(database: Database) -> str:
    """The URL a separate process uses to reach the test database."""
    return database.engine.url.render_as_string(hide_password=False)


def _verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mutualab", "invoices", "verify"],
        env={**os.environ, "MUTUALAB_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_tampering_with_a_stored_invoice_is_detected(
    api: Client, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    for payment in await _on_site_bookings(api, lab, ana, 3):
        assert (await _record(api, lab, payment)).status_code == 200
    url = database_url_of(database)
    intact = _verify(url)
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout

    # The application has no update path, and the database refuses one.
    with pytest.raises(DBAPIError):
        async with database.engine.begin() as conn:
            await conn.execute(text("UPDATE billing_document SET total_incl_vat_cents = 1"))

    # Someone with the owner's rights lowers an amount inside the second invoice.
    async with database.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE billing_document DISABLE TRIGGER USER"))
        row = (
            await conn.execute(
                text("SELECT id, content FROM billing_document WHERE number = 'FLT-2027-000002'")
            )
        ).one()
        content = row.content if isinstance(row.content, str) else json.dumps(row.content)
        forged = content.replace(
            '"total_incl_vat_cents":1200', '"total_incl_vat_cents":120'
        ).replace('"total_incl_vat_cents": 1200', '"total_incl_vat_cents": 120')
        assert forged != content
        await conn.execute(
            text("UPDATE billing_document SET content = :c WHERE id = :i"),
            {"c": forged, "i": row.id},
        )
        await conn.execute(text("ALTER TABLE billing_document ENABLE TRIGGER USER"))
    tampered = _verify(url)
    assert tampered.returncode == 1
    assert "FLT-2027-000002" in tampered.stderr
    assert "hash_mismatch" in tampered.stderr
    assert "FLT-2027-000001" not in tampered.stderr and "FLT-2027-000003" not in tampered.stderr


async def test_mandatory_mentions_print_and_pdf(
    api: Client, lab: PricedLab, database: Database
) -> None:
    company = await make_organisation(
        database, "Atelier Bois SARL", user_type="company", requires_purchase_order=False
    )
    employee = await make_user(database, "max@atelier.fr", organisation_roles=((company, "admin"),))
    booked = await checkout(
        api,
        employee,
        [(lab.lab.printer, 1), (lab.lab.room, 1)],
        method="invoice",
        organisation_id=company,
    )
    assert booked.status_code == 201, booked.text
    [invoice] = booked.json()["payment"]["documents"]
    read = (await api.get(f"/api/invoices/{invoice['id']}", headers=employee.headers)).json()
    content = read["content"]
    assert content["number"] == "FLT-2027-000001" and content["issued_on"] == "2027-03-01"
    assert (
        content["seller"]["siret"] == "73282932000074" and content["seller"]["siren"] == "732829320"
    )
    assert content["seller"]["vat_number"] == "FR40732829320"
    assert content["buyer"]["name"] == "Atelier Bois SARL"
    assert content["service_date"] == "2027-03-08"
    assert content["payment"]["due_on"] == "2027-03-31"
    assert content["payment"]["late_penalties"] and content["payment"]["recovery_indemnity"]
    assert any("261 D" in m for m in content["mentions"])  # the exempt room
    assert {line["vat_kind"] for line in content["lines"]} == {"taxable", "exempt"}
    assert len(read["hash"]) == 64 and read["previous_hash"] == "0" * 64

    page = await api.get(f"/api/invoices/{invoice['id']}/print", headers=employee.headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # Printable on its own (its inline stylesheet), running nothing, never framed, not kept.
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; style-src 'unsafe-inline';")
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    for needle in (
        "FLT-2027-000001",
        "SIRET 73282932000074",
        "FR40732829320",
        "Total TTC",
        "261 D",
    ):
        assert needle in page.text
    pdf = await api.get(f"/api/invoices/{invoice['id']}/pdf", headers=lab.manager.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    stranger = await make_user(database, "eve@example.fr")
    for suffix in ("", "/print", "/pdf"):
        refused = await api.get(f"/api/invoices/{invoice['id']}{suffix}", headers=stranger.headers)
        assert refused.status_code == 404


RATES = st.sampled_from([Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1")])


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(RATES, st.integers(min_value=0, max_value=10_000_000)), min_size=1, max_size=4
    ),
    st.integers(min_value=0, max_value=100),
)
def test_credit_breakdown_adds_up(groups: list[tuple[Decimal, int]], percent: int) -> None:
    breakdown = [
        VatBreakdownLine(VatKind.TAXABLE, rate, base, int((base * rate / 100).to_integral_value()))
        for rate, base in groups
    ]
    whole = sum(b.base_cents + b.vat_cents for b in breakdown)
    amount = whole * percent // 100
    credited = credit_breakdown(breakdown, amount)
    assert sum(b.base_cents + b.vat_cents for b in credited) == amount
    for entry, source in zip(credited, breakdown, strict=True):
        assert 0 <= entry.base_cents + entry.vat_cents <= source.base_cents + source.vat_cents
        assert entry.vat_cents >= 0
    if percent == 100:
        assert credited == tuple(breakdown)


async def test_the_invoice_list_says_who_owes_what_and_finds_it(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    """What a treasurer asks of the list: the client, the purchase order, the due date, paid
    or not (or late, or cancelled by a credit note); found by client, number or purchase order,
    by the month of issue and by that state."""
    school = await make_organisation(database, "Collège Charles Le Goffic")
    teacher = await make_user(database, "prof@college.fr", organisation_roles=((school, "admin"),))
    ana = await make_user(database, "ana.bernard@example.fr")

    async def on_invoice(start: datetime, order: str) -> dict[str, Any]:
        booked = await checkout(
            api,
            teacher,
            lab.lab.printer,
            start,
            start + timedelta(hours=2),
            method="invoice",
            organisation_id=school,
            purchase_order=order,
        )
        assert booked.status_code == 201, booked.text
        return dict(booked.json())

    owed = await on_invoice(START, "BC-44")
    dropped = await on_invoice(START + timedelta(days=1), "BC-45")
    cancelled = await api.post(
        f"/api/bookings/{dropped['booking']['id']}/cancel", json={}, headers=teacher.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    paid = await checkout(
        api, ana, lab.lab.printer, START + timedelta(days=2), START + timedelta(days=2, hours=1),
        method="on_site",
    )  # fmt: skip
    assert paid.status_code == 201, paid.text
    assert (await _record(api, lab, paid.json()["payment"]["id"])).status_code == 200

    async def listed(**query: str) -> list[tuple[str, str, str | None, str]]:
        response = await api.get(
            f"/api/places/{lab.place_id}/invoices", params=query, headers=lab.manager.headers
        )
        assert response.status_code == 200, response.text
        return [
            (d["kind"], d["client"], d["purchase_order"], d["state"])
            for d in response.json()["items"]
        ]

    school_name = "Collège Charles Le Goffic"
    everything = await listed()
    assert len(everything) == 4 and set(everything) == {
        ("credit_note", school_name, "BC-45", "credit_note"),
        ("invoice", "ana.bernard", None, "paid"),
        ("invoice", school_name, "BC-44", "unpaid"),
        ("invoice", school_name, "BC-45", "credited"),
    }
    assert await listed(status="unpaid") == [("invoice", school_name, "BC-44", "unpaid")]
    assert await listed(q="bc-44") == [("invoice", school_name, "BC-44", "unpaid")]
    assert len(await listed(q="le goffic")) == 3  # accents and case aside
    assert await listed(q="ana.bernard@") == [("invoice", "ana.bernard", None, "paid")]
    assert len(await listed(month="2027-03")) == 4
    assert await listed(month="2027-04") == []
    first = await api.get(f"/api/places/{lab.place_id}/invoices", headers=lab.manager.headers)
    due = {d["number"]: d["due_on"] for d in first.json()["items"]}
    assert due[owed["payment"]["documents"][0]["number"]] == "2027-03-31"  # 30 days after issue

    # Past its due date, still unpaid: late.
    clock.now = paris(2027, 4, 1, 9)
    assert await listed(status="overdue") == [("invoice", school_name, "BC-44", "overdue")]
    assert await listed(status="unpaid") == [("invoice", school_name, "BC-44", "overdue")]

    for query, field in (({"month": "2027-13"}, "month"), ({"status": "lost"}, "status")):
        wrong = await api.get(
            f"/api/places/{lab.place_id}/invoices", params=query, headers=lab.manager.headers
        )
        assert wrong.status_code in (400, 422), wrong.text
        assert field in wrong.text
