"""The messages of a place's programme: seats confirmed (registered, or taken from the
waitlist), and a session cancelled (by the place, or below its minimum), to each registrant
once (subscribers to ``session.registered`` and ``session.cancelled``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from booking.calendar import render_event
from kernel.db import Database
from kernel.events import Event
from notifications.letters import Letter, post
from notifications.message_facts import place_facts, user_recipient
from notifications.outbox import Attachment
from notifications.wording import span
from programme.calendar import session_event, session_url
from programme.models import ProgrammeSession


@dataclass(frozen=True)
class ProgrammeMessages:
    """Writes the messages of one programme event."""

    database: Database
    base_url: str

    async def __call__(self, event: Event) -> None:
        """Queue the event's messages (once per event and person: keyed by the event)."""
        session_id = event.data.get("session_id")
        if not isinstance(session_id, int):
            return
        registered = event.name == "session.registered"
        if registered:
            users, template = [event.data.get("user_id")], "session_registered"
        else:
            users, template = list(event.data.get("user_ids") or []), "session_cancelled"
        async with self.database.writer() as session, session.begin():
            row = await session.get(ProgrammeSession, session_id)
            place = None if row is None else await place_facts(session, row.place_id)
            if row is None or place is None:
                return
            # The .ics: REQUEST adds the session to the person's calendar, CANCEL removes it.
            method = "REQUEST" if registered else "CANCEL"
            calendar = session_event(
                row,
                place_name=place.name,
                location=f"{place.name}, {place.address}",
                base_url=self.base_url,
                cancelled=not registered,
                organizer_email=place.email,
            )
            ics = Attachment(
                filename=f"seance-{session_id}.ics",
                content_type=f"text/calendar; method={method}",
                data=render_event(calendar, method=method).encode(),
            )
            for user_id in users:
                to = await user_recipient(session, user_id) if isinstance(user_id, int) else None
                if to is None:
                    continue
                context: dict[str, Any] = {
                    "title": row.title,
                    "when": span(row.starts_at, row.ends_at, place.timezone, to.language),
                    "below_minimum": bool(event.data.get("below_minimum")),
                    "session_url": session_url(self.base_url, session_id),
                }
                letter = Letter(to, template, context, attachments=(ics,))
                await post(session, event.key, letter, place)
