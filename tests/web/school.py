"""A school's world for the school-journey tests, built through the services: a place in
Morlaix with a classroom and 12 seats, priced for schools on invoice, a collège with its
SIRET, a teacher, and three Tuesdays that cannot be booked.

Dates are relative to ``now``: the term is six Tuesdays from the first one at least a week
ahead. Its 2nd Tuesday the place is closed, its 3rd the room is taken, its 4th only 7 of the
12 seats are free. Each date costs 108.30 EUR: the room 2 h x 25 EUR (VAT exempt) plus
12 seats x 2 h x 2 EUR + 5 EUR, 10 % VAT (58.30 EUR).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from accounts.models import Membership, Organisation
from billing.prices import PriceService
from billing.repository import BillingRepository
from billing.schemas import BillingSettingsWrite, PriceListWrite, RateWrite, VatWrite
from booking.schemas import BookingCreate, ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from resources.hours import french_public_holidays
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
from tests.web.seed import ADMIN, PARIS, PASSWORD

SCHOOL_NAME = "Collège Tristan Corbière"
SCHOOL_SIRET = "19220012900018"
PER_DATE_CENTS = 10830
TUESDAY = 1


@dataclass(frozen=True)
class School:
    """Ids, names and dates of the school's world."""

    place_id: int
    room_id: int
    seats_id: int
    organisation_id: int
    teacher_email: str
    tuesdays: list[date]
    closed_day: date
    taken_day: date
    short_day: date

    @property
    def free_days(self) -> list[date]:
        """The Tuesdays that can be booked."""
        return [
            d for d in self.tuesdays if d not in (self.closed_day, self.taken_day, self.short_day)
        ]


def first_tuesday(today: date) -> date:
    """The first Tuesday at least a week after ``today``."""
    day = today + timedelta(days=7)
    return day + timedelta(days=(TUESDAY - day.weekday()) % 7)


def _no_holiday(tuesdays: list[date]) -> bool:
    return not set(tuesdays) & set(french_public_holidays(tuesdays[0], tuesdays[-1]))


async def seed_school(
    database: Database, now: datetime, *, slug: str = "tiers-lieu-morlaix"
) -> School:
    """Create the school's world and return what tests need to find in it."""
    today = now.astimezone(PARIS).date()
    start = first_tuesday(today)
    tuesdays = [start + timedelta(weeks=n) for n in range(6)]
    while not _no_holiday(tuesdays):  # public holidays would add conflicts the tests don't expect
        tuesdays = [d + timedelta(weeks=1) for d in tuesdays]
    async with database.writer() as session, session.begin():
        catalogue = CatalogueService(CatalogueRepository(session))
        place = await catalogue.create_place(
            PlaceCreate(
                slug=slug,
                name="Tiers-lieu du Pays de Morlaix",
                address="2 place des Otages",
                postcode="29600",
                town="Morlaix",
                operator_name="Morlaix Communauté",
                operator_siret="73282932000074",
            )
        )
        spans = [OpeningSpan(weekday=d, opens=time(8), closes=time(20)) for d in range(6)]
        await catalogue.set_opening_hours(ADMIN, place.id, OpeningHoursUpdate(spans=spans))
        await catalogue.set_exception(
            ADMIN, place.id, tuesdays[1], PlaceExceptionWrite(closed=True, reason="Vacances")
        )
        seats = await catalogue.create_resource(
            ADMIN,
            place.id,
            ResourceCreate(
                name="Postes informatiques",
                kind="software_seats",
                capacity=12,
                slot_minutes=60,
                min_minutes=60,
                max_advance_days=365,
            ),
        )
        room = await catalogue.create_resource(
            ADMIN,
            place.id,
            ResourceCreate(
                name="Salle de classe",
                kind="space",
                description="Salle de 30 places avec vidéoprojecteur.",
                max_advance_days=365,
            ),
        )
        prices = PriceService(BillingRepository(session), catalogue, card_available=False)
        await prices.set_price_list(
            ADMIN,
            place.id,
            PriceListWrite(
                resource_id=room.id,
                vat=VatWrite(kind="exempt"),
                rates=[RateWrite(user_type="*", hourly_cents=2500)],
            ),
            now,
        )
        await prices.set_price_list(
            ADMIN,
            place.id,
            PriceListWrite(
                resource_id=seats.id,
                vat=VatWrite(kind="taxable", rate=Decimal("10")),
                rates=[
                    RateWrite(user_type="*", hourly_cents=200, per_unit=True, flat_fee_cents=500)
                ],
            ),
            now,
        )
        await prices.set_settings(
            ADMIN,
            place.id,
            BillingSettingsWrite(
                invoice_prefix="TLM",
                seller_vat_number="FR40732829320",
                payment_methods={"school": ["invoice"], "*": ["on_site"]},
                refund_tiers=[],
            ),
            now,
        )
        organisation = Organisation(
            name=SCHOOL_NAME,
            user_type_code="school",
            siret=SCHOOL_SIRET,
            billing_address="12 rue de Brest",
            billing_postcode="29600",
            billing_town="Morlaix",
            requires_purchase_order=True,
            verified_at=now,  # checked by a platform admin: its rate and invoices apply
        )
        session.add(organisation)
        await session.flush()
        assert organisation.id is not None
        organisation_id = organisation.id
    password_hash = stored_hash(PASSWORD)
    teacher_email = f"prof@{slug}.example"
    teacher = await make_user(database, teacher_email, password_hash=password_hash)
    club = await make_user(database, f"club@{slug}.example")
    async with (
        runtime_on(database, lambda: now) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        session.add(
            Membership(organisation_id=organisation_id, user_id=teacher.user_id, role="booker")
        )
        bookings = runtime.booking.bookings(session)
        # The club books at the desk: staff of the place, so payable on site (a priced
        # booking is made without checkout only by the place's managers).
        club_actor = Actor(
            user_id=club.user_id, via="session", managed_place_ids=frozenset({place.id})
        )
        for day, items in (
            (tuesdays[2], [ItemRequest(resource_id=room.id)]),
            (tuesdays[3], [ItemRequest(resource_id=seats.id, quantity=5)]),
        ):
            await bookings.create(
                club_actor,
                BookingCreate(
                    items=items,
                    starts_at=datetime.combine(day, time(15), PARIS),
                    ends_at=datetime.combine(day, time(16), PARIS),
                ),
            )
    return School(
        place_id=place.id,
        room_id=room.id,
        seats_id=seats.id,
        organisation_id=organisation_id,
        teacher_email=teacher_email,
        tuesdays=tuesdays,
        closed_day=tuesdays[1],
        taken_day=tuesdays[2],
        short_day=tuesdays[3],
    )
