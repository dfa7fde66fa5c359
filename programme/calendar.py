"""Sessions as calendar events (pure): a place's programme feed, and the ``.ics`` of a
registration's messages (the same UID: a cancellation removes what the confirmation added)."""

from __future__ import annotations

from urllib.parse import urlsplit

from booking.calendar import CalendarEvent, render_calendar
from programme.models import ProgrammeSession, SessionStatus


def session_url(base_url: str, session_id: int) -> str:
    """The session's public page."""
    return f"{base_url.rstrip('/')}/sessions/{session_id}"


def session_event(
    row: ProgrammeSession,
    *,
    place_name: str,
    location: str,
    base_url: str,
    cancelled: bool | None = None,
    organizer_email: str | None = None,
) -> CalendarEvent:
    """One session as an event (cancelled as the session is, unless told)."""
    assert row.id is not None
    gone = row.status == SessionStatus.CANCELLED if cancelled is None else cancelled
    host = urlsplit(base_url).hostname or "mutualab.local"
    url = session_url(base_url, row.id)
    return CalendarEvent(
        uid=f"session-{row.id}@{host}",
        sequence=1 if gone else 0,
        summary=f"{row.title} — {place_name}",
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        stamp=row.cancelled_at if gone and row.cancelled_at is not None else row.created_at,
        status="CANCELLED" if gone else "CONFIRMED",
        location=location,
        description=row.description or None,
        url=url,
        organizer_name=place_name,
        organizer_email=organizer_email,
    )


def programme_feed(
    rows: list[ProgrammeSession], *, place_name: str, location: str, base_url: str
) -> str:
    """A place's programme as an iCalendar feed (cancelled sessions marked so)."""
    events = [
        session_event(r, place_name=place_name, location=location, base_url=base_url) for r in rows
    ]
    return render_calendar(events, name=f"Programme — {place_name}")
