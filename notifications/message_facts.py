"""What the messages say, read from the domains' tables as plain data (the message queries).

Messages are written by the worker after the change committed, so they read the booking as it
is now; what the event itself carries (previous status, reason, who acted) comes from the event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organisation, PlaceManager, User
from billing.models import Payment, Refund, RefundStatus
from booking.feeds.models import CalendarFeed
from booking.models import Booking, BookingItem, BookingSeries
from notifications.wording import language_of
from resources.models import Place, Resource


@dataclass(frozen=True)
class Recipient:
    """Someone a message goes to."""

    user_id: int
    email: str
    name: str
    language: str
    reminders: bool


@dataclass(frozen=True)
class PlaceFacts:
    """A place as messages show it."""

    id: int
    name: str
    timezone: str
    email: str | None
    address: str
    # The reminder of its bookings' calendar files, in minutes before (0: none).
    ics_alarm_minutes: int = 0


@dataclass(frozen=True)
class BookingFacts:
    """A booking, its place, its booker and what it takes."""

    id: int
    reference: str
    status: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    updated_at: datetime
    hold_expires_at: datetime | None
    booker: Recipient
    organisation: str | None
    place: PlaceFacts
    resources: tuple[str, ...]


CARD = "card"


async def paid_by_card(session: AsyncSession, booking_id: int) -> bool:
    """Whether the booking's payment is by card (its hold waits for a card payment)."""
    method = (
        await session.exec(select(Payment.method).where(Payment.booking_id == booking_id))
    ).first()
    return method == CARD


async def booked_with_series(session: AsyncSession, booking_id: int) -> bool:
    """Whether the booking was made with its series, in the same change (one message tells
    the whole series); a date booked later, when the horizon reached it, is not."""
    found = await session.exec(
        select(
            exists().where(
                col(Booking.id) == booking_id,
                col(BookingSeries.id) == Booking.series_id,
                col(BookingSeries.created_at) == Booking.created_at,
            )
        )
    )
    return bool(found.one())


async def has_feed(session: AsyncSession, user_id: int) -> bool:
    """Whether the user subscribes to a private calendar feed (one not revoked)."""
    found = await session.exec(
        select(
            exists().where(
                col(CalendarFeed.user_id) == user_id, col(CalendarFeed.revoked_at).is_(None)
            )
        )
    )
    return bool(found.one())


def _recipient(user: User) -> Recipient:
    assert user.id is not None
    return Recipient(
        user_id=user.id,
        email=user.email,
        name=user.display_name,
        language=language_of(user.language),
        reminders=user.reminders,
    )


def _place(place: Place) -> PlaceFacts:
    assert place.id is not None
    return PlaceFacts(
        id=place.id,
        name=place.name,
        timezone=place.timezone,
        email=place.email,
        address=f"{place.address}, {place.postcode} {place.town}",
        ics_alarm_minutes=place.ics_alarm_minutes,
    )


def _reachable(user: User) -> bool:
    # An erased or deactivated account gets no mail.
    return user.active and user.deleted_at is None


async def booking_facts(session: AsyncSession, booking_id: int) -> BookingFacts | None:
    """The booking ``booking_id`` with what its messages show (None: gone, or its booker is;
    or the place's own, a session's resources: the programme's messages tell its people)."""
    row = (
        await session.exec(
            select(Booking, User, Place)
            .join(User, col(User.id) == Booking.booker_user_id)
            .join(Place, col(Place.id) == Booking.place_id)
            .where(Booking.id == booking_id)
        )
    ).first()
    if row is None:
        return None
    booking, user, place = row
    if not _reachable(user) or booking.place_use:
        return None
    names = await session.exec(
        select(Resource.name)
        .join(BookingItem, col(BookingItem.resource_id) == Resource.id)
        .where(BookingItem.booking_id == booking_id)
        .order_by(col(BookingItem.id))
    )
    organisation = None
    if booking.organisation_id is not None:
        organisation = (
            await session.exec(
                select(Organisation.name).where(Organisation.id == booking.organisation_id)
            )
        ).first()
    assert booking.id is not None
    return BookingFacts(
        id=booking.id,
        reference=booking.reference,
        status=booking.status,
        sequence=booking.sequence,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        updated_at=booking.updated_at,
        hold_expires_at=booking.hold_expires_at,
        booker=_recipient(user),
        organisation=organisation,
        place=_place(place),
        resources=tuple(names.all()),
    )


async def place_facts(session: AsyncSession, place_id: int) -> PlaceFacts | None:
    """A place by id."""
    place = await session.get(Place, place_id)
    return None if place is None else _place(place)


async def user_recipient(session: AsyncSession, user_id: int) -> Recipient | None:
    """A user who can receive mail, by id."""
    user = await session.get(User, user_id)
    return None if user is None or not _reachable(user) else _recipient(user)


async def managers_of(session: AsyncSession, place_id: int) -> Sequence[Recipient]:
    """The place's managers who can receive mail, in a stable order."""
    users = await session.exec(
        select(User)
        .join(PlaceManager, col(PlaceManager.user_id) == User.id)
        .where(PlaceManager.place_id == place_id, col(User.active), col(User.deleted_at).is_(None))
        .order_by(col(User.id))
    )
    return [_recipient(user) for user in users]


async def refunded_for(session: AsyncSession, booking_id: int) -> tuple[int, str] | None:
    """What billing refunds (or is refunding) for the booking: cents and currency, or None."""
    row = (
        await session.exec(
            select(func.sum(Refund.amount_cents), Payment.currency)
            .join(Payment, col(Payment.id) == Refund.payment_id)
            .where(
                Payment.booking_id == booking_id,
                col(Refund.status) != RefundStatus.FAILED,
            )
            .group_by(col(Payment.currency))
        )
    ).first()
    if row is None or not row[0]:
        return None
    return int(row[0]), row[1]
