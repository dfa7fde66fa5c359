"""The messages of a weekly series: one for the whole series when it is booked (a subscriber
to ``series.booked``: every date, those waiting for the booking horizon and those that could
not be had, with one calendar file), and one for a date that could not be booked when the
horizon reached it (taken, closed; ``series.date_lost``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from booking.models import BookingSeries, BookingStatus
from kernel.db import Database
from kernel.events import Event
from notifications.booking_files import bookings_attachment
from notifications.letters import Letter, post
from notifications.message_facts import BookingFacts, booking_facts, place_facts, user_recipient
from notifications.urls import booking_url, series_url
from notifications.wording import span
from resources.hours import local_to_utc

# Why a date was lost, by the booking engine's reason code (others: "not available").
REASONS = {
    "fr": {
        "slot_unavailable": "le créneau a été réservé entre-temps",
        "outside_opening_hours": "le lieu est fermé ce jour-là",
        "blackout": "l'équipement est en maintenance",
        "quota_exceeded": "le quota de réservation du lieu est atteint",
        "training_required": "une formation est requise",
        "in_the_past": "la date est passée",
    },
    "en": {
        "slot_unavailable": "the slot was booked in the meantime",
        "outside_opening_hours": "the place is closed that day",
        "blackout": "the equipment is under maintenance",
        "quota_exceeded": "the place's booking quota is reached",
        "training_required": "a training is required",
        "in_the_past": "the date has passed",
    },
}
UNAVAILABLE = {"fr": "il n'est plus disponible", "en": "it is no longer available"}


@dataclass(frozen=True)
class SeriesDateLost:
    """Writes to the booker of a series that one of its waiting dates could not be booked."""

    database: Database
    base_url: str

    async def __call__(self, event: Event) -> None:
        """Queue the notice, once per event."""
        data = event.data
        series_id, user_id, place_id = (
            data.get("series_id"),
            data.get("user_id"),
            data.get("place_id"),
        )
        if not all(isinstance(v, int) for v in (series_id, user_id, place_id)):
            return
        assert isinstance(series_id, int) and isinstance(user_id, int)
        assert isinstance(place_id, int)
        async with self.database.writer() as session, session.begin():
            to = await user_recipient(session, user_id)
            place = await place_facts(session, place_id)
            if to is None or place is None:
                return
            starts_at = datetime.fromisoformat(str(data.get("starts_at")))
            ends_at = datetime.fromisoformat(str(data.get("ends_at")))
            reason = str(data.get("reason") or "")
            context = {
                "when": span(starts_at, ends_at, place.timezone, to.language),
                "why": REASONS[to.language].get(reason, UNAVAILABLE[to.language]),
                "series_url": series_url(self.base_url, series_id),
                "place": {"name": place.name},
            }
            await post(session, event.key, Letter(to, "series_date_lost", context), place)


# The dates a series message lists, as they are when it is written (a date cancelled since is
# left out).
TOLD = (BookingStatus.CONFIRMED, BookingStatus.PENDING_APPROVAL)


@dataclass(frozen=True)
class SeriesBooked:
    """Writes to the booker of a series booked at once: one message for every date."""

    database: Database
    base_url: str

    async def __call__(self, event: Event) -> None:
        """Queue the message, once per event."""
        data = event.data
        series_id, user_id = data.get("series_id"), data.get("user_id")
        if not isinstance(series_id, int) or not isinstance(user_id, int):
            return
        async with self.database.writer() as session, session.begin():
            series = await session.get(BookingSeries, series_id)
            to = await user_recipient(session, user_id)
            place = None if series is None else await place_facts(session, series.place_id)
            if series is None or to is None or place is None:
                return
            found = [await booking_facts(session, int(i)) for i in data.get("booking_ids", [])]
            booked = [b for b in found if b is not None and b.status in TOLD]
            if not booked:
                return  # every date was cancelled before the message was written

            def when(day: str) -> str:
                start = local_to_utc(
                    datetime.combine(date.fromisoformat(day), series.local_start),
                    ZoneInfo(series.timezone),
                )
                end = start + timedelta(minutes=series.duration_minutes)
                return span(start, end, series.timezone, to.language)

            context: dict[str, Any] = {
                "series_url": series_url(self.base_url, series_id),
                "place": {"name": place.name},
                "resources": ", ".join(booked[0].resources),
                "organisation": booked[0].organisation,
                "booked": [self._date(b, to.language) for b in booked],
                "requested": any(b.status == BookingStatus.PENDING_APPROVAL for b in booked),
                "waiting": [when(d) for d in data.get("pending_dates", [])],
                "lost": [when(d) for d in data.get("conflict_dates", [])],
            }
            confirmed = [b for b in booked if b.status == BookingStatus.CONFIRMED]
            files = (
                [bookings_attachment(confirmed, self.base_url, to.language, "serie.ics")]
                if confirmed
                else []
            )
            await post(session, event.key, Letter(to, "series_booked", context, files), place)

    def _date(self, booking: BookingFacts, language: str) -> dict[str, Any]:
        return {
            "when": span(booking.starts_at, booking.ends_at, booking.place.timezone, language),
            "reference": booking.reference,
            "requested": booking.status == BookingStatus.PENDING_APPROVAL,
            "url": booking_url(self.base_url, booking.id),
        }
