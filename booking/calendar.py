"""iCalendar (RFC 5545) export of bookings: pure text generation, no I/O.

Events are built and serialised with the ``ics`` package (0.7.x), which leaves gaps this module
fills: it neither folds lines nor ends the document with CRLF, has no SEQUENCE, writes DTSTAMP
only from ``created``, TEXT-escapes URIs, backslash-escapes parameter values (RFC 6868 wants
carets), escapes a bare CR as ``\\r`` (not RFC 5545) and keeps a calendar's events in a set (no
stable order). So we hand it UTC instants and cleaned text, add SEQUENCE, URL and ORGANIZER
ourselves, order events, and fold every content line at 75 octets.

Every instant is written in UTC (``...Z``): no VTIMEZONE to ship, and every client agrees on the
instant whatever its own zone. Sub-second parts are dropped. Output is byte-for-byte
deterministic for the same events, so feeds can carry stable ETags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal, get_args
from urllib.parse import quote

import ics
from ics.grammar.parse import ContentLine

__all__ = [
    "BUSY_SUMMARY",
    "DEFAULT_PRODID",
    "CalendarEvent",
    "EventStatus",
    "booking_uid",
    "render_calendar",
    "render_event",
]

EventStatus = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]

DEFAULT_PRODID = "-//Mutualab//Mutualab//FR"
# Public busy feeds show the slot as taken and nothing about who took it or why.
BUSY_SUMMARY = "Réservé"

_CRLF = "\r\n"
_MAX_OCTETS = 75
_MAX_INTEGER = 2**31 - 1  # RFC 5545 INTEGER is a signed 32-bit value
_STATUSES = frozenset(get_args(EventStatus))
# Rendered VEVENTs are reused across feed polls: bookings rarely change between two polls.
_CACHE_SIZE = 16_384

_NEWLINES = re.compile(r"\r\n?")
# TEXT and quoted parameter values may not hold control characters (RFC 5545 §3.1, §3.3.11);
# C1 controls are dropped too because some readers take U+0085 (NEL) for a line break.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A lone surrogate (possible from JSON input) cannot be encoded as UTF-8 at all.
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_TOKEN = re.compile(r"[A-Za-z0-9-]+")
# Characters that may stay as they are in a URI (RFC 3986 reserved set, plus "%" so that
# existing percent-escapes survive); everything else is percent-encoded as UTF-8.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One booking as it appears in a calendar; datetimes are timezone-aware."""

    uid: str
    sequence: int
    summary: str
    starts_at: datetime
    ends_at: datetime
    stamp: datetime
    status: EventStatus
    location: str | None = None
    description: str | None = None
    url: str | None = None
    organizer_name: str | None = None
    organizer_email: str | None = None
    busy_only: bool = False
    # A reminder this many minutes before the start (VALARM); None or 0: none.
    alarm_minutes: int | None = None

    def __post_init__(self) -> None:
        """Reject events no calendar client could represent faithfully."""
        if not _clean(self.uid):
            raise ValueError("uid must not be empty")
        for field in ("starts_at", "ends_at", "stamp"):
            if getattr(self, field).utcoffset() is None:
                raise ValueError(f"{field} must be timezone-aware")
        # Compared in UTC: within one zone Python compares wall clocks, wrong in autumn's 2nd hour.
        if self.ends_at.astimezone(UTC) <= self.starts_at.astimezone(UTC):
            raise ValueError("ends_at must be after starts_at")
        if isinstance(self.sequence, bool) or not 0 <= self.sequence <= _MAX_INTEGER:
            raise ValueError("sequence must be an integer between 0 and 2**31 - 1")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")
        if self.alarm_minutes is not None and not 0 <= self.alarm_minutes <= _MAX_INTEGER:
            raise ValueError("alarm_minutes must be a non-negative integer")


