"""The week grid of a resource page: bookable slots merged into free periods, day by day.

Pure functions (no I/O). A slot is a bookable range of the shortest length; consecutive or
overlapping slots with the same number of free units read better as one period
("free 09:00-12:00") than as a column of buttons.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol


class LocalSlot(Protocol):
    """What the grid needs of a slot: its local start and end, and its free units."""

    @property
    def local_starts_at(self) -> datetime: ...  # pragma: no cover

    @property
    def local_ends_at(self) -> datetime: ...  # pragma: no cover

    @property
    def free_units(self) -> int: ...  # pragma: no cover


@dataclass(frozen=True)
class Period:
    """Local times during which ``free_units`` units can be booked."""

    start: datetime
    end: datetime
    free_units: int


@dataclass(frozen=True)
class Day:
    """One local date of the grid and its free periods (none: closed or fully booked)."""

    day: date
    periods: list[Period] = field(default_factory=list)
    closed: bool = False


def week_grid(
    first: date,
    days: int,
    slots: Sequence[LocalSlot],
    open_days: Collection[date] | None = None,
) -> list[Day]:
    """``days`` local dates from ``first``, each with the merged periods of its slots.

    Dates missing from ``open_days`` (when given) are marked closed, so the page can tell
    "closed" from "fully booked".
    """
    by_day: dict[date, list[Period]] = {first + timedelta(days=n): [] for n in range(days)}
    for slot in sorted(slots, key=lambda s: s.local_starts_at):
        periods = by_day.get(slot.local_starts_at.date())
        if periods is None:
            continue
        last = periods[-1] if periods else None
        if (
            last is not None
            and last.free_units == slot.free_units
            and slot.local_starts_at <= last.end
        ):
            periods[-1] = Period(last.start, max(last.end, slot.local_ends_at), last.free_units)
        else:
            periods.append(Period(slot.local_starts_at, slot.local_ends_at, slot.free_units))
    return [
        Day(day, periods, closed=open_days is not None and day not in open_days)
        for day, periods in by_day.items()
    ]
