"""A waitlist offer: the units are held for the person first in line, who books at one click
before the deadline (a subscriber to ``waitlist.offered``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kernel.db import Database
from kernel.events import Event
from notifications.letters import Letter, booking_context, post
from notifications.message_facts import booking_facts, user_recipient
from notifications.urls import bookings_url
from notifications.wording import moment


@dataclass(frozen=True)
class WaitlistOffers:
    """Writes the offer of a ``waitlist.offered`` event to the person it is made to."""

    database: Database
    base_url: str

    async def __call__(self, event: Event) -> None:
        """Queue the offer, once per event."""
        booking_id, user_id = event.data.get("booking_id"), event.data.get("user_id")
        expires_at = event.data.get("expires_at")
        if not isinstance(booking_id, int) or not isinstance(user_id, int) or not expires_at:
            return
        deadline = datetime.fromisoformat(str(expires_at))
        async with self.database.writer() as session, session.begin():
            booking = await booking_facts(session, booking_id)
            to = await user_recipient(session, user_id)
            if booking is None or to is None:
                return
            context = {
                **booking_context(booking, to.language, self.base_url),
                "deadline": moment(deadline, booking.place.timezone, to.language),
                # "My bookings" lists the offer with its one-click "Book it" button.
                "offer_url": bookings_url(self.base_url),
            }
            await post(session, event.key, Letter(to, "waitlist_offer", context), booking.place)
