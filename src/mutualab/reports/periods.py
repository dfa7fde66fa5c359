"""The periods statistics are counted over: a month, a quarter or a year of local dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from kernel.errors import InvalidInputError

PeriodKind = Literal["month", "quarter", "year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("month", "quarter", "year")
_FORMS = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
}
_EXAMPLES = {"month": "2027-03", "quarter": "2027-Q1", "year": "2027"}


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates ``[start, end)`` of one month, quarter or year, and how it is written."""

    kind: PeriodKind
    start: date
    end: date

    @property
    def key(self) -> str:
        """``2027-03``, ``2027-Q1`` or ``2027``: what ``parse`` reads back."""
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        return _span(self.kind, _add_months(self.start, -months), months)

    def following(self) -> Period:
        """The period of the same kind just after this one."""
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        return _span(self.kind, self.end, months)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _span(kind: PeriodKind, start: date, months: int) -> Period:
    return Period(kind, start, _add_months(start, months))


def containing(kind: PeriodKind, day: date) -> Period:
    """The period of ``kind`` that holds ``day``."""
    if kind == "month":
        return _span(kind, date(day.year, day.month, 1), 1)
    if kind == "quarter":
        return _span(kind, date(day.year, (day.month - 1) // 3 * 3 + 1, 1), 3)
    return _span(kind, date(day.year, 1, 1), 12)


def parse(kind: str, value: str, *, field: str = "at") -> Period:
    """The period ``value`` names (``2027-03``, ``2027-Q1``, ``2027``); 422 naming ``field``."""
    if kind not in _FORMS:
        raise InvalidInputError(
            "The period is month, quarter or year.", field="period", code="invalid_period"
        )
    match = _FORMS[kind].match(value.strip())
    year = int(match.group(1)) if match else 0
    if match is None or not 2000 <= year <= 2100:
        raise InvalidInputError(
            f"Expected a {kind} written like {_EXAMPLES[kind]}.", field=field, code="invalid_period"
        )
    if kind == "month":
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise InvalidInputError(
                "The month is between 01 and 12.", field=field, code="invalid_period"
            )
        return containing("month", date(year, month, 1))
    if kind == "quarter":
        return containing("quarter", date(year, (int(match.group(2)) - 1) * 3 + 1, 1))
    return containing("year", date(year, 1, 1))
