"""Accounting periods of a place: calendar months and fiscal years (no I/O).

A fiscal year starts on the first day of the place's start month (January by default) and is
named by the calendar year it starts in: with a July start, ``2026`` runs from 1 July 2026 to
30 June 2027. A month is a calendar month, ``2027-03``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("month", "year")
_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_YEAR_RE = re.compile(r"[0-9]{4}")
MIN_YEAR = 2000
MAX_YEAR = 2999


@dataclass(frozen=True, slots=True)
class AccountingPeriod:
    """A month or a fiscal year: its first and last days, both included."""

    kind: str
    first: date
    last: date

    @property
    def key(self) -> str:
        """``2027-03`` for a month, ``2027`` for a fiscal year (the year it starts in)."""
        return f"{self.first:%Y-%m}" if self.kind == "month" else f"{self.first:%Y}"

    def holds(self, day: date) -> bool:
        """Whether ``day`` falls inside the period."""
        return self.first <= day <= self.last

    def covers(self, other: AccountingPeriod) -> bool:
        """Whether every day of ``other`` falls inside this period."""
        return self.first <= other.first and other.last <= self.last


def _month_end(year: int, month: int) -> date:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def month(year: int, number: int) -> AccountingPeriod:
    """The calendar month ``number`` of ``year``."""
    return AccountingPeriod("month", date(year, number, 1), _month_end(year, number))


def fiscal_year(year: int, start_month: int = 1) -> AccountingPeriod:
    """The fiscal year that starts in ``year`` on the first of ``start_month``."""
    if not 1 <= start_month <= 12:
        raise ValueError(f"a fiscal year starts in month 1..12, got {start_month}")
    first = date(year, start_month, 1)
    last_year, last_month = (year, 12) if start_month == 1 else (year + 1, start_month - 1)
    return AccountingPeriod("year", first, _month_end(last_year, last_month))


def fiscal_year_of(day: date, start_month: int = 1) -> AccountingPeriod:
    """The fiscal year ``day`` belongs to."""
    year = day.year if day.month >= start_month else day.year - 1
    return fiscal_year(year, start_month)


def parse(kind: str, key: str, start_month: int = 1) -> AccountingPeriod:
    """A period from its kind and key; ValueError when the key is not one."""
    if kind == "month":
        found = _MONTH_RE.fullmatch(key)
        if found is None or not MIN_YEAR <= int(found[1]) <= MAX_YEAR:
            raise ValueError("a month is written YYYY-MM")
        return month(int(found[1]), int(found[2]))
    if kind == "year":
        if _YEAR_RE.fullmatch(key) is None or not MIN_YEAR <= int(key) <= MAX_YEAR:
            raise ValueError("a fiscal year is written YYYY (the year it starts in)")
        return fiscal_year(int(key), start_month)
    raise ValueError(f"a period is one of {', '.join(KINDS)}")
