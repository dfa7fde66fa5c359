"""A small town for page tests, built through the services: two places, people, a booking.

Used by the fast page tests (fixed clock) and by the browser tests (real clock, real server).
Dates are relative to ``now``: tomorrow is closed for inventory, the booking is on the first
ordinary opening day at least two days ahead (so its booker may still cancel it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from accounts.models import Certification, Training
from booking.schemas import BookingCreate, BookingRead, ItemRequest
from kernel.auth.actor import Actor
from kernel.clock import Clock, system_clock
from kernel.db import Database
from resources.hours import french_public_holidays
from resources.models import Resource
from resources.repository import CatalogueRepository
from resources.schemas import (
    OpeningHoursUpdate,
    OpeningSpan,
    PlaceCreate,
    PlaceExceptionWrite,
    ResourceCreate,
)
from resources.service import CatalogueService
from tests.support.accounts import make_user, stored_hash
from tests.support.apps import runtime_on

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "lantern-orchard-bicycle-73"
ADMIN = Actor(is_admin=True, via="session")
# Monday to Saturday, 09:00-12:30 and 14:00-18:00; closed on Sundays.
MORNING, AFTERNOON = (time(9), time(12, 30)), (time(14), time(18))
OPEN_DAYS = range(6)


@dataclass(frozen=True)
class Town:
    """Ids and names of what was seeded."""

    place_id: int
    other_place_id: int
    laser_id: int
    seats_id: int
    printer_id: int
    room_id: int
    training_id: int
    citizen_id: int
    citizen_email: str
    manager_email: str
    other_manager_email: str
    booking_id: int
    booking_reference: str
    booking_day: date
    closed_day: date


async def citizen_books_seats(
    database: Database,
    town: Town,
    day: date,
    hours: tuple[time, time],
    quantity: int = 1,
    clock: Clock = system_clock,
) -> BookingRead:
    """The town's citizen books ``quantity`` CAD seats of the fablab on ``day``, through the
    booking service (on ``clock``)."""
    return await _book_seats(database, clock, town.citizen_id, town.seats_id, day, hours, quantity)


async def _book_seats(
    database: Database,
    clock: Clock,
    booker_id: int,
    seats_id: int,
    day: date,
    hours: tuple[time, time],
    quantity: int,
) -> BookingRead:
    async with (
        runtime_on(database, clock) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        return await runtime.booking.bookings(session).create(
            Actor(user_id=booker_id, via="session"),
            BookingCreate(
                items=[ItemRequest(resource_id=seats_id, quantity=quantity)],
                starts_at=datetime.combine(day, hours[0], PARIS),
                ends_at=datetime.combine(day, hours[1], PARIS),
            ),
        )


def _booking_day(today: date) -> date:
    day = today + timedelta(days=2)
    holidays = french_public_holidays(day, day + timedelta(days=30))
    while day.weekday() not in OPEN_DAYS or day in holidays:
        day += timedelta(days=1)
    return day


async def seed_town(database: Database, now: datetime) -> Town:
    """Create the town and return what tests need to find in it."""
    today = now.astimezone(PARIS).date()
    closed_day = today + timedelta(days=1)
    async with database.writer() as session, session.begin():
        catalogue = CatalogueService(CatalogueRepository(session))
        place = await catalogue.create_place(
            PlaceCreate(
                slug="fablab-tregor",
                name="Fablab du Trégor",
                address="3 rue de la Mairie",
                postcode="22300",
                town="Lannion",
                phone="02 96 00 00 00",
                email="fablab@lannion.example",
                description="Atelier de fabrication numérique ouvert à tous.",
                operator_name="Commune de Lannion",
            )
        )
        other = await catalogue.create_place(
            PlaceCreate(
                slug="mediatheque-capucins",
                name="Médiathèque des Capucins",
                address="25 rue de Pontaniou",
                postcode="29200",
                town="Brest",
                operator_name="Brest métropole",
            )
        )
        spans = [
            OpeningSpan(weekday=day, opens=opens, closes=closes)
            for day in OPEN_DAYS
            for opens, closes in (MORNING, AFTERNOON)
        ]
        await catalogue.set_opening_hours(ADMIN, place.id, OpeningHoursUpdate(spans=spans))
        await catalogue.set_opening_hours(
            ADMIN,
            other.id,
            OpeningHoursUpdate(
                spans=[OpeningSpan(weekday=d, opens=time(10), closes=time(18)) for d in range(1, 6)]
            ),
        )
        await catalogue.set_exception(
            ADMIN, place.id, closed_day, PlaceExceptionWrite(closed=True, reason="Inventaire")
        )
        laser = await catalogue.create_resource(
            ADMIN,
            place.id,
            ResourceCreate(
                name="Découpeuse laser",
                kind="machine",
                description="Découpe et gravure du bois, du carton et de l'acrylique.",
                buffer_minutes=15,
                min_minutes=60,
                max_minutes=180,
            ),
        )
        seats = await catalogue.create_resource(
            ADMIN,
            place.id,
            ResourceCreate(
                name="Poste CAO",
                kind="software_seats",
                capacity=12,
                slot_minutes=60,
                min_minutes=60,
            ),
        )
        printer = await catalogue.create_resource(
            ADMIN, place.id, ResourceCreate(name="Imprimante 3D", kind="machine")
        )
        room = await catalogue.create_resource(
            ADMIN, other.id, ResourceCreate(name="Salle de réunion", kind="space")
        )
        training = Training(place_id=place.id, name="Sécurité laser", validity_days=365)
        session.add(training)
        await session.flush()
        assert training.id is not None
        await session.exec(  # type: ignore[call-overload]
            update(Resource)
            .where(Resource.id == laser.id)  # type: ignore[arg-type]
            .values(required_training_id=training.id)
        )
    password_hash = stored_hash(PASSWORD)
    citizen = await make_user(database, "camille@example.fr", password_hash=password_hash)
    await make_user(
        database, "manager@example.fr", manages=(place.id,), password_hash=password_hash
    )
    await make_user(database, "other@example.fr", manages=(other.id,), password_hash=password_hash)
    booking_day = _booking_day(today)
    async with database.writer() as session, session.begin():
        session.add(
            Certification(
                user_id=citizen.user_id, training_id=training.id, granted_on=today - timedelta(30)
            )
        )
    booking = await _book_seats(
        database, lambda: now, citizen.user_id, seats.id, booking_day, (time(10), time(11)), 3
    )
    return Town(
        place_id=place.id,
        other_place_id=other.id,
        laser_id=laser.id,
        seats_id=seats.id,
        printer_id=printer.id,
        room_id=room.id,
        training_id=training.id,
        citizen_id=citizen.user_id,
        citizen_email=citizen.email,
        manager_email="manager@example.fr",
        other_manager_email="other@example.fr",
        booking_id=booking.id,
        booking_reference=booking.reference,
        booking_day=booking_day,
        closed_day=closed_day,
    )
