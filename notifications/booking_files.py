"""The ``.ics`` attached to booking messages, from the project's iCalendar code.

The event is the one the private feeds show (same UID, summary, SEQUENCE), sent with an
iTIP method (RFC 5546): REQUEST adds or updates it in the recipient's calendar, CANCEL
removes it.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from booking.calendar import CalendarEvent, booking_uid, render_event
from notifications.message_facts import BookingFacts
from notifications.outbox import Attachment
from notifications.urls import booking_url
from notifications.wording import language_of

Method = Literal["REQUEST", "CANCEL"]


# The event's description, in the recipient's language (notifications.wording.LANGUAGES).
DESCRIPTION = {"fr": "Référence : {reference}\n{url}", "en": "Reference: {reference}\n{url}"}


def booking_attachment(
    booking: BookingFacts, base_url: str, method: Method, language: str
) -> Attachment:
    """The booking as a calendar file for ``method``, worded in ``language``."""
    host = urlsplit(base_url).hostname or "mutualab.local"
    url = booking_url(base_url, booking.id)
    place = booking.place
    event = CalendarEvent(
        uid=booking_uid(booking.id, host),
        sequence=booking.sequence,
        summary=f"{', '.join(booking.resources)} — {place.name}",
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        stamp=booking.updated_at,
        status="CANCELLED" if method == "CANCEL" else "CONFIRMED",
        location=f"{place.name}, {place.address}",
        description=DESCRIPTION[language_of(language)].format(reference=booking.reference, url=url),
        url=url,
        organizer_name=place.name,
        organizer_email=place.email,
        alarm_minutes=None if method == "CANCEL" else place.ics_alarm_minutes,
    )
    return Attachment(
        filename=f"reservation-{booking.reference}.ics",
        content_type=f"text/calendar; method={method}",
        data=render_event(event, method=method).encode(),
    )
