"""The closure and maintenance forms of a place, as typed, and what they ask for once checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from booking.closure_schemas import MAX_CLOSURE_DAYS, BlackoutRequest, ClosureRequest
from mutualab.web.forms import Errors, FieldError, parse_time
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import parse_day
from resources.hours import local_to_utc
from resources.schemas import LocalSpan

MAX_REASON = 200
# A field sent once arrives as one string, several times as a list.
Repeated = list[str] | str


def chosen_ids(value: Repeated) -> list[int]:
    """The booking ids ticked in a review (anything else is ignored)."""
    values = [value] if isinstance(value, str) else value
    return [int(v) for v in values if v.isdigit()]


def _reason(text: str, errors: Errors, name: str) -> str:
    reason = text.strip()
    if len(reason) > MAX_REASON:
        errors[name] = FieldError(N_("Use at most %(n)s characters."), {"n": MAX_REASON})
    return reason


@dataclass
class ClosureForm:
    """A closure, as typed: a day or a range of days, or special hours on one day."""

    day: str = ""
    last_day: str = ""
    opens: str = ""
    closes: str = ""
    reason: str = ""
    cancel: Repeated = field(default_factory=list)

    def checked(self, today: date) -> tuple[ClosureRequest | None, Errors]:
        """The closure asked for, or what to fix (field name -> error)."""
        errors: Errors = {}
        first = parse_day(self.day)
        if first is None:
            errors["day"] = FieldError(N_("Enter a date like 24/12/2027."))
        elif first < today:
            errors["day"] = FieldError(N_("Choose today or a later day."))
        last = parse_day(self.last_day) if self.last_day.strip() else first
        if self.last_day.strip() and last is None:
            errors["last_day"] = FieldError(N_("Enter a date like 24/12/2027."))
        elif first is not None and last is not None and last < first:
            errors["last_day"] = FieldError(N_("Choose the first day or a later one."))
        elif first is not None and last is not None and (last - first).days >= MAX_CLOSURE_DAYS:
            errors["last_day"] = FieldError(
                N_("A closure lasts at most %(n)s days."), {"n": MAX_CLOSURE_DAYS}
            )
        spans: list[LocalSpan] = []
        if self.opens.strip() or self.closes.strip():
            opens, closes = parse_time(self.opens), parse_time(self.closes)
            if opens is None:
                errors["opens"] = FieldError(N_("Enter a time like 09:30."))
            if closes is None:
                errors["closes"] = FieldError(N_("Enter a time like 09:30."))
            elif opens is not None and closes <= opens:
                errors["closes"] = FieldError(N_("Closing must come after opening."))
            if opens is not None and closes is not None and closes > opens:
                spans = [LocalSpan(opens=opens, closes=closes)]
            if first is not None and last is not None and last != first:
                errors.setdefault(
                    "last_day", FieldError(N_("Special hours are set one day at a time."))
                )
        reason = _reason(self.reason, errors, "reason")
        if errors or first is None:
            return None, errors
        return ClosureRequest(first_day=first, last_day=last, spans=spans, reason=reason), {}


@dataclass
class BlackoutForm:
    """A maintenance window, as typed: a resource, from a local day and time to another."""

    resource: str = ""
    start_day: str = ""
    start_time: str = ""
    end_day: str = ""
    end_time: str = ""
    blackout_reason: str = ""
    cancel: Repeated = field(default_factory=list)

    def checked(
        self, now: datetime, tz: ZoneInfo, resources: dict[int, str]
    ) -> tuple[int | None, BlackoutRequest | None, Errors]:
        """The resource and window asked for, or what to fix."""
        errors: Errors = {}
        resource = int(self.resource) if self.resource.isdigit() else None
        if resource not in resources:
            errors["resource"] = FieldError(N_("Choose a piece of equipment."))
        starts = self._instant(self.start_day, self.start_time, tz, errors, "start")
        end_day = self.end_day if self.end_day.strip() else self.start_day
        ends = self._instant(end_day, self.end_time, tz, errors, "end")
        if starts is not None and ends is not None:
            if ends <= starts:
                errors["end_time"] = FieldError(N_("The end must come after the start."))
            elif ends <= now:
                errors["end_time"] = FieldError(N_("Choose an end still to come."))
        reason = _reason(self.blackout_reason, errors, "blackout_reason")
        if errors or starts is None or ends is None:
            return None, None, errors
        return resource, BlackoutRequest(starts_at=starts, ends_at=ends, reason=reason), {}

    @staticmethod
    def _instant(
        day_text: str, time_text: str, tz: ZoneInfo, errors: Errors, prefix: str
    ) -> datetime | None:
        day = parse_day(day_text)
        moment: time | None = parse_time(time_text)
        if day is None:
            errors[f"{prefix}_day"] = FieldError(N_("Enter a date like 24/12/2027."))
        if moment is None:
            errors[f"{prefix}_time"] = FieldError(N_("Enter a time like 09:30."))
        if day is None or moment is None:
            return None
        return local_to_utc(datetime.combine(day, moment), tz)
