"""The dates of a publication, pure: the n-th weekday of each month, in the place's local time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from resources.hours import local_to_utc


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` (1-4) ``weekday`` (0 = Monday) of a month: it always exists."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def monthly(first_month: date, weekday: int, nth: int, count: int) -> list[date]:
    """The ``nth`` ``weekday`` of ``count`` months from ``first_month``'s month on."""
    days = []
    year, month = first_month.year, first_month.month
    for _ in range(count):
        days.append(nth_weekday(year, month, weekday, nth))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def local_span(day: date, starts: time, ends: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``day`` from ``starts`` to ``ends`` in ``tz``, as UTC instants (a DST day keeps its wall
    hours: 10:00-12:00 is two hours of wall clock, whatever the offset)."""
    return (
        local_to_utc(datetime.combine(day, starts), tz),
        local_to_utc(datetime.combine(day, ends), tz),
    )