def render_calendar(
    events: Iterable[CalendarEvent],
    *,
    name: str,
    prodid: str = DEFAULT_PRODID,
    method: str | None = None,
    refresh_minutes: int | None = 60,
) -> str:
    """Render a complete VCALENDAR feed, events ordered by (start, uid), one VEVENT per UID.

    When several events share a UID only the latest version is kept (highest SEQUENCE, then
    latest DTSTAMP): a calendar must not hold two unrelated VEVENTs with the same UID.
    """
    if refresh_minutes is not None and (isinstance(refresh_minutes, bool) or refresh_minutes < 1):
        raise ValueError("refresh_minutes must be a positive integer or None")
    lines = _header_lines(prodid, method)
    lines.extend(_feed_lines(name, refresh_minutes))
    return _document(lines, _vevents(events))


def render_event(
    event: CalendarEvent, *, prodid: str = DEFAULT_PRODID, method: str = "PUBLISH"
) -> str:
    """Render one booking as a VCALENDAR: PUBLISH for a download, REQUEST or CANCEL (RFC 5546)
    for an e-mail attachment."""
    # No calendar name nor refresh interval: a one-off file is imported, not subscribed to.
    return _document(_header_lines(prodid, method), _vevents([event]))


def booking_uid(booking_id: int, host: str) -> str:
    """The UID of a booking in its owner's calendars (feeds, files, e-mails): the same
    everywhere, so each update replaces the event rather than adding one."""
    return f"booking-{booking_id}@{host}"


def _document(header: list[str], vevents: list[str]) -> str:
    """Assemble folded header lines, rendered VEVENTs and the closing line, CRLF-terminated."""
    parts = [_fold(line) for line in header]
    parts.extend(vevents)
    parts.append("END:VCALENDAR")
    parts.append("")  # every content line ends with CRLF, the last one included
    return _CRLF.join(parts)


def _header_lines(prodid: str, method: str | None) -> list[str]:
    """Return the library's VCALENDAR opening lines: VERSION, PRODID, CALSCALE, METHOD."""
    if not _clean(prodid):
        raise ValueError("prodid must not be empty")
    calendar = ics.Calendar(creator=_escape(_clean(prodid)))
    calendar.scale = "GREGORIAN"
    if method is not None:
        if not _TOKEN.fullmatch(method):
            raise ValueError("method must be an iCalendar token such as PUBLISH")
        calendar.method = method
    lines: list[str] = str(calendar.serialize()).split(_CRLF)
    return lines[:-1]  # drop END:VCALENDAR: events and feed properties go before it


def _feed_lines(name: str, refresh_minutes: int | None) -> list[str]:
    """Return the properties that name a subscribed feed and tell clients how often to poll."""
    lines = []
    title = _escape(_clean(name))
    if title:
        # NAME is the RFC 7986 property; Google, Apple and Outlook still read X-WR-CALNAME.
        lines += [f"NAME:{title}", f"X-WR-CALNAME:{title}"]
    if refresh_minutes is not None:
        # REFRESH-INTERVAL is RFC 7986; Outlook only honours X-PUBLISHED-TTL.
        every = f"PT{refresh_minutes}M"
        lines += [f"REFRESH-INTERVAL;VALUE=DURATION:{every}", f"X-PUBLISHED-TTL:{every}"]
    return lines


def _vevents(events: Iterable[CalendarEvent]) -> list[str]:
    """Render events keeping the latest version per UID, ordered by (start, uid)."""
    latest: dict[str, tuple[int, datetime, str, datetime]] = {}
    for event in events:
        starts_at, ends_at, stamp = (
            event.starts_at.astimezone(UTC),
            event.ends_at.astimezone(UTC),
            event.stamp.astimezone(UTC),
        )
        text = _vevent(event, starts_at, ends_at, stamp)
        # The text breaks ties so that the choice never depends on input order.
        version = (event.sequence, stamp, text, starts_at)
        uid = _clean(event.uid)  # the UID as written, so that no two VEVENTs share one
        if uid not in latest or version > latest[uid]:
            latest[uid] = version
    ordered = sorted(latest.items(), key=lambda item: (item[1][3], item[0]))
    return [version[2] for _, version in ordered]


