"""Recurrence rules (an RFC 5545 RRULE subset) expanded into local dates: pure, no I/O.

Supported: ``FREQ=WEEKLY|DAILY``, ``INTERVAL``, ``BYDAY`` (plain weekdays, no ordinals),
``UNTIL`` (a date, a floating local date-time, or a UTC date-time ending in ``Z``) or
``COUNT``, ``WKST=MO``; EXDATE is given separately as local dates. Every occurrence is at the
same local wall-clock time, so a series is a list of local dates: 14:00 stays 14:00 across
daylight-saving changes (turning it into instants is :func:`resources.hours.local_to_utc`'s
job). As in RFC 5545, COUNT counts the occurrences the rule generates, EXDATE then removes
some, and a first date that does not match BYDAY is not an occurrence.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

MAX_OCCURRENCES = 200
MAX_DAYS = 400
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_KNOWN_PARTS = frozenset({"FREQ", "INTERVAL", "BYDAY", "UNTIL", "COUNT", "WKST"})


class RuleError(ValueError):
    """A recurrence rule outside the supported subset, or a series over the caps."""

    def __init__(self, message: str, code: str = "invalid_rule") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A parsed rule: frequency, step, weekdays (0 = Monday) and one bound."""

    freq: Literal["DAILY", "WEEKLY"]
    interval: int = 1
    byday: tuple[int, ...] = ()
    count: int | None = None
    # A local date (inclusive), a naive local date-time, or an aware (UTC) instant.
    until: date | datetime | None = None


def parse_rule(text: str) -> Recurrence:
    """Parse ``FREQ=WEEKLY;BYDAY=TU;UNTIL=20271215`` (an ``RRULE:`` prefix is allowed)."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    parts: dict[str, str] = {}
    for chunk in filter(None, body.split(";")):
        name, sep, value = chunk.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise RuleError(f"{chunk!r} is not NAME=VALUE")
        if name not in _KNOWN_PARTS:
            raise RuleError(f"{name} is not supported (only {', '.join(sorted(_KNOWN_PARTS))})")
        if name in parts:
            raise RuleError(f"{name} is given twice")
        parts[name] = value.strip().upper()
    freq = parts.get("FREQ")
    if freq not in ("DAILY", "WEEKLY"):
        raise RuleError("FREQ must be WEEKLY or DAILY")
    if parts.get("WKST", "MO") != "MO":
        raise RuleError("only WKST=MO is supported")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("give UNTIL or COUNT, not both")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise RuleError("give UNTIL or COUNT: a series must end", code="series_unbounded")
    return Recurrence(
        freq="DAILY" if freq == "DAILY" else "WEEKLY",
        interval=_int(parts.get("INTERVAL", "1"), "INTERVAL", 1, 366),
        byday=_byday(parts["BYDAY"]) if "BYDAY" in parts else (),
        count=_int(parts["COUNT"], "COUNT", 1, MAX_OCCURRENCES) if "COUNT" in parts else None,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )


def _int(value: str, name: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        code = "series_too_long" if name == "COUNT" and value.isdigit() else "invalid_rule"
        raise RuleError(f"{name} must be an integer from {low} to {high}", code=code)
    return int(value)


def _byday(value: str) -> tuple[int, ...]:
    days: set[int] = set()
    for name in value.split(","):
        if name not in WEEKDAYS:
            raise RuleError(f"BYDAY {name!r} is not one of {','.join(WEEKDAYS)} (no ordinals)")
        days.add(WEEKDAYS.index(name))
    return tuple(sorted(days))


def _until(value: str) -> date | datetime:
    try:
        if len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC).date()
        if len(value) == 16 and value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if len(value) == 15:
            floating = datetime.strptime(value + "+0000", "%Y%m%dT%H%M%S%z")
            return floating.replace(tzinfo=None)
    except ValueError:
        pass
    raise RuleError("UNTIL must be YYYYMMDD, YYYYMMDDTHHMMSS or YYYYMMDDTHHMMSSZ")


def _last_local(rule: Recurrence, at: time, tz: ZoneInfo) -> datetime | None:
    """The last local wall-clock start allowed by UNTIL, naive."""
    until = rule.until
    if until is None:
        return None
    if isinstance(until, datetime):
        if until.tzinfo is not None:
            return until.astimezone(tz).replace(tzinfo=None)
        return until
    return datetime.combine(until, at)


def expand(
    rule: Recurrence,
    first: date,
    at: time,
    tz: ZoneInfo,
    *,
    exdates: Collection[date] = (),
    max_occurrences: int = MAX_OCCURRENCES,
    max_days: int = MAX_DAYS,
) -> list[date]:
    """Return the local dates of the occurrences, from ``first``, in order.

    Raises :class:`RuleError` (``series_too_long``) past ``max_occurrences`` generated
    occurrences or when an occurrence would fall more than ``max_days`` after ``first``.
    """
    last = _last_local(rule, at, tz)
    horizon = first + timedelta(days=max_days)
    generated: list[date] = []
    for day in _candidates(rule, first, horizon):
        if last is not None and datetime.combine(day, at) > last:
            break
        if rule.count is not None and len(generated) >= rule.count:
            break
        if day > horizon:
            raise RuleError(f"a series may span at most {max_days} days", code="series_too_long")
        if len(generated) == max_occurrences:
            raise RuleError(
                f"a series may have at most {max_occurrences} occurrences", code="series_too_long"
            )
        generated.append(day)
    excluded = frozenset(exdates)
    return [day for day in generated if day not in excluded]


def _candidates(rule: Recurrence, first: date, horizon: date) -> Iterator[date]:
    """Yield the dates the rule generates from ``first``, ascending, without end."""
    if rule.freq == "WEEKLY":
        week = first - timedelta(days=first.weekday())  # WKST=MO: weeks start on Monday
        offsets = rule.byday or (first.weekday(),)
        while True:
            for offset in offsets:
                day = week + timedelta(days=offset)
                if day >= first:
                    yield day
            week += timedelta(weeks=rule.interval)
    day = first
    while True:
        # BYDAY limits a daily rule. A day it filters out is still yielded once past the
        # horizon, so the caller stops even when no day ever matches.
        if not rule.byday or day.weekday() in rule.byday or day > horizon:
            yield day
        day += timedelta(days=rule.interval)
