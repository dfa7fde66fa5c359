"""The pure part of grouped invoices: periods, issue days, due days and French wording."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.invoice_periods import (
    decimal_text,
    due_day,
    french_date,
    grouped,
    hours_text,
    issue_day,
    period_of,
    session_text,
)

PARIS = ZoneInfo("Europe/Paris")


def test_a_month_runs_from_its_first_to_its_last_day() -> None:
    february = period_of("month", date(2027, 2, 16))
    assert (february.key, february.first, february.last) == (
        "2027-02",
        date(2027, 2, 1),
        date(2027, 2, 28),
    )
    assert february.label == "février 2027"
    december = period_of("month", date(2026, 12, 31))
    assert (december.first, december.last) == (date(2026, 12, 1), date(2026, 12, 31))


def test_a_quarter_is_a_trimestre_of_the_calendar() -> None:
    second = period_of("quarter", date(2027, 5, 4))
    assert (second.key, second.first, second.last) == (
        "2027-T2",
        date(2027, 4, 1),
        date(2027, 6, 30),
    )
    assert second.label == "2e trimestre 2027 (avril à juin)"
    assert period_of("quarter", date(2027, 12, 1)).last == date(2027, 12, 31)


def test_per_booking_the_period_is_the_session_day() -> None:
    day = period_of("booking", date(2027, 3, 2))
    assert (day.first, day.last, day.label) == (
        date(2027, 3, 2),
        date(2027, 3, 2),
        "mardi 2 mars 2027",
    )


@pytest.mark.parametrize(
    ("rule", "booked_on", "expected"),
    [
        ("at_booking", date(2026, 12, 4), date(2026, 12, 4)),
        ("period_start", date(2026, 12, 4), date(2027, 3, 1)),
        ("period_end", date(2026, 12, 4), date(2027, 4, 1)),
        # Booked during its period: never issued before it is booked.
        ("period_start", date(2027, 3, 10), date(2027, 3, 10)),
        ("period_end", date(2027, 4, 5), date(2027, 4, 5)),
    ],
)
def test_the_issue_day_follows_the_rule(rule: str, booked_on: date, expected: date) -> None:
    march = period_of("month", date(2027, 3, 9))
    assert issue_day(rule, march, booked_on) == expected


def test_at_each_session_is_the_session_day_per_booking() -> None:
    session = period_of("booking", date(2027, 3, 9))
    assert issue_day("period_start", session, date(2026, 12, 4)) == date(2027, 3, 9)


def test_only_per_booking_at_booking_is_not_grouped() -> None:
    assert not grouped("booking", "at_booking")
    assert grouped("booking", "period_start")
    assert grouped("month", "at_booking")


def test_due_day_counts_the_terms_from_issue() -> None:
    assert due_day(date(2027, 4, 1), 30) == date(2027, 5, 1)
    assert due_day(date(2027, 4, 1), 0) == date(2027, 4, 1)


def test_french_wording() -> None:
    assert french_date(date(2027, 3, 3)) == "mercredi 3 mars 2027"
    start = datetime(2027, 3, 2, 14, tzinfo=PARIS)
    assert session_text(start, start.replace(hour=16)) == "mardi 2 mars 2027, 14:00\u201316:00"
    late = datetime(2027, 3, 2, 22, tzinfo=PARIS)
    assert session_text(late, datetime(2027, 3, 3, 1, tzinfo=PARIS)) == (
        "mardi 2 mars 2027, 22:00\u2013mercredi 3 mars 2027, 01:00"
    )
    assert hours_text(120) == "2 h"
    assert hours_text(90) == "1,5 h"
    assert hours_text(100) == "1,67 h"
    assert decimal_text(Decimal("2")) == "2,00"
    assert decimal_text(Decimal("1.005")) == "1,01"
