"""Cells of the files we export for spreadsheets: text that cannot run as a formula.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or a carriage return, which some
spreadsheets skip before reading one of those) is a formula to Excel and LibreOffice: a place's
description could make the computer of whoever opens the export fetch an address or run a
command. Such cells get a leading apostrophe, which spreadsheets show as text (OWASP's advice).
Plain numbers stay as they are, a negative longitude or an international phone number too.
(defusedcsv does the same for ``writerow`` but leaves tabs and carriage returns, and turns
``+33...`` phone numbers into text, which breaks the open-data schema's pattern.)
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def inert(cell: str) -> str:
    """``cell``, made sure not to be read as a formula."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell
