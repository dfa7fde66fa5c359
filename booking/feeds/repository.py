"""Queries of the calendar export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Membership, Organisation, User
from booking.feeds.models import CalendarFeed
from booking.models import ACTIVE_STATUSES, Booking, BookingItem


def _in_window(start: datetime, end: datetime, ended_since: datetime) -> ColumnElement[bool]:
    # Live bookings in the window, plus recently ended ones (cancelled, refused, expired) so
    # that subscribed clients see STATUS:CANCELLED and remove the event.
    ended_at = func.coalesce(col(Booking.cancelled_at), col(Booking.updated_at))
    return and_(
        col(Booking.starts_at) < end,
        col(Booking.ends_at) > start,
        or_(col(Booking.status).in_(ACTIVE_STATUSES), ended_at >= ended_since),
    )


class FeedRepository:
    """Feeds and the bookings they show."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, feed: CalendarFeed) -> None:
        """Store a new feed."""
        self.session.add(feed)
        await self.session.flush()

    async def purge_revoked(self, revoked_before: datetime) -> int:
        """Delete the feeds revoked before ``revoked_before`` (a revoked address answers 404
        whether or not its row is kept); how many went."""
        result = await self.session.exec(
            delete(CalendarFeed).where(col(CalendarFeed.revoked_at) < revoked_before)
        )
        return int(result.rowcount or 0)

    async def by_token_digest(self, token_sha256: str) -> CalendarFeed | None:
        """The live feed with this token: not revoked, and an organisation's only while the
        admin who created it (the one person who saw its address) is still one of its admins,
        or a platform administrator."""
        creator_still_admin = or_(
            select(Membership.id)
            .where(
                Membership.organisation_id == CalendarFeed.organisation_id,
                Membership.user_id == CalendarFeed.created_by_user_id,
                Membership.role == "admin",
            )
            .exists(),
            select(User.id)
            .where(User.id == CalendarFeed.created_by_user_id, col(User.is_platform_admin))
            .exists(),
        )
        rows = await self.session.exec(
            select(CalendarFeed).where(
                CalendarFeed.token_sha256 == token_sha256,
                col(CalendarFeed.revoked_at).is_(None),
                or_(col(CalendarFeed.organisation_id).is_(None), creator_still_admin),
            )
        )
        return rows.first()

    async def revoke_feeds(
        self, *, user_id: int | None = None, organisation_id: int | None = None, at: datetime
    ) -> int:
        """Revoke the live feeds of a user or an organisation; how many were live."""
        owner = (
            col(CalendarFeed.user_id) == user_id
            if user_id is not None
            else col(CalendarFeed.organisation_id) == organisation_id
        )
        result = await self.session.exec(
            update(CalendarFeed)
            .where(owner, col(CalendarFeed.revoked_at).is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount or 0)

    async def organisation_exists(self, organisation_id: int) -> bool:
        """Whether an organisation exists."""
        return await self.session.get(Organisation, organisation_id) is not None

    async def bookings(
        self,
        *,
        start: datetime,
        end: datetime,
        ended_since: datetime,
        user_id: int | None = None,
        organisation_id: int | None = None,
        resource_id: int | None = None,
        place_id: int | None = None,
        live_only: bool = False,
    ) -> Sequence[Booking]:
        """Bookings of one owner, resource or place overlapping [start, end), by start."""
        query = select(Booking).where(_in_window(start, end, ended_since))
        if user_id is not None:
            query = query.where(Booking.booker_user_id == user_id)
        if organisation_id is not None:
            query = query.where(Booking.organisation_id == organisation_id)
        if place_id is not None:
            query = query.where(Booking.place_id == place_id)
        if resource_id is not None:
            query = query.where(
                col(Booking.id).in_(
                    select(BookingItem.booking_id).where(BookingItem.resource_id == resource_id)
                )
            )
        if live_only:
            query = query.where(col(Booking.status).in_(ACTIVE_STATUSES))
        rows = await self.session.exec(query.order_by(col(Booking.starts_at), col(Booking.id)))
        return rows.all()
