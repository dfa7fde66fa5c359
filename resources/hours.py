"""Opening hours as pure functions: weekly schedule + exceptions -> open spans in UTC.

Conventions (shared by everything that turns wall-clock times into instants):

* ``closes == time(0)`` means 24:00, the end of the day; ``opens == time(0)`` is the start of
  the day. A whole-day opening is therefore ``WeeklyOpening(d, time(0), time(0))``.
* A wall-clock time that occurs twice (the autumn overlap, 02:30 in Europe/Paris on the last
  Sunday of October) means its first occurrence (``fold=0``), for openings and closings alike.
* A wall-clock time that does not exist (the spring gap, 02:30 on the last Sunday of March)
  moves forward to the first instant that does exist, i.e. the transition (03:00 local).
* Date ranges are half-open: ``[start, end)``.
* Opening times are naive wall-clock times in whole minutes, since that is all OSM can express.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

from resources.schedule import DayException, Span, WeeklyOpening

MIDNIGHT = time(0)
_DAY = timedelta(days=1)
_OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Département code -> holidays subdivision names, newest first: Bas-Rhin and Haut-Rhin form
# the "Collectivité européenne d'Alsace" (6AE), overseas collectivities use letter codes, and
# older holidays releases used "Alsace-Moselle" or "GES" and two-letter overseas codes.
# Metropolitan départements not listed here have national holidays only.
_SUBDIVISION_CANDIDATES = {
    "57": ("57", "Alsace-Moselle", "GES"),
    "67": ("6AE", "Alsace-Moselle", "GES"),
    "68": ("6AE", "Alsace-Moselle", "GES"),
    "971": ("971", "GP"),
    "972": ("972", "MQ"),
    "973": ("973", "GY"),
    "974": ("974", "RE"),
    "976": ("976", "YT"),
    "975": ("PM",),
    "977": ("BL",),
    "978": ("MF",),
    "984": ("TF",),
    "986": ("WF",),
    "987": ("PF",),
    "988": ("NC",),
}
_METROPOLITAN_DEPARTEMENT = re.compile(r"0[1-9]|[1-8][0-9]|9[0-5]|2[AB]")


def french_public_holidays(
    start: date, end: date, subdivision: str | None = None
) -> frozenset[date]:
    """Return French public holidays in ``[start, end)`` for a département or subdivision."""
    return frozenset(french_public_holiday_names(start, end, subdivision))


def french_public_holiday_names(
    start: date, end: date, subdivision: str | None = None
) -> dict[date, str]:
    """Return French public holidays in ``[start, end)`` with their French names."""
    if end <= start:
        return {}
    subdiv = _holidays_subdivision(subdivision)
    names: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        names.update(
            (day, name) for day, name in _year_holidays(subdiv, year) if start <= day < end
        )
    return names


def _holidays_subdivision(subdivision: str | None) -> str | None:
    """Map a département code (or a holidays subdivision name) to the holidays subdivision."""
    if subdivision is None:
        return None
    code = subdivision.strip()
    known = _known_subdivisions()
    if code.upper() in _SUBDIVISION_CANDIDATES:
        for candidate in _SUBDIVISION_CANDIDATES[code.upper()]:
            if candidate in known:
                return candidate
        # Falling back to national holidays here would silently open on local holidays.
        raise ValueError(f"the installed holidays package has no subdivision for {code!r}")
    if code in known:
        return code
    if _METROPOLITAN_DEPARTEMENT.fullmatch(code.upper()):
        return None
    raise ValueError(f"unknown French subdivision {subdivision!r}")


@lru_cache(maxsize=1)
def _known_subdivisions() -> frozenset[str]:
    """Subdivision codes and aliases the installed holidays package knows for France."""
    calendar = holidays.country_holidays("FR")
    aliases = getattr(calendar, "subdivisions_aliases", {})  # absent in older releases
    return frozenset(calendar.subdivisions) | frozenset(aliases)


@lru_cache(maxsize=128)
def _year_holidays(subdiv: str | None, year: int) -> tuple[tuple[date, str], ...]:
    """Public holidays of one year; cached because the holidays package rebuilds them per call."""
    # An explicit language: the package's default follows the process locale.
    calendar = holidays.country_holidays("FR", subdiv=subdiv, years=year, language="fr")
    return tuple(sorted(calendar.items()))


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """Turn a naive wall-clock datetime in ``tz`` into a UTC instant (see module conventions)."""
    if wall.tzinfo is not None:
        raise ValueError("local_to_utc expects a naive wall-clock datetime")
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, tz)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """Return the transition instant that ends the gap containing the nonexistent ``wall``."""
    # PEP 495: inside a gap fold=0 applies the offset from before the transition (an instant
    # at or after it) and fold=1 the offset from after it (an instant before it), so the
    # transition lies between the two; zoneinfo exposes no transition list, hence bisection.
    after = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    target = after.astimezone(tz).utcoffset()
    resolution = timedelta(microseconds=1)
    while after - before > resolution:
        middle = before + (after - before) // 2
        if middle.astimezone(tz).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after


def open_spans(
    weekly: Sequence[WeeklyOpening],
    exceptions: Sequence[DayException],
    tz: ZoneInfo,
    start: date,
    end: date,
    public_holidays: Collection[date] = frozenset(),
    closed_on_public_holidays: bool = True,
) -> list[Span]:
    """Return the merged UTC spans during which the place is open on local dates [start, end)."""
    validate_weekly(weekly)
    validate_exceptions(exceptions)
    by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for opening in weekly:
        by_weekday[opening.weekday].append((opening.opens, opening.closes))
    by_day = {exception.day: exception for exception in exceptions}
    holidays_closed = frozenset(public_holidays) if closed_on_public_holidays else frozenset()
    spans: list[Span] = []
    for day in _dates(start, end):
        for opens, closes in _hours_of(day, by_weekday, by_day, holidays_closed):
            span = wall_span(day, opens, closes, tz)
            if span.end > span.start:  # e.g. 02:00-02:30 inside the spring gap is empty
                spans.append(span)
    return merge_spans(spans)


def _dates(start: date, end: date) -> Iterator[date]:
    """Yield every date of [start, end)."""
    day = start
    while day < end:
        yield day
        day += _DAY


def _hours_of(
    day: date,
    by_weekday: dict[int, list[tuple[time, time]]],
    by_day: dict[date, DayException],
    holidays_closed: frozenset[date],
) -> Sequence[tuple[time, time]]:
    """Return the wall-clock spans of one day: an exception wins, then holidays, then weekly."""
    exception = by_day.get(day)
    if exception is not None:
        return () if exception.closed else exception.spans
    if day in holidays_closed:
        return ()
    return by_weekday.get(day.weekday(), ())


def wall_span(day: date, opens: time, closes: time, tz: ZoneInfo) -> Span:
    """Turn one wall-clock span of a local date into a UTC span (closes 00:00 = end of day)."""
    start = local_to_utc(datetime.combine(day, opens), tz)
    closing_day = day + _DAY if closes == MIDNIGHT else day
    return Span(start, local_to_utc(datetime.combine(closing_day, closes), tz))


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Sort spans and merge overlapping or touching ones; empty spans are dropped."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if span.end <= span.start:
            continue
        if merged and span.start <= merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(span)
    return merged


def validate_weekly(weekly: Sequence[WeeklyOpening]) -> None:
    """Raise ValueError if a weekly schedule has a bad weekday, inverted or overlapping spans."""
    by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for opening in weekly:
        if not 0 <= opening.weekday <= 6:
            raise ValueError(f"weekday {opening.weekday} is outside 0..6 (0 = Monday)")
        by_weekday[opening.weekday].append((opening.opens, opening.closes))
    for weekday, spans in by_weekday.items():
        _validate_day_spans(_DAY_NAMES[weekday], spans)


def validate_exceptions(exceptions: Sequence[DayException]) -> None:
    """Raise ValueError for duplicate days, closed days with spans or openings without spans."""
    seen: set[date] = set()
    for exception in exceptions:
        label = exception.day.isoformat()
        if exception.day in seen:
            raise ValueError(f"{label}: more than one exception for the same day")
        seen.add(exception.day)
        if exception.closed and exception.spans:
            raise ValueError(f"{label}: a closed day cannot have opening spans")
        if not exception.closed and not exception.spans:
            raise ValueError(f"{label}: a special opening needs at least one span")
        _validate_day_spans(label, exception.spans)


def _validate_day_spans(label: str, spans: Sequence[tuple[time, time]]) -> None:
    """Raise ValueError unless the wall-clock spans of one day are well-formed and disjoint."""
    for opens, closes in spans:
        for moment in (opens, closes):
            if moment.tzinfo is not None:
                raise ValueError(f"{label}: opening times are wall-clock times without tzinfo")
            if moment.second or moment.microsecond:
                raise ValueError(f"{label}: {moment.isoformat()} is not a whole minute")
        if closes != MIDNIGHT and closes <= opens:
            raise ValueError(
                f"{label}: {_span_text(opens, closes)} closes before it opens "
                "(use 00:00 as closing time for midnight)"
            )
    ordered = sorted(spans, key=_offsets)
    for previous, current in pairwise(ordered):
        if _offsets(current)[0] < _offsets(previous)[1]:
            raise ValueError(f"{label}: {_span_text(*previous)} overlaps {_span_text(*current)}")


def _offsets(span: tuple[time, time]) -> tuple[timedelta, timedelta]:
    """Return a wall-clock span as durations since midnight, 24:00 for a midnight closing."""
    opens, closes = span
    start = timedelta(hours=opens.hour, minutes=opens.minute)
    end = _DAY if closes == MIDNIGHT else timedelta(hours=closes.hour, minutes=closes.minute)
    return start, end


def _span_text(opens: time, closes: time) -> str:
    """Format a wall-clock span as HH:MM-HH:MM, writing a midnight closing as 24:00."""
    closing = "24:00" if closes == MIDNIGHT else closes.strftime("%H:%M")
    return f"{opens.strftime('%H:%M')}-{closing}"


def osm_opening_hours(
    weekly: Sequence[WeeklyOpening], closed_on_public_holidays: bool = True
) -> str:
    """Format a weekly schedule in OSM opening_hours syntax ("" when never open)."""
    # An empty schedule usually means "hours not entered yet", not "closed forever": "" lets
    # the open-data export omit the optional field instead of publishing a misleading "off".
    validate_weekly(weekly)
    by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for opening in weekly:
        by_weekday[opening.weekday].append((opening.opens, opening.closes))
    days_by_hours: dict[str, list[int]] = defaultdict(list)
    for weekday in range(7):
        if by_weekday[weekday]:
            hours = ",".join(_span_text(*s) for s in sorted(by_weekday[weekday], key=_offsets))
            days_by_hours[hours].append(weekday)
    if not days_by_hours:
        return ""
    rules = [f"{_osm_days(days)} {hours}" for hours, days in days_by_hours.items()]
    if closed_on_public_holidays:
        rules.append("PH off")
    return "; ".join(rules)


def _osm_days(weekdays: Sequence[int]) -> str:
    """Format ascending weekdays as OSM day selectors: runs become ranges, gaps commas."""
    runs: list[list[int]] = []
    for weekday in weekdays:
        if runs and weekday == runs[-1][-1] + 1:
            runs[-1].append(weekday)
        else:
            runs.append([weekday])
    return ",".join(
        _OSM_DAYS[run[0]] if len(run) == 1 else f"{_OSM_DAYS[run[0]]}-{_OSM_DAYS[run[-1]]}"
        for run in runs
    )
