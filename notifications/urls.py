"""The instance's pages that messages link to, built in one place."""

from __future__ import annotations


def bookings_url(base_url: str) -> str:
    """The booker's list of bookings ("My bookings", where waitlist offers are booked)."""
    return f"{base_url.rstrip('/')}/account/bookings"


def booking_url(base_url: str, booking_id: int) -> str:
    """The booker's page of a booking (its details, payment, calendar subscription)."""
    return f"{bookings_url(base_url)}/{booking_id}"


def series_url(base_url: str, series_id: int) -> str:
    """The booker's page of a weekly series (its dates, invoices, purchase order)."""
    return f"{base_url.rstrip('/')}/series/{series_id}"


def memberships_url(base_url: str) -> str:
    """The member's memberships (renew, pay a period by card, cancel)."""
    return f"{base_url.rstrip('/')}/account/memberships"
