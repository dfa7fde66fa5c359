"""The home page's search: where, what and when, read from the query string, with its errors.

Every field is optional text, so a mistake is shown beside its field instead of a bare error
page. A date turns the search from places into free times of machines, rooms and seats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mutualab.web.forms import Errors, FieldError, parse_time
from mutualab.web.i18n import N_
from resources.place_search import Where

RADII = (5, 10, 15, 25, 50)
LENGTHS = (30, 60, 90, 120, 180, 240)
MAX_DAYS_AHEAD = 365
# Times typed on the home page are French local times: the places of the instance are in
# France; a place in another zone reads them in its own zone through the UTC range.
SEARCH_ZONE = ZoneInfo("Europe/Paris")
_FRENCH_DATE = re.compile(r"(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})")


@dataclass
class SearchForm:
    """What was typed, kept as typed, and what it means once checked."""

    town: str = ""
    radius: str = ""
    latitude: str = ""
    longitude: str = ""
    kind: str = ""
    q: str = ""
    day: str = ""
    start: str = ""
    end: str = ""
    length: str = ""
    errors: Errors = field(default_factory=dict)

    @property
    def by_time(self) -> bool:
        """Whether a date was asked: list free times, not places."""
        return bool(self.day.strip())

    def where(self) -> Where:
        """Where to look (the point only when both coordinates are numbers)."""
        radius = int(self.radius) if self.radius.isdigit() and int(self.radius) in RADII else None
        latitude = _coordinate(self.latitude, 90)
        longitude = _coordinate(self.longitude, 180)
        if latitude is None or longitude is None:
            latitude = longitude = None
        elif radius is None:
            radius = RADII[1]  # "near me" with no radius chosen: 10 km
        return Where(
            text=self.town.strip() or None,
            latitude=latitude,
            longitude=longitude,
            radius_km=radius,
        )

    def minutes(self) -> int | None:
        """The length asked (None: each resource's shortest)."""
        return int(self.length) if self.length.isdigit() and int(self.length) in LENGTHS else None

    def window(self, today: date) -> tuple[datetime, datetime] | None:
        """The asked range in UTC, or None with the errors recorded."""
        day = _day(self.day.strip())
        if day is None:
            self.errors["day"] = FieldError(N_("Enter a date, for example 2027-03-02."))
            return None
        if day < today or day > today + timedelta(days=MAX_DAYS_AHEAD):
            self.errors["day"] = FieldError(
                N_("Choose a date from today to one year ahead."),
            )
            return None
        start = parse_time(self.start) if self.start.strip() else time(0)
        if start is None:
            self.errors["start"] = FieldError(N_("Enter a time, for example 14:00."))
        end = parse_time(self.end) if self.end.strip() else None
        if self.end.strip() and end is None:
            self.errors["end"] = FieldError(N_("Enter a time, for example 16:00."))
        if self.errors:
            return None
        assert start is not None
        first = datetime.combine(day, start, SEARCH_ZONE)
        last = (
            datetime.combine(day, end, SEARCH_ZONE)
            if end is not None and end != time(0)
            else datetime.combine(day + timedelta(days=1), time(0), SEARCH_ZONE)
        )
        if last <= first:
            self.errors["end"] = FieldError(N_("The end must be after the start."))
            return None
        return first, last


def _day(text: str) -> date | None:
    """A date as a date field sends it (2027-03-02), or as typed in France (02/03/2027)."""
    french = _FRENCH_DATE.fullmatch(text)
    if french is not None:
        text = f"{french['year']}-{int(french['month']):02d}-{int(french['day']):02d}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _coordinate(text: str, bound: int) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if -bound <= value <= bound else None
