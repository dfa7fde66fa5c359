"""Grouped invoices through the API and the hourly job: a school's sessions paid on invoice,
one invoice per purchase order and month (or per session on its day), issued when the place's
rule says, due per the payment terms after issue, in French, with the seller's VAT number.

Now is Monday 1 March 2027, 09:00 in Paris. The term is every Tuesday 14:00-16:00 from 2 March
to 6 April: 5 sessions in March, 1 in April, each 108.30 EUR (the room 50.00 EUR exempt, 12
seats 53.00 EUR + 10 % VAT; tests.billing.support.price_fablab).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from billing import grouped_job
from billing.invoicing import verify_documents
from billing.models import BillingDocument, InvoiceLine
from billing.repository import BillingRepository
from kernel.db import Database
from mutualab.composition import Runtime
from tests.billing.support import PricedLab, checkout
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.apps import runtime_on
from tests.support.booking import MutableClock, make_fablab, paris
from tests.support.jobs import empty_queue
from tests.support.mailbox import messages_to, text_of
from tests.support.pdf import pdf_text
from tests.support.waitlist import dispatched

Client = httpx.AsyncClient
PER_DATE = 10830
PO = "BC-2027-042"
SETTINGS: dict[str, Any] = {
    "invoice_prefix": "FLT",
    "seller_vat_number": "FR40732829320",
    "payment_methods": {"school": ["invoice"], "*": ["card"]},
    "refund_tiers": [{"hours": 48, "percent": 100}, {"hours": 24, "percent": 50}],
    "payment_terms_days": 30,
}


@pytest.fixture
async def runtime(database: Database, clock: MutableClock) -> AsyncIterator[Runtime]:
    """The workers' runtime, on the test's clock, with an empty queue."""
    await empty_queue(database)
    async with runtime_on(database, clock) as built:
        yield built
    await empty_queue(database)


@pytest.fixture
async def school(database: Database) -> int:
    """A school that pays on purchase orders."""
    return await make_organisation(database, "Collège Le Goffic")


@pytest.fixture
async def teacher(database: Database, school: int) -> Person:
    """A teacher who books for the school."""
    return await make_user(database, "prof@college.test", organisation_roles=((school, "booker"),))


async def _settings(api: Client, lab: PricedLab, **changes: Any) -> httpx.Response:
    return await api.put(
        f"/api/places/{lab.place_id}/billing-settings",
        json=SETTINGS | changes,
        headers=lab.manager.headers,
    )


async def _grouping(api: Client, lab: PricedLab, period: str, issue: str) -> None:
    response = await _settings(api, lab, invoice_period=period, invoice_issue=issue)
    assert response.status_code == 200, response.text
    assert (response.json()["invoice_period"], response.json()["invoice_issue"]) == (period, issue)


async def _term(api: Client, lab: PricedLab, school: int, teacher: Person) -> dict[str, Any]:
    body = {
        "items": [
            {"resource_id": lab.lab.room, "quantity": 1},
            {"resource_id": lab.lab.seats, "quantity": 12},
        ],
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270406",
        "first_date": "2027-03-02",
        "start_time": "14:00",
        "duration_minutes": 120,
        "organisation_id": school,
    }
    quote = await api.post("/api/series/quote", json=body, headers=teacher.headers)
    assert quote.status_code == 200, quote.text
    response = await api.post(
        "/api/series/checkout",
        json=body
        | {
            "method": "invoice",
            "purchase_order": PO,
            "quote_fingerprint": quote.json()["fingerprint"],
        },
        headers=teacher.headers,
    )
    assert response.status_code == 201, response.text
    billing: dict[str, Any] = response.json()["billing"]
    return billing


async def _billing(api: Client, teacher: Person, series_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/series/{series_id}/billing", headers=teacher.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _content(api: Client, person: Person, document_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/invoices/{document_id}", headers=person.headers)
    assert response.status_code == 200, response.text
    content: dict[str, Any] = response.json()["content"]
    return content


async def _documents(database: Database, place_id: int) -> list[BillingDocument]:
    async with database.reader() as session:
        rows = await session.exec(
            select(BillingDocument)
            .where(BillingDocument.place_id == place_id)
            .order_by(BillingDocument.id)  # type: ignore[arg-type]
        )
        return list(rows.all())


async def _intact(database: Database, place_id: int) -> None:
    async with database.reader() as session:
        assert await verify_documents(BillingRepository(session), place_id) == []


async def test_one_invoice_per_month_at_booking_in_french_with_the_vat_number(
    api: Client, lab: PricedLab, school: int, teacher: Person, database: Database
) -> None:
    await _grouping(api, lab, "month", "at_booking")
    billing = await _term(api, lab, school, teacher)
    invoices = billing["documents"]
    assert [(d["kind"], d["period"], d["sessions"]) for d in invoices] == [
        ("invoice", "mars 2027", 5),
        ("invoice", "avril 2027", 1),
    ]
    assert [d["total_incl_vat_cents"] for d in invoices] == [5 * PER_DATE, PER_DATE]
    assert [d["due_on"] for d in invoices] == ["2027-03-31", "2027-03-31"]
    # Each booked date shows the invoice that bills it.
    numbers = [[d["number"] for d in row["documents"]] for row in billing["occurrences"]]
    assert numbers == [[invoices[0]["number"]]] * 5 + [[invoices[1]["number"]]]

    march = await _content(api, teacher, invoices[0]["id"])
    assert march["issued_on"] == "2027-03-01"
    assert march["payment"]["due_on"] == "2027-03-31"
    assert march["payment"]["purchase_order"] == PO
    assert march["period"]["label"] == "mars 2027"
    assert [s["text"] for s in march["sessions"]] == [
        f"mardi {day} mars 2027, 14:00\u201316:00" for day in (2, 9, 16, 23, 30)
    ]
    assert len(march["lines"]) == 10  # the seats and the room of each session
    assert march["lines"][0]["label"] == "mardi 2 mars 2027, 14:00\u201316:00 — Poste CAO"
    assert march["lines"][0]["hours_text"] == "2 h"
    # Totals exact in cents: the VAT is each session's, summed per rate.
    assert (
        march["total_excl_vat_cents"],
        march["total_vat_cents"],
        march["total_incl_vat_cents"],
    ) == (5 * 10300, 5 * 530, 5 * PER_DATE)
    assert {
        (b["kind"], b["rate"], b["base_cents"], b["vat_cents"]) for b in march["vat_breakdown"]
    } == {
        ("exempt", "0.00", 5 * 5000, 0),
        ("taxable", "10.00", 5 * 5300, 5 * 530),
    }
    assert march["seller"]["vat_number"] == "FR40732829320"

    printed = await api.get(f"/api/invoices/{invoices[0]['id']}/print", headers=teacher.headers)
    assert printed.status_code == 200
    page = printed.text
    assert "Période facturée : mars 2027 (5\nséances" in page
    assert "mardi 16 mars 2027, 14:00\u201316:00 — Salle de cours" in page
    assert "Date d'émission : 01/03/2027 — Date d'échéance : 31/03/2027" in page
    assert "À payer au plus tard le 31/03/2027" in page
    assert "TVA intracommunautaire FR40732829320" in page
    assert ">2 h<" in page
    # No machine formats left on the page: no ISO dates, no "2.00".
    assert "2027-03-" not in page
    assert "2.00" not in page
    pdf = await api.get(f"/api/invoices/{invoices[0]['id']}/pdf", headers=teacher.headers)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    printed_pdf = pdf_text(pdf.content)
    for needle in (
        "Date d'émission : 01/03/2027 - Date d'échéance : 31/03/2027",
        "Période facturée : mars 2027 \\(5 séances",
        "TVA intracommunautaire FR40732829320",
        "(2 h)",
        "mardi 2 mars 2027,",
    ):
        assert needle in printed_pdf, needle
    assert "2.00" not in printed_pdf

    async with database.reader() as session:
        lines = list((await session.exec(select(InvoiceLine))).all())
    assert len(lines) == 6
    await _intact(database, lab.place_id)


async def test_issued_after_the_month_by_the_job_once_and_due_from_then(
    api: Client,
    lab: PricedLab,
    school: int,
    teacher: Person,
    database: Database,
    clock: MutableClock,
    runtime: Runtime,
) -> None:
    await _grouping(api, lab, "month", "period_end")
    billing = await _term(api, lab, school, teacher)
    assert billing["documents"] == []
    payment = await api.get(
        f"/api/bookings/{billing['occurrences'][0]['booking_id']}/billing",
        headers=teacher.headers,
    )
    assert payment.json()["payment"]["due_on"] is None  # due from the invoice, once issued

    # The last March session is cancelled before the invoice: it is simply not invoiced.
    cancelled = await api.post(
        f"/api/bookings/{billing['occurrences'][4]['booking_id']}/cancel",
        json={},
        headers=teacher.headers,
    )
    assert cancelled.status_code == 200, cancelled.text

    assert (await grouped_job.issue_due_invoices(runtime.billing)).issued == []
    clock.now = paris(2027, 3, 31, 23)
    assert (await grouped_job.issue_due_invoices(runtime.billing)).issued == []
    clock.now = paris(2027, 4, 1, 0, 23)
    report = await grouped_job.issue_due_invoices(runtime.billing)
    assert report.issued == ["FLT-2027-000001"]
    again = await grouped_job.issue_due_invoices(runtime.billing)
    assert (again.issued, again.refused, again.failed) == ([], [], [])

    after = await _billing(api, teacher, billing["series_id"])
    [march] = after["documents"]
    assert (march["period"], march["sessions"], march["due_on"]) == ("mars 2027", 4, "2027-05-01")
    assert march["total_incl_vat_cents"] == 4 * PER_DATE
    assert after["total_incl_vat_cents"] == 5 * PER_DATE  # 4 in March, 1 in April
    content = await _content(api, teacher, march["id"])
    assert content["issued_on"] == "2027-04-01"
    assert "30 mars" not in str([s["text"] for s in content["sessions"]])
    statuses = [row["payment_status"] for row in after["occurrences"]]
    assert statuses == ["invoiced"] * 4 + ["cancelled", "invoiced"]

    # Mailed after commit, with its PDF: the period and its sessions, not one booking.
    await dispatched(runtime)
    [mail] = await messages_to(database, teacher.email, "invoice_issued")
    body = text_of(mail)
    assert "la facture n° FLT-2027-000001 d'un montant de 433,20" in body
    assert "Période : mars 2027" in body
    assert f"Bon de commande : {PO}" in body
    assert "- mardi 23 mars 2027, 14:00\u201316:00" in body
    assert "Réservation :" not in body

    clock.now = paris(2027, 5, 1, 0, 23)
    assert (await grouped_job.issue_due_invoices(runtime.billing)).issued == ["FLT-2027-000002"]
    assert len(await _documents(database, lab.place_id)) == 2
    await _intact(database, lab.place_id)


async def test_per_booking_at_each_session_issues_on_the_session_day(
    api: Client,
    lab: PricedLab,
    school: int,
    teacher: Person,
    clock: MutableClock,
    runtime: Runtime,
) -> None:
    await _grouping(api, lab, "booking", "period_start")
    billing = await _term(api, lab, school, teacher)
    assert billing["documents"] == []
    clock.now = paris(2027, 3, 2, 0, 23)
    assert (await grouped_job.issue_due_invoices(runtime.billing)).issued == ["FLT-2027-000001"]
    after = await _billing(api, teacher, billing["series_id"])
    [first] = after["documents"]
    assert (first["period"], first["sessions"], first["due_on"]) == (
        "mardi 2 mars 2027",
        1,
        "2027-04-01",
    )
    assert after["occurrences"][0]["documents"][0]["id"] == first["id"]
    assert all(row["documents"] == [] for row in after["occurrences"][1:])


async def test_a_session_cancelled_after_issue_is_credited_alone(
    api: Client, lab: PricedLab, school: int, teacher: Person, database: Database
) -> None:
    await _grouping(api, lab, "month", "at_booking")
    billing = await _term(api, lab, school, teacher)
    march = billing["documents"][0]
    before = await _content(api, teacher, march["id"])
    third = billing["occurrences"][2]
    cancelled = await api.post(
        f"/api/bookings/{third['booking_id']}/cancel", json={}, headers=teacher.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    after = await _billing(api, teacher, billing["series_id"])
    credit = after["documents"][-1]
    assert credit["kind"] == "credit_note"
    assert credit["corrects_id"] == march["id"]
    assert credit["booking_id"] == third["booking_id"]
    assert credit["total_incl_vat_cents"] == PER_DATE  # more than 48 h ahead: 100 %
    content = await _content(api, teacher, credit["id"])
    assert [line["label"] for line in content["lines"]] == [
        "mardi 16 mars 2027, 14:00\u201316:00 — Poste CAO",
        "mardi 16 mars 2027, 14:00\u201316:00 — Salle de cours",
    ]
    assert content["total_vat_cents"] == 530
    assert content["corrects"]["number"] == march["number"]
    # The invoice itself is never edited.
    assert await _content(api, teacher, march["id"]) == before
    assert after["total_incl_vat_cents"] == 5 * PER_DATE
    assert [d["kind"] for d in after["occurrences"][2]["documents"]] == ["invoice", "credit_note"]
    await _intact(database, lab.place_id)


async def _single(
    api: Client, teacher: Person, lab: PricedLab, school: int, start: datetime, po: str
) -> None:
    end = start.replace(hour=start.hour + 2)
    response = await checkout(
        api,
        teacher,
        lab.lab.room,
        start,
        end,
        method="invoice",
        organisation_id=school,
        purchase_order=po,
    )
    assert response.status_code == 201, response.text


async def test_one_invoice_per_purchase_order_and_month(
    api: Client,
    lab: PricedLab,
    school: int,
    teacher: Person,
    database: Database,
    clock: MutableClock,
    runtime: Runtime,
) -> None:
    await _grouping(api, lab, "month", "period_end")
    await _single(api, teacher, lab, school, paris(2027, 3, 2, 10), "BC-A")
    await _single(api, teacher, lab, school, paris(2027, 3, 9, 10), "BC-A")
    await _single(api, teacher, lab, school, paris(2027, 3, 9, 14), "BC-B")
    await _single(api, teacher, lab, school, paris(2027, 4, 6, 10), "BC-A")
    clock.now = paris(2027, 4, 1, 1)
    report = await grouped_job.issue_due_invoices(runtime.billing)
    assert len(report.issued) == 2
    documents = await _documents(database, lab.place_id)
    assert sorted(
        (d.content["payment"]["purchase_order"], len(d.content["sessions"]), d.total_incl_vat_cents)
        for d in documents
    ) == [("BC-A", 2, 2 * 5000), ("BC-B", 1, 5000)]
    await _intact(database, lab.place_id)


async def test_grouping_vat_invoices_needs_the_seller_vat_number(
    api: Client, lab: PricedLab
) -> None:
    response = await _settings(
        api, lab, seller_vat_number=None, invoice_period="month", invoice_issue="at_booking"
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "seller_vat_number_required"
    assert [e["field"] for e in problem["errors"]] == ["seller_vat_number"]
    # Per booking as before, the place keeps its settings as they were.
    kept = await api.get(
        f"/api/places/{lab.place_id}/billing-settings", headers=lab.manager.headers
    )
    assert kept.json()["invoice_period"] == "booking"


async def test_bad_settings_are_a_422_naming_the_field(api: Client, lab: PricedLab) -> None:
    response = await _settings(api, lab, invoice_period="week")
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["invoice_period"]


async def test_no_vat_invoice_is_issued_without_the_number(
    api: Client,
    admin_headers: dict[str, str],
    database: Database,
    runtime: Runtime,
    clock: MutableClock,
) -> None:
    fablab = await make_fablab(api, admin_headers)
    manager = await make_user(database, "manager2@fablab.test", manages=(fablab.place_id,))
    school = await make_organisation(database, "Lycée Kerraoul")
    teacher = await make_user(
        database, "prof2@college.test", organisation_roles=((school, "booker"),)
    )
    room = {
        "resource_id": fablab.room,
        "vat": {"kind": "exempt"},
        "rates": [{"user_type": "*", "hourly_cents": 2500}],
    }
    response = await api.put(
        f"/api/places/{fablab.place_id}/price-lists", json=room, headers=manager.headers
    )
    assert response.status_code == 200, response.text
    # Nothing charges VAT yet: grouping needs no VAT number.
    response = await api.put(
        f"/api/places/{fablab.place_id}/billing-settings",
        json=SETTINGS
        | {"seller_vat_number": None, "invoice_period": "month", "invoice_issue": "period_end"},
        headers=manager.headers,
    )
    assert response.status_code == 200, response.text
    # Then the printer is priced with VAT: its invoice waits for the number.
    printer = {"resource_id": fablab.printer, "rates": [{"user_type": "*", "hourly_cents": 1000}]}
    response = await api.put(
        f"/api/places/{fablab.place_id}/price-lists", json=printer, headers=manager.headers
    )
    assert response.status_code == 200, response.text
    booked = await checkout(
        api,
        teacher,
        fablab.printer,
        paris(2027, 3, 2, 10),
        paris(2027, 3, 2, 12),
        method="invoice",
        organisation_id=school,
        purchase_order=PO,
    )
    assert booked.status_code == 201, booked.text
    clock.now = paris(2027, 4, 1, 1)
    report = await grouped_job.issue_due_invoices(runtime.billing)
    assert report.issued == []
    assert report.refused == [f"place {fablab.place_id}: {PO} 2027-03: no VAT number"]
    assert await _documents(database, fablab.place_id) == []


async def test_two_issuers_at_once_issue_each_invoice_once(
    api: Client,
    lab: PricedLab,
    school: int,
    teacher: Person,
    database: Database,
    clock: MutableClock,
    runtime: Runtime,
) -> None:
    await _grouping(api, lab, "month", "period_end")
    await _term(api, lab, school, teacher)
    clock.now = paris(2027, 4, 1, 0, 23)
    first, second = await asyncio.gather(
        grouped_job.issue_due_invoices(runtime.billing),
        grouped_job.issue_due_invoices(runtime.billing),
    )
    assert sorted(first.issued + second.issued) == ["FLT-2027-000001"]
    assert first.failed == second.failed == []
    [march] = await _documents(database, lab.place_id)
    assert len(march.content["sessions"]) == 5
    await _intact(database, lab.place_id)


async def test_a_session_moved_after_issue_is_credited_and_invoiced_on_its_own(
    api: Client, lab: PricedLab, school: int, teacher: Person, database: Database
) -> None:
    await _grouping(api, lab, "month", "at_booking")
    billing = await _term(api, lab, school, teacher)
    march = billing["documents"][0]
    second = billing["occurrences"][1]
    moved = await api.post(
        f"/api/bookings/{second['booking_id']}/reschedule",
        json={"starts_at": "2027-03-10T13:00:00Z", "ends_at": "2027-03-10T15:00:00Z"},
        headers=teacher.headers,
    )
    assert moved.status_code == 200, moved.text
    after = await _billing(api, teacher, billing["series_id"])
    kinds = [(d["kind"], d["corrects_id"], d["total_incl_vat_cents"]) for d in after["documents"]]
    assert kinds == [
        ("invoice", None, 5 * PER_DATE),
        ("invoice", None, PER_DATE),
        ("credit_note", march["id"], PER_DATE),
        ("invoice", None, PER_DATE),
    ]
    own = await _content(api, teacher, after["documents"][3]["id"])
    assert own["booking"]["local_start"] == "2027-03-10 14:00"
    assert after["total_incl_vat_cents"] == 6 * PER_DATE
    await _intact(database, lab.place_id)


async def test_a_session_awaiting_approval_is_invoiced_once_approved(
    api: Client, lab: PricedLab, school: int, teacher: Person, database: Database
) -> None:
    await _grouping(api, lab, "month", "at_booking")
    policies = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"requires_approval": True}]},
        headers=lab.manager.headers,
    )
    assert policies.status_code == 200, policies.text
    response = await checkout(
        api,
        teacher,
        lab.lab.room,
        paris(2027, 3, 2, 10),
        paris(2027, 3, 2, 12),
        method="invoice",
        organisation_id=school,
        purchase_order=PO,
    )
    assert response.status_code == 201, response.text
    booking_id = response.json()["booking"]["id"]
    assert response.json()["booking"]["status"] == "pending_approval"
    assert await _documents(database, lab.place_id) == []
    approved = await api.post(
        f"/api/bookings/{booking_id}/approve", json={}, headers=lab.manager.headers
    )
    assert approved.status_code == 200, approved.text
    [invoice] = await _documents(database, lab.place_id)
    assert invoice.content["period"]["label"] == "mars 2027"
    assert [s["booking_id"] for s in invoice.content["sessions"]] == [booking_id]


async def test_what_an_invoice_bills_is_never_changed_and_tampering_is_found(
    api: Client, lab: PricedLab, school: int, teacher: Person, database: Database
) -> None:
    await _grouping(api, lab, "month", "at_booking")
    billing = await _term(api, lab, school, teacher)
    april = billing["documents"][1]
    with pytest.raises(DBAPIError):
        async with database.engine.begin() as conn:
            await conn.execute(text("UPDATE invoice_line SET total_incl_vat_cents = 1"))
    with pytest.raises(DBAPIError):
        async with database.engine.begin() as conn:
            await conn.execute(text("DELETE FROM invoice_line"))
    await _intact(database, lab.place_id)

    # Someone with the owner's rights moves the April session onto the March invoice.
    async with database.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE invoice_line DISABLE TRIGGER USER"))
        await conn.execute(
            text("UPDATE invoice_line SET document_id = :march WHERE document_id = :april"),
            {"march": billing["documents"][0]["id"], "april": april["id"]},
        )
        await conn.execute(text("ALTER TABLE invoice_line ENABLE TRIGGER USER"))
    async with database.reader() as session:
        findings = await verify_documents(BillingRepository(session), lab.place_id)
    assert [(f.number, f.code) for f in findings] == [
        (billing["documents"][0]["number"], "row_mismatch"),
        (april["number"], "row_mismatch"),
    ]
