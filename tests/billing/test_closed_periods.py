"""Closed periods: a manager closes an ended month, nothing is issued inside it any more
(invoice, credit note: 409 ``period_closed``; grouped invoices wait), the closing is recorded,
and its archive (documents, FEC, chain heads, SHA-256 manifest) is kept, verified by
``mutualab invoices verify``, and an altered byte is caught."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pikepdf
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from billing import grouped_job
from billing.accounting_repository import CLOSING_LOCK
from kernel.db import Database
from tests.billing.support import PricedLab, checkout
from tests.billing.test_fec import check_balanced, parse_fec
from tests.billing.test_invoices import database_url_of
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.apps import runtime_on
from tests.support.booking import FIXED_NOW, MutableClock, paris

Client = httpx.AsyncClient
FEBRUARY = datetime(2027, 2, 10, 8, 0, tzinfo=UTC)  # Wednesday 10 February 2027, 09:00 Paris
LATE_FEBRUARY = datetime(2027, 2, 26, 8, 0, tzinfo=UTC)
FEC_NAME = "732829320FEC20270228.txt"


async def _on_site(api: Client, person: Person, lab: PricedLab, day: int) -> dict[str, Any]:
    start = paris(2027, 3, day, 10)
    response = await checkout(
        api, person, lab.lab.printer, start, start.replace(hour=11), method="on_site"
    )
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()["payment"]
    return payment


async def _record(api: Client, lab: PricedLab, payment_id: int) -> httpx.Response:
    return await api.post(
        f"/api/payments/{payment_id}/record", json={"means": "cash"}, headers=lab.manager.headers
    )


async def _close(api: Client, lab: PricedLab, kind: str, period: str) -> httpx.Response:
    return await api.post(
        f"/api/places/{lab.place_id}/closed-periods",
        json={"kind": kind, "period": period},
        headers=lab.manager.headers,
    )


async def _documents(api: Client, lab: PricedLab) -> list[dict[str, Any]]:
    listed = await api.get(
        f"/api/places/{lab.place_id}/invoices?limit=50", headers=lab.manager.headers
    )
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def _verify(url: str, *archives: Path) -> subprocess.CompletedProcess[str]:
    options = [item for path in archives for item in ("--archive", str(path))]
    return subprocess.run(
        [sys.executable, "-m", "mutualab", "invoices", "verify", *options],
        env={**os.environ, "MUTUALAB_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_a_closed_month_refuses_a_back_dated_invoice_and_credit_note(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    clock.now = FEBRUARY
    paid = await _on_site(api, ana, lab, 5)
    assert (await _record(api, lab, paid["id"])).status_code == 200  # invoiced on 10 February
    due = await _on_site(api, bob, lab, 6)

    clock.now = FIXED_NOW  # 1 March
    current = await _close(api, lab, "month", "2027-03")
    assert current.status_code == 409 and current.json()["code"] == "period_not_ended"
    malformed = await _close(api, lab, "month", "2027-13")
    assert malformed.status_code == 422, malformed.text
    assert "period" in malformed.text
    closed = await _close(api, lab, "month", "2027-02")
    assert closed.status_code == 201, closed.text
    body = closed.json()
    assert (body["kind"], body["period"], body["first_day"], body["last_day"]) == (
        "month",
        "2027-02",
        "2027-02-01",
        "2027-02-28",
    )
    assert body["closed_by_user_id"] == lab.manager.user_id
    assert body["closed_at"] == "2027-03-01T08:00:00Z"
    again = await _close(api, lab, "month", "2027-02")
    assert again.status_code == 409 and again.json()["code"] == "period_already_closed"
    listed = await api.get(
        f"/api/places/{lab.place_id}/closed-periods", headers=lab.manager.headers
    )
    assert [p["period"] for p in listed.json()] == ["2027-02"]

    # An invoice dated in the closed month (the clock set back to February) is refused, and
    # nothing changed: the payment is still due.
    clock.now = LATE_FEBRUARY
    refused = await _record(api, lab, due["id"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "period_closed"
    assert refused.json()["period"] == "2027-02"
    payment = await api.get(f"/api/payments/{due['id']}", headers=bob.headers)
    assert payment.json()["status"] == "awaiting_on_site"
    # So is a credit note: cancelling the invoiced booking would credit it in February.
    cancelled = await api.post(
        f"/api/bookings/{paid['booking_id']}/cancel", json={}, headers=ana.headers
    )
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "period_closed"
    booking = await api.get(f"/api/bookings/{paid['booking_id']}", headers=ana.headers)
    assert booking.json()["status"] == "confirmed"
    assert [d["number"] for d in await _documents(api, lab)] == ["FLT-2027-000001"]

    # In March, the next number follows.
    clock.now = FIXED_NOW
    recorded = await _record(api, lab, due["id"])
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["documents"][0]["number"] == "FLT-2027-000002"
    # A fiscal year holding the closed month may still be closed once it has ended.
    assert (await _close(api, lab, "year", "2027")).json()["code"] == "period_not_ended"


async def test_the_archive_is_verified_and_an_altered_byte_is_caught(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock, tmp_path: Path
) -> None:
    ana = await make_user(database, "ana@example.fr")
    clock.now = FEBRUARY
    for day in (5, 6):
        payment = await _on_site(api, ana, lab, day)
        assert (await _record(api, lab, payment["id"])).status_code == 200
    clock.now = FIXED_NOW
    closed = (await _close(api, lab, "month", "2027-02")).json()
    response = await api.get(closed["archive_url"], headers=lab.manager.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert closed["archive_name"] in response.headers["content-disposition"]
    data = response.content
    assert hashlib.sha256(data).hexdigest() == closed["archive_sha256"]
    assert len(data) == closed["archive_size"]

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert set(files) == {
        "documents/FLT-2027-000001.pdf",
        "documents/FLT-2027-000002.pdf",
        FEC_NAME,
        "chaine.json",
        "SHA256SUMS",
    }
    for number in ("FLT-2027-000001", "FLT-2027-000002"):
        # Each document is its Factur-X: the PDF carries its EN 16931 XML.
        with pikepdf.open(io.BytesIO(files[f"documents/{number}.pdf"])) as pdf:
            assert pdf.attachments.keys() == {"factur-x.xml"}
            xml = pdf.attachments["factur-x.xml"].get_file().read_bytes()
        assert f"<ram:ID>{number}</ram:ID>".encode() in xml
    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    for name, expected in sums.items():
        assert hashlib.sha256(files[name]).hexdigest() == expected
    fec = parse_fec(
        httpx.Response(200, content=files[FEC_NAME], headers={"content-type": "text/plain"})
    )
    assert check_balanced(fec) == {
        "VE": ["VE000001", "VE000002"],
        "CA": ["CA000001", "CA000002"],
    }
    documents = await _documents(api, lab)
    last = next(d for d in documents if d["number"] == "FLT-2027-000002")
    read = await api.get(f"/api/invoices/{last['id']}", headers=lab.manager.headers)
    chain = json.loads(files["chaine.json"])
    [invoices] = [s for s in chain["series"] if s["kind"] == "invoice"]
    assert invoices["last_number_in_period"] == "FLT-2027-000002"
    assert invoices["last_hash_in_period"] == read.json()["hash"] == invoices["head_hash"]

    url = database_url_of(database)
    intact = _verify(url)
    assert intact.returncode == 0, intact.stderr
    downloaded = tmp_path / closed["archive_name"]
    downloaded.write_bytes(data)
    assert _verify(url, downloaded).returncode == 0

    # One byte of the FEC changed in a downloaded copy, the ZIP otherwise well formed.
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as archive:
        for name, content in files.items():
            if name == FEC_NAME:
                at = content.index(b"12,00")  # 12 EUR become 92 EUR
                content = content[:at] + b"9" + content[at + 1 :]
            archive.writestr(name, content)
    altered = tmp_path / "altered.zip"
    altered.write_bytes(forged.getvalue())
    caught = _verify(url, altered)
    assert caught.returncode == 1
    assert "file_altered" in caught.stderr and FEC_NAME in caught.stderr
    assert "FLT-2027-000001.pdf" not in caught.stderr

    # The kept archive cannot be changed...
    with pytest.raises(DBAPIError):
        async with database.engine.begin() as conn:
            await conn.execute(text("UPDATE closed_period SET archive_name = 'x'"))
    # ...unless someone with the owner's rights lifts the trigger and flips one byte.
    async with database.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE closed_period DISABLE TRIGGER USER"))
        await conn.execute(
            text(
                "UPDATE closed_period SET archive = set_byte(archive, length(archive) / 3, "
                "get_byte(archive, length(archive) / 3) # 1)"
            )
        )
        await conn.execute(text("ALTER TABLE closed_period ENABLE TRIGGER USER"))
    tampered = _verify(url)
    assert tampered.returncode == 1
    assert closed["archive_name"] in tampered.stderr
    assert "archive_altered" in tampered.stderr


async def test_grouped_invoices_wait_while_their_day_is_in_a_closed_month(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    school = await make_organisation(database, "Collège Le Goffic")
    teacher = await make_user(
        database, "prof@college.test", organisation_roles=((school, "booker"),)
    )
    settings = await api.put(
        f"/api/places/{lab.place_id}/billing-settings",
        json={
            "invoice_prefix": "FLT",
            "seller_vat_number": "FR40732829320",
            "payment_methods": {"school": ["invoice"], "*": ["card"]},
            "refund_tiers": [{"hours": 48, "percent": 100}],
            # One invoice per session, issued on its day by the hourly job.
            "invoice_period": "booking",
            "invoice_issue": "period_start",
        },
        headers=lab.manager.headers,
    )
    assert settings.status_code == 200, settings.text
    clock.now = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
    body = {
        "items": [{"resource_id": lab.lab.seats, "quantity": 12}],
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270216",
        "first_date": "2027-02-09",
        "start_time": "14:00",
        "duration_minutes": 120,
        "organisation_id": school,
    }
    quote = await api.post("/api/series/quote", json=body, headers=teacher.headers)
    assert quote.status_code == 200, quote.text
    booked = await api.post(
        "/api/series/checkout",
        json=body
        | {
            "method": "invoice",
            "purchase_order": "BC-7",
            "quote_fingerprint": quote.json()["fingerprint"],
        },
        headers=teacher.headers,
    )
    assert booked.status_code == 201, booked.text
    assert await _documents(api, lab) == []  # each waits for its session's day

    clock.now = FIXED_NOW
    assert (await _close(api, lab, "month", "2027-02")).status_code == 201
    async with runtime_on(database, clock) as runtime:
        # The job's clock set back into February: the place is skipped, nothing is issued.
        clock.now = LATE_FEBRUARY
        report = await grouped_job.issue_due_invoices(runtime.billing)
        assert (report.issued, report.failed) == ([], [lab.place_id])
        assert await _documents(api, lab) == []
        # On 1 March they are issued, dated that day.
        clock.now = FIXED_NOW
        report = await grouped_job.issue_due_invoices(runtime.billing)
    assert report.issued == ["FLT-2027-000001", "FLT-2027-000002"]


async def test_an_issue_under_way_is_waited_for_and_one_after_a_closing_is_refused(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    bob = await make_user(database, "bob@example.fr")
    clock.now = FEBRUARY
    due = await _on_site(api, bob, lab, 6)
    clock.now = FIXED_NOW
    # An issue under way at the place (its transaction holds the closing lock shared): the
    # closing waits for it to end.
    async with database.writer() as session, session.begin():
        await session.execute(
            text("SELECT pg_advisory_xact_lock_shared(:k, :p)"),
            {"k": CLOSING_LOCK, "p": lab.place_id},
        )
        closing = asyncio.create_task(_close(api, lab, "month", "2027-02"))
        await asyncio.sleep(0.5)
        assert not closing.done()
    assert (await closing).status_code == 201

    # A closing under way (the lock held alone, its row written): an issue dated in the period
    # waits for it, then sees the closed period and is refused.
    clock.now = datetime(2027, 3, 31, 8, 0, tzinfo=UTC)
    async with database.writer() as session, session.begin():
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:k, :p)"), {"k": CLOSING_LOCK, "p": lab.place_id}
        )
        await session.execute(
            text(
                "INSERT INTO closed_period (place_id, kind, first_day, last_day, closed_at, "
                "archive_name, archive, archive_sha256) VALUES (:p, 'month', '2027-03-01', "
                "'2027-03-31', now(), 'mars.zip', '\\x00', :h)"
            ),
            {"p": lab.place_id, "h": "0" * 64},
        )
        recording = asyncio.create_task(_record(api, lab, due["id"]))
        await asyncio.sleep(0.5)
        assert not recording.done()
    refused = await recording
    assert refused.status_code == 409 and refused.json()["period"] == "2027-03", refused.text
