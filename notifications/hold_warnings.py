"""A card hold about to lapse: told once per hold, when under :data:`WARN_BEFORE` remains
(a periodic task, every minute)."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlmodel import col, select

from booking.models import Booking, BookingStatus
from kernel.clock import Clock
from kernel.db import Database
from notifications.letters import Letter, booking_context, post
from notifications.message_facts import booking_facts
from notifications.wording import moment

WARN_BEFORE = timedelta(minutes=15)


async def warn_lapsing_holds(database: Database, base_url: str, clock: Clock) -> int:
    """Queue "your hold lapses in N minutes" for the holds that lapse soon; how many new."""
    now = clock()
    queued = 0
    async with database.writer() as session, session.begin():
        ids = await session.exec(
            select(Booking.id)
            .where(
                Booking.status == BookingStatus.HELD,
                col(Booking.hold_expires_at) > now,
                col(Booking.hold_expires_at) < now + WARN_BEFORE,
            )
            .order_by(col(Booking.id))
        )
        for booking_id in list(ids):
            assert booking_id is not None
            booking = await booking_facts(session, booking_id)
            if booking is None or booking.hold_expires_at is None:
                continue
            to = booking.booker
            left = booking.hold_expires_at - now
            context = {
                **booking_context(booking, to.language, base_url),
                "minutes": max(1, math.ceil(left.total_seconds() / 60)),
                "deadline": moment(booking.hold_expires_at, booking.place.timezone, to.language),
                "pay_url": f"{base_url.rstrip('/')}/account/bookings/{booking.id}/pay",
            }
            # Once per hold: the key names the hold's own expiry.
            cause = f"booking.{booking.id}.hold_lapsing.{booking.hold_expires_at.isoformat()}"
            if await post(session, cause, Letter(to, "hold_lapsing", context), booking.place):
                queued += 1
    return queued
