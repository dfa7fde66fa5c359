"""Booking business rules: availability reads, bookings, approvals, series and policies.

Check order for every booking: the request's shape, then existence and visibility of the
place and resources, then rules (training, opening hours, notice, quota), then availability.
Availability is decided per unit: the units of the requested resources are locked in id order
(``FOR UPDATE``, bounded by ``lock_timeout``), expired holds on them are
released, free units are picked lowest position first and inserted. The exclusion constraint of
``booking_allocation`` is the backstop: a violation becomes a 409 ``slot_unavailable``, never a
500.

The service is one class assembled from parts, a module each: ``base`` (who, what, rules,
allocation), ``bookings`` (reads and changes), ``slots`` (availability and search), ``agenda``
(manager views and policies) and ``recurring`` (series); ``kernel`` holds what they share.
"""

from __future__ import annotations

from booking.service.agenda import AgendaPart
from booking.service.kernel import (
    MAX_AGENDA_DAYS,
    MAX_AVAILABILITY_DAYS,
    MAX_SEARCH_RESOURCES,
    Booker,
    Context,
    NewBooking,
    SlotPlan,
    new_reference,
)
from booking.service.recurring import SeriesPart
from booking.service.slots import SlotsPart

__all__ = [
    "MAX_AGENDA_DAYS",
    "MAX_AVAILABILITY_DAYS",
    "MAX_SEARCH_RESOURCES",
    "Booker",
    "BookingService",
    "Context",
    "NewBooking",
    "SlotPlan",
    "new_reference",
]


class BookingService(SeriesPart, AgendaPart, SlotsPart):
    """What users, organisations and managers may do with bookings."""
