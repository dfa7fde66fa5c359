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

Method = Literal["REQUEST", "CANCEL"]


def booking_attachment(booking: BookingFacts, base_url: str, method: Method) -> Attachment:
    """The booking as a calendar file for ``method``."""
    host = urlsplit(base_url).hostname or "mutualab.local"
    url = f"{base_url.rstrip('/')}/bookings/{booking.id}"
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
        description=f"Référence : {booking.reference}\n{url}",
        url=url,
        organizer_name=place.name,
        organizer_email=place.email,
    )
    return Attachment(
        filename=f"reservation-{booking.reference}.ics",
        content_type=f"text/calendar; method={method}",
        data=render_event(event, method=method).encode(),
    )
