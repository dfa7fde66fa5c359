"""The FEC of a place, from invoices, credit notes, card payments, refunds and desk receipts made
through the real services: the legal format, balanced entries, gap-free numbering per journal,
customers' accounts that settle, and the account numbers the place chose."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Any

import httpx

from billing.fec import COLUMNS
from billing.receipts import Receipts
from kernel.auth.actor import Actor
from kernel.db import Database
from tests.billing.support import PricedLab, checkout, paid_booking
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.apps import runtime_on
from tests.support.booking import MutableClock, paris
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient
SIREN = "732829320"
Row = dict[str, str]


def parse_fec(response: httpx.Response) -> list[Row]:
    """The FEC's lines as dicts, checking the format rules every line must follow."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    text = response.content.decode("iso8859_15")
    assert text.endswith("\r\n")
    lines = text[: -len("\r\n")].split("\r\n")
    assert lines[0].split("\t") == list(COLUMNS)
    assert len(COLUMNS) == 18
    rows: list[Row] = []
    for line in lines[1:]:
        cells = line.split("\t")
        assert len(cells) == 18, line
        row = dict(zip(COLUMNS, cells, strict=True))
        for name in ("EcritureDate", "PieceDate", "ValidDate"):
            assert re.fullmatch(r"20[0-9]{2}[01][0-9][0-3][0-9]", row[name]), (name, line)
            date(int(row[name][:4]), int(row[name][4:6]), int(row[name][6:]))
        for name in ("Debit", "Credit"):
            assert re.fullmatch(r"(0|[1-9][0-9]*),[0-9]{2}", row[name]), (name, line)
        assert (cents(row["Debit"]) == 0) != (cents(row["Credit"]) == 0), line
        for name in ("JournalCode", "JournalLib", "EcritureNum", "CompteNum", "CompteLib"):
            assert row[name], (name, line)
        assert row["PieceRef"] and row["EcritureLib"], line
        assert row["EcritureLet"] == row["DateLet"] == ""
        assert row["Montantdevise"] == row["Idevise"] == ""
        rows.append(row)
    return rows


def cents(text: str) -> int:
    """``12,34`` -> 1234."""
    euros, rest = text.split(",")
    return int(euros) * 100 + int(rest)


def check_balanced(rows: list[Row]) -> dict[str, list[str]]:
    """Debits equal credits per entry and per journal; entries numbered 1..n per journal in
    date order. Returns the entry numbers per journal."""
    entries: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    journals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    order: dict[str, list[str]] = defaultdict(list)
    dates: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row["JournalCode"], row["EcritureNum"])
        entries[key][0] += cents(row["Debit"])
        entries[key][1] += cents(row["Credit"])
        journals[row["JournalCode"]][0] += cents(row["Debit"])
        journals[row["JournalCode"]][1] += cents(row["Credit"])
        if not order[row["JournalCode"]] or order[row["JournalCode"]][-1] != row["EcritureNum"]:
            order[row["JournalCode"]].append(row["EcritureNum"])
        # One entry, one date and one piece.
        assert dates.setdefault(key, row["EcritureDate"] + row["PieceRef"]) == (
            row["EcritureDate"] + row["PieceRef"]
        )
    for key, (debit, credit) in entries.items():
        assert debit == credit and debit > 0, key
    for journal, (debit, credit) in journals.items():
        assert debit == credit, journal
    for journal, numbers in order.items():
        assert numbers == [f"{journal}{n:06d}" for n in range(1, len(numbers) + 1)], numbers
        days = [dates[(journal, n)][:8] for n in numbers]
        assert days == sorted(days), journal
    return dict(order)


def balances(rows: list[Row], account: str) -> dict[str, int]:
    """Debit less credit per auxiliary account on ``account``."""
    found: dict[str, int] = defaultdict(int)
    for row in rows:
        if row["CompteNum"] == account:
            assert row["CompAuxNum"] and row["CompAuxLib"], row
            found[row["CompAuxNum"]] += cents(row["Debit"]) - cents(row["Credit"])
    return dict(found)


