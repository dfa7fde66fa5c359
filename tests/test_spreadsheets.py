"""Cells that a spreadsheet would run as a formula are made inert; numbers and text stay."""

from __future__ import annotations

import pytest

from kernel.spreadsheets import inert


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+1+cmd", "-1+cmd", "@SUM(A1)", "\t=1+1", "\r=1+1", "=", "-", "+33 2 96", "--1"],
)
def test_formulas_get_a_leading_apostrophe(cell: str) -> None:
    assert inert(cell) == "'" + cell


@pytest.mark.parametrize(
    "cell", ["", "Fablab", "1+1", "a=b", "'=déjà", "-3.4566", "+33296460000", "12", "0.5"]
)
def test_numbers_and_ordinary_text_stay_as_they_are(cell: str) -> None:
    assert inert(cell) == cell
