"""School holidays of metropolitan France by zone (A, B, C): which dates a class skips.

The official calendar ships offline with the ``vacances-scolaires-france`` package; a place's
zone is its own column, else the one of its postcode's département (by académie). Corsica and
overseas départements have calendars of their own that the package does not carry: no zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from vacances_scolaires_france import SchoolHolidayDates

ZONES = ("A", "B", "C")
# Départements by zone, from the académies of each (Bulletin officiel, 2023 onwards).
_BY_ZONE = {
    # Besançon, Bordeaux, Clermont-Ferrand, Dijon, Grenoble, Limoges, Lyon, Poitiers.
    "A": "25 39 70 90 24 33 40 47 64 03 15 43 63 21 58 71 89 07 26 38 73 74 19 23 87 01 42 69 "
    "16 17 79 86",
    # Aix-Marseille, Amiens, Lille, Nancy-Metz, Nantes, Nice, Normandie, Orléans-Tours, Reims,
    # Rennes, Strasbourg.
    "B": "04 05 13 84 02 60 80 59 62 54 55 57 88 44 49 53 72 85 06 83 14 27 50 61 76 18 28 36 "
    "37 41 45 08 10 51 52 22 29 35 56 67 68",
    # Créteil, Montpellier, Paris, Toulouse, Versailles.
    "C": "77 93 94 11 30 34 48 66 75 09 12 31 32 46 65 81 82 78 91 92 95",
}
_ZONE_OF = {dept: zone for zone, depts in _BY_ZONE.items() for dept in depts.split()}


def zone_of(postcode: str, school_zone: str | None = None) -> str | None:
    """The place's zone: its own, else its département's; None when neither says."""
    if school_zone in ZONES:
        return school_zone
    code = postcode.strip()
    if len(code) != 5 or not code.isdigit():
        return None
    return _ZONE_OF.get(code[:2])


@dataclass(frozen=True, slots=True)
class Holiday:
    """One school holiday of a zone: its name and first and last days (inclusive)."""

    name: str
    first: date
    last: date


@cache
def _calendar() -> SchoolHolidayDates:
    return SchoolHolidayDates()


def holidays(zone: str, first: date, last: date) -> list[Holiday]:
    """The holidays of ``zone`` that meet [first, last], in order (none outside the calendar)."""
    if zone not in ZONES:
        return []
    calendar = _calendar()
    days: list[tuple[date, str]] = []
    for year in range(max(first.year, calendar.min_year), min(last.year, calendar.max_year) + 1):
        for day, row in calendar.holidays_for_year_and_zone(year, zone).items():
            if first <= day <= last:
                days.append((day, str(row["nom_vacances"])))
    found: list[Holiday] = []
    for day, name in sorted(days):
        if found and found[-1].name == name and found[-1].last + timedelta(days=1) == day:
            found[-1] = Holiday(name, found[-1].first, day)
        else:
            found.append(Holiday(name, day, day))
    return found


def holiday_dates(zone: str, first: date, last: date) -> set[date]:
    """Every day of [first, last] in a school holiday of ``zone``."""
    return {
        holiday.first + timedelta(days=offset)
        for holiday in holidays(zone, first, last)
        for offset in range((holiday.last - holiday.first).days + 1)
    }
