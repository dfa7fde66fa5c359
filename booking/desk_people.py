"""Who a place's front desk may book for: the people related to the place.

Related means: they booked there (or a member of an organisation that did), the place granted
them a rate or certified them for one of its trainings, they manage it, or it recorded them as
a walk-in: a search never lists strangers' accounts. Someone new who has an account is booked
for by typing their address as a walk-in's (:func:`accounts.guests.walk_in`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, Subquery, func, literal, or_, union
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.guests import is_placeholder
from accounts.models import Certification, Membership, PlaceManager, RateGrant, Training, User
from booking.models import Booking
from kernel.errors import NotFoundError

MAX_FOUND = 20


@dataclass(frozen=True, slots=True)
class DeskPerson:
    """A person as the front desk lists them."""

    id: int
    name: str
    email: str  # "" for a walk-in recorded without one
    phone: str
    user_type: str
    walk_in: bool


def _person(user: User) -> DeskPerson:
    assert user.id is not None
    return DeskPerson(
        id=user.id,
        name=user.display_name,
        email="" if is_placeholder(user.email) else user.email,
        phone=user.phone or "",
        user_type=user.user_type_code,
        walk_in=user.guest_place_id is not None and user.password_hash is None,
    )


def _related(place_id: int) -> Subquery:
    booked: Select[tuple[int]] = sa_select(col(Booking.booker_user_id).label("uid")).where(
        col(Booking.place_id) == place_id
    )
    members: Select[tuple[int]] = (
        sa_select(col(Membership.user_id).label("uid"))
        .join(Booking, col(Booking.organisation_id) == col(Membership.organisation_id))
        .where(col(Booking.place_id) == place_id)
    )
    granted: Select[tuple[int]] = sa_select(col(RateGrant.user_id).label("uid")).where(
        col(RateGrant.place_id) == place_id
    )
    certified: Select[tuple[int]] = (
        sa_select(col(Certification.user_id).label("uid"))
        .join(Training, col(Training.id) == col(Certification.training_id))
        .where(col(Training.place_id) == place_id)
    )
    managers: Select[tuple[int]] = sa_select(col(PlaceManager.user_id).label("uid")).where(
        col(PlaceManager.place_id) == place_id
    )
    guests: Select[tuple[int]] = sa_select(col(User.id).label("uid")).where(
        col(User.guest_place_id) == place_id
    )
    return union(booked, members, granted, certified, managers, guests).subquery()


class DeskPeople:
    """The people a manager of a place finds and books for."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(self, place_id: int, text: str) -> list[DeskPerson]:
        """People related to the place whose name, address or phone holds ``text`` (accents
        and case aside)."""
        wanted = text.strip().lower()
        if len(wanted) < 2:
            return []
        related = _related(place_id)
        cleaned = wanted.replace("\\", "").replace("%", "").replace("_", " ")
        pattern = f"%{cleaned}%"
        query = (
            select(User)
            .where(
                col(User.deleted_at).is_(None),
                col(User.active).is_(True),
                col(User.id).in_(select(related.c.uid)),
                or_(
                    func.unaccent(func.lower(col(User.display_name))).like(
                        func.unaccent(literal(pattern))
                    ),
                    func.lower(col(User.email)).like(literal(pattern)),
                    func.coalesce(col(User.phone), "").like(literal(pattern)),
                ),
            )
            .order_by(col(User.display_name), col(User.id))
            .limit(MAX_FOUND)
        )
        rows = await self.session.exec(query)
        return [_person(row) for row in rows]

    async def person(self, place_id: int, user_id: int) -> DeskPerson:
        """A person the desk may book for: related to the place (404 otherwise, as for a
        person who does not exist)."""
        related = _related(place_id)
        query = select(User).where(
            col(User.id) == user_id,
            col(User.deleted_at).is_(None),
            col(User.active).is_(True),
            col(User.id).in_(select(related.c.uid)),
        )
        row = (await self.session.exec(query)).first()
        if row is None:
            raise NotFoundError(f"No person with id {user_id} here.", code="user_not_found")
        return _person(row)