def lines_of(rows: list[Row], journal: str, account: str) -> list[tuple[int, int]]:
    """(debit, credit) of every line of a journal on an account."""
    return [
        (cents(r["Debit"]), cents(r["Credit"]))
        for r in rows
        if r["JournalCode"] == journal and r["CompteNum"] == account
    ]


async def _desk_receipts(
    database: Database, clock: MutableClock, lab: PricedLab, payment_id: int
) -> None:
    """A cheque and cash at the desk, the cash reversed as a mistake, then cash again."""
    manager = Actor(
        user_id=lab.manager.user_id, managed_place_ids=frozenset({lab.place_id}), via="session"
    )
    async with runtime_on(database, clock) as runtime:
        for step in ("cheque", "cash", "reverse", "cash"):
            async with database.writer() as session, session.begin():
                receipts = Receipts(runtime.billing.services(session))
                if step == "reverse":
                    cash = [r for r in await receipts.of_payment(payment_id) if r.means == "cash"]
                    await receipts.reverse(manager, payment_id, cash[0].id, "erreur", clock())
                    continue
                await receipts.receive(
                    manager,
                    payment_id,
                    amount_cents=500 if step == "cheque" else 490,
                    means=step,
                    reference="CHQ 1234567" if step == "cheque" else "",
                    received_on=clock().date(),
                    now=clock(),
                )


async def _cancel(api: Client, person: Person, booking_id: int) -> None:
    response = await api.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=person.headers)
    assert response.status_code == 200, response.text


async def _fec(api: Client, lab: PricedLab, year: int) -> httpx.Response:
    return await api.get(f"/api/places/{lab.place_id}/fec?year={year}", headers=lab.manager.headers)


async def _activity(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock, peer: LocalStripe
) -> dict[str, Any]:
    ana = await make_user(database, "ana@example.fr")
    bob = await make_user(database, "bob@example.fr")
    carl = await make_user(database, "carl@example.fr")
    printer, seats, room = lab.lab.printer, lab.lab.seats, lab.lab.room
    await paid_booking(api, peer, ana, printer)  # 24 EUR by card
    cancelled = await paid_booking(
        api, peer, ana, printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 16)
    )
    await _cancel(api, ana, cancelled["booking"]["id"])  # 50 %: a 12 EUR credit note and refund
    on_site = await checkout(
        api, bob, printer, paris(2027, 3, 3, 10), paris(2027, 3, 3, 11), method="on_site"
    )
    assert on_site.status_code == 201, on_site.text
    recorded = await api.post(
        f"/api/payments/{on_site.json()['payment']['id']}/record",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert recorded.status_code == 200, recorded.text
    desk = await checkout(
        api, carl, [(seats, 2)], paris(2027, 3, 4, 10), paris(2027, 3, 4, 11), method="on_site"
    )
    assert desk.status_code == 201, desk.text
    assert desk.json()["payment"]["amount_cents"] == 990  # 2 seats x 2 EUR + 5 EUR, 10 % VAT
    await _desk_receipts(database, clock, lab, desk.json()["payment"]["id"])
    company = await make_organisation(
        database, "Atelier Bois SARL", user_type="company", requires_purchase_order=False
    )
    employee = await make_user(database, "max@atelier.fr", organisation_roles=((company, "admin"),))
    invoiced = await checkout(
        api,
        employee,
        [(printer, 1), (room, 1)],
        paris(2027, 3, 9, 10),
        paris(2027, 3, 9, 12),
        method="invoice",
        organisation_id=company,
    )
    assert invoiced.status_code == 201, invoiced.text
    listed = await api.get(
        f"/api/places/{lab.place_id}/invoices?limit=50", headers=lab.manager.headers
    )
    return {"company": company, "documents": listed.json()["items"]}


async def test_the_fec_books_every_document_and_payment_balanced(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_peer: LocalStripe,
) -> None:
    made = await _activity(api, lab, database, clock, stripe_peer)
    response = await _fec(api, lab, 2027)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{SIREN}FEC20271231.txt"'
    )
    rows = parse_fec(response)
    numbers = check_balanced(rows)
    assert set(numbers) == {"VE", "BQ", "CA", "CH"}

    # The sales journal: one entry per invoice and credit note, on the customer's account.
    documents = made["documents"]
    assert len(numbers["VE"]) == len(documents) == 8
    sales = [r for r in rows if r["JournalCode"] == "VE"]
    assert {r["PieceRef"] for r in sales} == {d["number"] for d in documents}
    for document in documents:
        customer = [
            r for r in sales if r["PieceRef"] == document["number"] and r["CompteNum"] == "411"
        ]
        side = "Debit" if document["kind"] == "invoice" else "Credit"
        assert [cents(r[side]) for r in customer] == [document["total_incl_vat_cents"]]
    # Sales at 20 % and 10 % VAT and exempt ones; VAT collected per rate.
    assert {r["CompteNum"] for r in sales} == {"411", "706", "445710", "445712"}
    assert {r["CompteLib"] for r in sales if r["CompteNum"] == "706"} >= {
        "Prestations de services TVA 20 %",
        "Prestations de services TVA 10 %",
        "Prestations de services sans TVA",
    }

    # Receipts journals: the bank for the card (and its refund), cash, cheques.
    assert sorted(lines_of(rows, "BQ", "512")) == [(0, 1200), (2400, 0), (2400, 0)]
    assert sorted(lines_of(rows, "CA", "530")) == [(0, 490), (490, 0), (490, 0), (1200, 0)]
    assert lines_of(rows, "CH", "5112") == [(500, 0)]
    cheque = next(r for r in rows if r["JournalCode"] == "CH" and r["CompteNum"] == "411")
    assert cheque["PieceRef"] == "CHQ 1234567" and cheque["EcritureDate"] == "20270301"

    # Every customer who paid is settled; the company owes its invoice.
    owed = balances(rows, "411")
    company = f"O{made['company']:06d}"
    company_invoice = next(d for d in documents if d["client"] == "Atelier Bois SARL")
    assert owed.pop(company) == company_invoice["total_incl_vat_cents"]
    assert len(owed) == 3 and set(owed.values()) == {0}


