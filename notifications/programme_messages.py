"""The messages of a place's programme: seats confirmed (registered, or taken from the
waitlist), and a session cancelled (by the place, or below its minimum), to each registrant
once (subscribers to ``session.registered`` and ``session.cancelled``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.db import Database
from kernel.events import Event
from notifications.letters import Letter, post
from notifications.message_facts import place_facts, user_recipient
from notifications.wording import span
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
        if event.name == "session.registered":
            users, template = [event.data.get("user_id")], "session_registered"
        else:
            users, template = list(event.data.get("user_ids") or []), "session_cancelled"
        async with self.database.writer() as session, session.begin():
            row = await session.get(ProgrammeSession, session_id)
            place = None if row is None else await place_facts(session, row.place_id)
            if row is None or place is None:
                return
            for user_id in users:
                to = await user_recipient(session, user_id) if isinstance(user_id, int) else None
                if to is None:
                    continue
                context: dict[str, Any] = {
                    "title": row.title,
                    "when": span(row.starts_at, row.ends_at, place.timezone, to.language),
                    "below_minimum": bool(event.data.get("below_minimum")),
                    "session_url": f"{self.base_url}/sessions/{session_id}",
                }
                await post(session, event.key, Letter(to, template, context), place)
