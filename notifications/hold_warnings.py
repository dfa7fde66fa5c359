"""A card hold about to lapse: told once per hold, when under :data:`WARN_BEFORE` remains
(a periodic task, every minute)."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from billing.models import Payment
from booking.models import Booking, BookingStatus
from kernel.clock import Clock
from kernel.db import Database
from notifications.letters import Letter, booking_context, epoch, post, sql_key
from notifications.message_facts import CARD, booking_facts
from notifications.models import OutboundMessage
from notifications.urls import booking_url
from notifications.wording import moment

logger = logging.getLogger("mutualab.mail")
WARN_BEFORE = timedelta(minutes=15)
TEMPLATE = "hold_lapsing"


async def lapsing_holds(session: AsyncSession, now: datetime) -> list[int]:
    """The holds lapsing within :data:`WARN_BEFORE` of ``now`` and not yet warned of."""
    ids = await session.exec(
        select(Booking.id)
        .join(User, col(User.id) == Booking.booker_user_id)
        # Card holds only: a waitlist offer is held too, with nothing to pay by card.
        .join(Payment, col(Payment.booking_id) == Booking.id)
        .where(
            Payment.method == CARD,
            Booking.status == BookingStatus.HELD,
            col(Booking.hold_expires_at) > now,
            col(Booking.hold_expires_at) < now + WARN_BEFORE,
            # Already warned of this hold: nothing to render again.
            ~exists().where(
                col(OutboundMessage.key)
                == sql_key(
                    "booking", Booking.id, Booking.hold_expires_at, TEMPLATE, col(User.email)
                )
            ),
        )
        .order_by(col(Booking.id))
    )
    return [booking_id for booking_id in ids if booking_id is not None]


async def warn_lapsing_holds(database: Database, base_url: str, clock: Clock) -> int:
    """Queue "your hold lapses in N minutes" for the holds that lapse soon; how many new."""
    now = clock()
    queued = 0
    async with database.writer() as session, session.begin():
        for booking_id in await lapsing_holds(session, now):
            # One hold that cannot be written (a broken row) must not roll back the others at
            # every run: each in its own savepoint, its failure logged.
            try:
                async with session.begin_nested():
                    queued += await _warn(session, base_url, now, booking_id)
            except Exception:
                logger.exception("the hold warning of booking #%s could not be queued", booking_id)
    return queued


async def _warn(session: AsyncSession, base_url: str, now: datetime, booking_id: int) -> bool:
    """Queue the warning of one hold; False when there was nothing new to queue."""
    booking = await booking_facts(session, booking_id)
    if booking is None or booking.hold_expires_at is None:
        return False
    to = booking.booker
    left = booking.hold_expires_at - now
    context = {
        **booking_context(booking, to.language, base_url),
        "minutes": max(1, math.ceil(left.total_seconds() / 60)),
        "deadline": moment(booking.hold_expires_at, booking.place.timezone, to.language),
        "pay_url": f"{booking_url(base_url, booking.id)}/pay",
    }
    # Once per hold: the key names the hold's own expiry.
    cause = f"booking.{booking.id}.{TEMPLATE}.{epoch(booking.hold_expires_at)}"
    return await post(session, cause, Letter(to, TEMPLATE, context), booking.place)
