"""Grouped invoices, the pure part: billing periods, when a period's invoice is issued, and the
French wording of its lines (no I/O, tested in milliseconds).

A place invoices the bookings paid on invoice per booking (as before), per calendar month of
sessions, or per quarter ("trimestre"); and issues each invoice at booking, on the first day of
its period, or on the day after its period ends. With one invoice per booking, the "period" is
the session's day: issuing on its first day is issuing at each session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class InvoicePeriod(StrEnum):
    """What one invoice covers (for one buyer and one purchase order)."""

    BOOKING = "booking"
    MONTH = "month"
    QUARTER = "quarter"


class InvoiceIssue(StrEnum):
    """When the invoice of a period is issued."""

    AT_BOOKING = "at_booking"
    PERIOD_START = "period_start"
    PERIOD_END = "period_end"


MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
QUARTERS = ("1er", "2e", "3e", "4e")
EN_DASH = "\u2013"


@dataclass(frozen=True, slots=True)
class Period:
    """A billing period: its key (sealed on the invoice), its days and its French name."""

    key: str
    first: date
    last: date
    label: str


def grouped(period: str, issue: str) -> bool:
    """Whether invoices of bookings paid on invoice wait for the grouped issue (not today's
    one invoice per booking, issued at booking)."""
    return not (period == InvoicePeriod.BOOKING and issue == InvoiceIssue.AT_BOOKING)


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def period_of(period: str, session_day: date) -> Period:
    """The period a session held on ``session_day`` (local) is billed in."""
    kind = InvoicePeriod(period)
    year, month = session_day.year, session_day.month
    if kind is InvoicePeriod.MONTH:
        return Period(
            f"{year}-{month:02d}",
            date(year, month, 1),
            _month_end(year, month),
            f"{MONTHS[month - 1]} {year}",
        )
    if kind is InvoicePeriod.QUARTER:
        quarter = (month - 1) // 3
        first_month = quarter * 3 + 1
        return Period(
            f"{year}-T{quarter + 1}",
            date(year, first_month, 1),
            _month_end(year, first_month + 2),
            f"{QUARTERS[quarter]} trimestre {year} "
            f"({MONTHS[first_month - 1]} à {MONTHS[first_month + 1]})",
        )
    return Period(session_day.isoformat(), session_day, session_day, french_date(session_day))


def issue_day(issue: str, period: Period, booked_on: date) -> date:
    """The local day a period's invoice is issued; never before the booking is made."""
    rule = InvoiceIssue(issue)
    if rule is InvoiceIssue.AT_BOOKING:
        return booked_on
    day = period.first if rule is InvoiceIssue.PERIOD_START else period.last + timedelta(days=1)
    return max(day, booked_on)


def due_day(issued_on: date, payment_terms_days: int) -> date:
    """The due date: the payment terms counted from the issue date."""
    return issued_on + timedelta(days=payment_terms_days)


def french_date(day: date) -> str:
    """``mardi 3 mars 2027``."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def session_text(local_start: datetime, local_end: datetime) -> str:
    """``mardi 3 mars 2027, 14:00\u201316:00`` (a session over midnight names its end day too)."""
    end = f"{local_end:%H:%M}"
    if local_end.date() != local_start.date():
        end = f"{french_date(local_end.date())}, {end}"
    return f"{french_date(local_start.date())}, {local_start:%H:%M}{EN_DASH}{end}"


def decimal_text(value: Decimal, places: int = 2) -> str:
    """``Decimal("2")`` -> ``2,00`` (comma decimals, rounded half up)."""
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_UP):f}".replace(".", ",")


def hours_text(minutes: int) -> str:
    """``120`` -> ``2 h``; ``90`` -> ``1,5 h``; ``100`` -> ``1,67 h``."""
    value = (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value.normalize():f}".replace(".", ",") + " h"
