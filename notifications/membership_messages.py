"""The renewal reminder of a membership (a subscriber to ``membership.renewal_due``): the
period ends soon; it renews itself (at what price, how paid) or the member renews it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kernel.db import Database
from kernel.events import Event
from notifications.letters import Letter, post
from notifications.message_facts import place_facts, user_recipient
from notifications.urls import memberships_url
from notifications.wording import day, money


@dataclass(frozen=True)
class RenewalDue:
    """Writes to a member some days before their period ends."""

    database: Database
    base_url: str

    async def __call__(self, event: Event) -> None:
        """Queue the reminder, once per event."""
        data = event.data
        user_id, place_id = data.get("user_id"), data.get("place_id")
        if not isinstance(user_id, int) or not isinstance(place_id, int):
            return
        async with self.database.writer() as session, session.begin():
            to = await user_recipient(session, user_id)
            place = await place_facts(session, place_id)
            if to is None or place is None:
                return
            ends_at = datetime.fromisoformat(str(data.get("ends_at")))
            context = {
                "plan": str(data.get("plan") or ""),
                "last_day": day(ends_at - timedelta(seconds=1), place.timezone, to.language),
                "auto_renew": bool(data.get("auto_renew")),
                "price": money(int(data.get("price_cents") or 0), "EUR", to.language),
                "memberships_url": memberships_url(self.base_url),
                "place": {"name": place.name},
            }
            await post(session, event.key, Letter(to, "membership_renewal", context), place)
