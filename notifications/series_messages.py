"""A date of a weekly series that could not be booked when the booking horizon reached it
(taken, closed): its booker is told (a subscriber to ``series.date_lost``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kernel.db import Database
from kernel.events import Event
from notifications.letters import Letter, post
from notifications.message_facts import place_facts, user_recipient
from notifications.urls import series_url
from notifications.wording import span

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
