"""The ``.ics`` attached to booking messages, from the project's iCalendar code.

The event is the one the private feeds show (same UID, summary, SEQUENCE), sent with an
iTIP method (RFC 5546): REQUEST adds or updates it in the recipient's calendar, CANCEL
removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlsplit

from booking.calendar import CalendarEvent, booking_uid, render_calendar, render_event
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
    return Attachment(
        filename=f"reservation-{booking.reference}.ics",
        content_type=f"text/calendar; method={method}",
        data=render_event(
            booking_event(booking, base_url, method, language), method=method
        ).encode(),
    )


def bookings_attachment(
    bookings: Sequence[BookingFacts], base_url: str, language: str, filename: str
) -> Attachment:
    """Several bookings as one calendar file to import (PUBLISH: an iTIP request holds one
    event only)."""
    events = [booking_event(booking, base_url, "REQUEST", language) for booking in bookings]
    name = bookings[0].place.name if bookings else "Mutualab"
    return Attachment(
        filename=filename,
        content_type="text/calendar; method=PUBLISH",
        data=render_calendar(events, name=name, method="PUBLISH", refresh_minutes=None).encode(),
    )


def booking_event(
    booking: BookingFacts, base_url: str, method: Method, language: str
) -> CalendarEvent:
    """The booking's event, as its owner's feeds show it (same UID and SEQUENCE)."""
    host = urlsplit(base_url).hostname or "mutualab.local"
    url = booking_url(base_url, booking.id)
    place = booking.place
    return CalendarEvent(
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
