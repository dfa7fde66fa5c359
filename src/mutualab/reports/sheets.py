"""Tables written as CSV or XLSX files, every text cell made inert (never a formula).

CSV is RFC 4180 (commas, CRLF) in UTF-8 with a byte-order mark, so spreadsheets read the
accents; XLSX is written by openpyxl, with amounts as numbers in euros and dates as dates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Font

from kernel.spreadsheets import inert

Cell = str | int | Decimal | date | datetime | None
ExportFormat = Literal["csv", "xlsx"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Columns whose name ends so hold euros (two decimals), the others as they are.
EUROS = " (€)"


@dataclass(frozen=True, slots=True)
class Sheet:
    """A named table: its column titles and rows."""

    name: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]


def euros(cents: int | None) -> Decimal | None:
    """Cents as an exact amount in euros (two decimals)."""
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


def hours(minutes: int) -> Decimal:
    """Minutes as hours, to two decimals (half up)."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, str):
        return inert(cell)
    return str(cell)


def csv_bytes(sheet: Sheet) -> bytes:
    """The sheet as CSV, formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([inert(c) for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_text(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode()


def _xlsx_cell(cell: Cell) -> str | int | float | date | datetime | None:
    if isinstance(cell, str):
        return inert(cell)
    if isinstance(cell, Decimal):
        return float(cell)  # openpyxl writes numbers as floats; two decimals survive
    return cell


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as one XLSX workbook, formula-safe, one worksheet each."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        page = book.create_sheet(title=sheet.name[:31])
        page.append([inert(c) for c in sheet.columns])
        for cell in page[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            page.append([_xlsx_cell(cell) for cell in row])
        for index, column in enumerate(sheet.columns, start=1):
            letter = page.cell(row=1, column=index).column_letter
            page.column_dimensions[letter].width = max(12, min(40, len(column) + 2))
            number_format = "#,##0.00" if column.endswith(EUROS) else None
            for (cell,) in page.iter_rows(min_row=2, min_col=index, max_col=index):
                if number_format:
                    cell.number_format = number_format
                elif isinstance(cell.value, datetime):
                    cell.number_format = "dd/mm/yyyy hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "dd/mm/yyyy"
        page.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
