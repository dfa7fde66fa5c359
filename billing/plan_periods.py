"""The periods of a membership, in the place's own calendar (pure: no I/O).

A month or a year runs from the day of subscribing to the same day a month or a year later
(a 31st falls back to the month's last day, and later periods keep counting from the first
day, so they do not drift); a school year runs between fixed dates (1 September to 31 August
by default): joining in November gives the rest of that school year, renewals whole ones.
Boundaries are local midnights in the place's zone, turned into UTC instants: a period across
the end of October lasts an hour longer than its days say, as it is lived.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

MONTHS = {"month": 1, "year": 12}


@dataclass(frozen=True, slots=True)
class LocalPeriod:
    """Local days [first, after) of one period."""

    first: date
    after: date

    def instants(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants: from the first day's local midnight to the next's."""
        return _midnight(self.first, tz), _midnight(self.after, tz)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, on the month's last day where it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def school_year_start(day: date, month: int = 9, first_day: int = 1) -> date:
    """The first day of the school year ``day`` falls in."""
    start = date(day.year, month, first_day)
    return start if day >= start else date(day.year - 1, month, first_day)


def period_of(
    kind: str, start_day: date, sequence: int, *, school_month: int = 9, school_day: int = 1
) -> LocalPeriod:
    """Period number ``sequence`` (0: the first) of a subscription begun on ``start_day``."""
    if sequence < 0:
        raise ValueError(f"a period's sequence is 0 or more, got {sequence}")
    if kind in MONTHS:
        step = MONTHS[kind]
        return LocalPeriod(
            add_months(start_day, step * sequence), add_months(start_day, step * (sequence + 1))
        )
    if kind == "school_year":
        anchor = school_year_start(start_day, school_month, school_day)
        first = start_day if sequence == 0 else add_months(anchor, 12 * sequence)
        return LocalPeriod(first, add_months(anchor, 12 * (sequence + 1)))
    raise ValueError(f"unknown period {kind!r}")
