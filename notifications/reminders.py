"""Reminders before a booking (a periodic task): confirmed bookings that start within their
place's ``reminder_hours``, to bookers who keep reminders on.

Once per booking and start: the outbox key names the start, so a booking moved to another
time is reminded again. Reminders are optional mail: they carry a one-click unsubscribe link.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from booking.models import Booking, BookingStatus
from kernel.clock import Clock
from kernel.db import Database
from kernel.settings import Settings
from notifications.letters import Letter, booking_context, epoch, post, sql_key
from notifications.message_facts import booking_facts
from notifications.models import OutboundMessage
from notifications.unsubscribe import unsubscribe_url
from resources.models import Place

logger = logging.getLogger("mutualab.mail")
TEMPLATE = "booking_reminder"
# The longest window a place may set (a check constraint); bounds the query first.
MAX_HOURS = 336


async def due_reminders(session: AsyncSession, now: datetime) -> list[int]:
    """The bookings whose reminder is due at ``now`` and not yet queued, soonest first."""
    ids = await session.exec(
        select(Booking.id)
        .join(Place, col(Place.id) == Booking.place_id)
        .join(User, col(User.id) == Booking.booker_user_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            col(Booking.starts_at) > now,
            col(Booking.starts_at) <= now + timedelta(hours=MAX_HOURS),
            col(Place.reminder_hours) > 0,
            # In real (UTC) hours: the same lead on the days the clocks change.
            col(Booking.starts_at) <= now + func.make_interval(0, 0, 0, 0, Place.reminder_hours),
            col(User.reminders),
            # Already reminded of this start: nothing to render again.
            ~exists().where(
                col(OutboundMessage.key)
                == sql_key("booking", Booking.id, Booking.starts_at, TEMPLATE, col(User.email))
            ),
        )
        .order_by(col(Booking.starts_at), col(Booking.id))
    )
    return [booking_id for booking_id in ids if booking_id is not None]


async def send_reminders(database: Database, settings: Settings, clock: Clock) -> int:
    """Queue the reminders due now; how many were new."""
    now = clock()
    queued = 0
    async with database.writer() as session, session.begin():
        for booking_id in await due_reminders(session, now):
            # One booking that cannot be written (a broken row) must not roll back the others
            # at every run: each in its own savepoint, its failure logged.
            try:
                async with session.begin_nested():
                    queued += await _remind(session, settings, booking_id)
            except Exception:
                logger.exception("the reminder of booking #%s could not be queued", booking_id)
    return queued


async def _remind(session: AsyncSession, settings: Settings, booking_id: int) -> bool:
    """Queue the reminder of one booking; False when there was nothing new to queue."""
    booking = await booking_facts(session, booking_id)
    if booking is None or not booking.booker.reminders:
        return False
    to = booking.booker
    link = unsubscribe_url(settings, to.user_id)
    context = booking_context(booking, to.language, settings.public_base_url)
    cause = f"booking.{booking.id}.{TEMPLATE}.{epoch(booking.starts_at)}"
    letter = Letter(to, TEMPLATE, context)
    return await post(session, cause, letter, booking.place, unsubscribe_url=link)