# The UTC instants are part of the key on purpose: aware datetimes sharing a tzinfo compare
# equal across a DST fold (02:30 CEST == 02:30 CET), so the event alone is not a safe key.
@lru_cache(maxsize=_CACHE_SIZE)
def _vevent(event: CalendarEvent, starts_at: datetime, ends_at: datetime, stamp: datetime) -> str:
    """Render one VEVENT, folded and CRLF-separated, from UTC instants."""
    busy = event.busy_only
    ics_event = ics.Event(
        name=BUSY_SUMMARY if busy else _clean(event.summary),
        begin=starts_at,
        end=ends_at,
        created=stamp,  # ics 0.7 writes DTSTAMP from `created`, and nothing if it is unset
        uid=_escape(_clean(event.uid)),  # ics writes the UID unescaped
        location=_clean(event.location or ""),
        description=None if busy else _clean(event.description or ""),
        status=event.status,
        transparent=False,
    )
    ics_event.extra.append(ContentLine("SEQUENCE", value=str(event.sequence)))
    if not busy:
        ics_event.extra.extend(_contact_lines(event))
    lines = str(ics_event.serialize()).split(_CRLF)
    if not busy and event.alarm_minutes:
        # Before END:VEVENT: a VALARM is a component of the event (RFC 5545 §3.6.6).
        lines[-1:-1] = _alarm_lines(event)
    return _CRLF.join(_fold(line) for line in lines)


def _alarm_lines(event: CalendarEvent) -> list[str]:
    """A display reminder ``alarm_minutes`` before the start."""
    return [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{_escape(_clean(event.summary)) or 'Mutualab'}",
        f"TRIGGER:-PT{event.alarm_minutes}M",
        "END:VALARM",
    ]


def _contact_lines(event: CalendarEvent) -> list[ContentLine]:
    """Return URL and ORGANIZER lines, built here because ics escapes them as TEXT."""
    lines = []
    if event.url and _clean(event.url):
        lines.append(ContentLine("URL", value=_uri(event.url)))
    if event.organizer_email and _clean(event.organizer_email):
        params = {}
        if event.organizer_name and _clean(event.organizer_name):
            params["CN"] = [_param(event.organizer_name)]
        mailto = "mailto:" + _uri(event.organizer_email)
        lines.append(ContentLine("ORGANIZER", params=params, value=mailto))
    return lines


def _clean(text: str) -> str:
    """Normalise line breaks to LF and drop what iCalendar text cannot carry."""
    if text.isprintable():  # no control, surrogate or line break: the common case
        return text
    text = _CONTROLS.sub("", _NEWLINES.sub("\n", text))
    return _SURROGATES.sub("\ufffd", text)


def _escape(text: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11); the backslash goes first."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _param(text: str) -> str:
    """Quote a parameter value with RFC 6868 caret escapes (no backslash escapes exist there)."""
    text = _clean(text).replace("^", "^^").replace("\n", "^n").replace('"', "^'")
    return f'"{text}"'


def _uri(text: str) -> str:
    """Percent-encode what may not appear raw in a URI (spaces, non-ASCII, quotes)."""
    return quote(_clean(text), safe=_URI_SAFE)


def _fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1)."""
    if len(line) <= _MAX_OCTETS and line.isascii():
        return line
    data = line.encode()
    if len(data) <= _MAX_OCTETS:
        return line
    chunks = []
    start, room = 0, _MAX_OCTETS
    while len(data) - start > room:
        end = start + room
        while data[end] & 0xC0 == 0x80:  # a continuation byte: cut before its character
            end -= 1
        chunks.append(data[start:end].decode())
        start, room = end, _MAX_OCTETS - 1  # continuation lines spend one octet on the space
    chunks.append(data[start:].decode())
    return "\r\n ".join(chunks)
