"""Plain value types describing when a place is open (no I/O, no ORM).

Times are wall-clock times in the place's IANA time zone; turning them into
instants is the job of :mod:`resources.hours`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time


@dataclass(frozen=True, slots=True)
class WeeklyOpening:
    """One opening span on a weekday, e.g. Tuesday 09:00-12:30 (weekday 0 = Monday)."""

    weekday: int
    opens: time
    closes: time  # after ``opens``; time(0) means 24:00; spans never cross midnight


@dataclass(frozen=True, slots=True)
class DayException:
    """A dated exception: closed all day, or open with special spans replacing the weekly ones."""

    day: date
    closed: bool
    spans: tuple[tuple[time, time], ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open interval [start, end) between two timezone-aware instants."""

    start: datetime
    end: datetime