async def test_the_place_chooses_its_accounts_and_fiscal_year(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_peer: LocalStripe,
) -> None:
    url = f"/api/places/{lab.place_id}/accounting"
    defaults = await api.get(url, headers=lab.manager.headers)
    assert defaults.status_code == 200, defaults.text
    assert defaults.json()["accounts"]["cheque"] == "5112"
    assert defaults.json()["vat_rates"]["20.00"] == "445710"
    bad = await api.put(url, json={"accounts": {"sales": "vente"}}, headers=lab.manager.headers)
    assert bad.status_code == 422 and "accounts" in bad.text
    chosen = await api.put(
        url,
        json={
            "fiscal_year_start_month": 7,
            "accounts": {"sales": "706100", "bank": "512100", "customers": "411000"},
            "vat_rates": {"20.00": "44571020"},
        },
        headers=lab.manager.headers,
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["accounts"]["cash"] == "530"  # the defaults fill the rest
    ana = await make_user(database, "ana@example.fr")
    await paid_booking(api, stripe_peer, ana, lab.lab.printer)

    # The fiscal year 2026 runs from July 2026 to June 2027: March 2027 is in it.
    response = await _fec(api, lab, 2026)
    assert f"{SIREN}FEC20270630.txt" in response.headers["content-disposition"]
    rows = parse_fec(response)
    check_balanced(rows)
    assert {(r["JournalCode"], r["CompteNum"]) for r in rows} == {
        ("VE", "411000"),
        ("VE", "706100"),
        ("VE", "44571020"),
        ("BQ", "512100"),
        ("BQ", "411000"),
    }
    assert parse_fec(await _fec(api, lab, 2027)) == []

    # Another place's manager sees none of it.
    other = await make_user(database, "other@fablab.test", manages=())
    assert (await api.get(url, headers=other.headers)).status_code == 403
