"""``book_units()``, the PostgreSQL function a new booking is checked and inserted by.

Called the way the service calls it (BookingRepository.book_units), on a furnished fablab: each
outcome, what it writes (nothing unless booked) and which units it picks. The API tests cover
the same paths end to end; these pin the function's own contract.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, text

from booking.models import Booking, BookingAllocation
from booking.repository import BookingRepository, BookOutcome
from booking.service.kernel import _REFERENCE_ALPHABET, new_reference
from kernel.db import Database
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, book, paris

Client = httpx.AsyncClient
TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)


def new_booking(lab: Fablab, person: Person, reference: str = "MLB-AAAAAA") -> Booking:
    return Booking(
        reference=reference,
        place_id=lab.place_id,
        booker_user_id=person.user_id,
        user_type_code="citizen",
        status="confirmed",
        starts_at=TUESDAY_2PM,
        ends_at=TUESDAY_3PM,
        created_at=paris(2027, 3, 1, 9),
        updated_at=paris(2027, 3, 1, 9),
    )


async def call(
    database: Database,
    booking: Booking,
    items: list[tuple[int, int]],
    *,
    revision: int | None = None,
    references: list[str] | None = None,
    now: datetime | None = None,
) -> BookOutcome:
    async with database.writer() as session, session.begin():
        return await BookingRepository(session).book_units(
            booking,
            items,
            {rid: booking.ends_at for rid, _ in items},
            now or paris(2027, 3, 1, 9),
            revision,
            references or [booking.reference],
        )


async def count(database: Database, model: type[Booking] | type[BookingAllocation]) -> int:
    async with database.reader() as session:
        return (
            await (await session.connection()).execute(select(func.count()).select_from(model))
        ).scalar_one()


async def test_it_books_the_lowest_positions_and_tries_the_references_in_order(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    taken = (await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)).json()["reference"]
    async with database.writer() as session, session.begin():
        seats = (
            await (await session.connection()).execute(
                text("SELECT id FROM resource_unit WHERE resource_id = :r ORDER BY position"),
                {"r": lab.seats},
            )
        ).scalars()
        first, second, third = list(seats)[:3]
    # Seat 1 is busy: seats 2 and 3 are the lowest free positions.
    assert (await book(api, alice, [(lab.seats, 1)], TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    booking = new_booking(lab, alice)
    outcome = await call(
        database, booking, [(lab.printer, 1), (lab.seats, 2)], references=[taken, "MLB-BBBBBB"]
    )
    assert outcome.outcome == "booked"
    assert (outcome.reference, booking.reference) == ("MLB-BBBBBB", "MLB-BBBBBB")
    assert booking.id == outcome.booking_id is not None
    assert [unit for rid, unit in outcome.units if rid == lab.seats] == [second, third]
    assert first not in [unit for _, unit in outcome.units]
    assert [rid for rid, _ in outcome.units] == [lab.printer, lab.seats, lab.seats]


async def test_every_refusal_writes_nothing(api: Client, lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    held = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM, hold_minutes=10)
    taken = held.json()["reference"]
    assert (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    bookings, allocations = await count(database, Booking), await count(database, BookingAllocation)

    every_reference_taken = await call(
        database, new_booking(lab, alice), [(lab.laser, 1)], references=[taken]
    )
    assert every_reference_taken.outcome == "reference_taken"
    short = await call(
        database, new_booking(lab, alice), sorted([(lab.laser, 1), (lab.printer, 1)])
    )
    assert (short.outcome, short.resource_id, short.free_units) == ("unavailable", lab.printer, 0)
    too_many = await call(database, new_booking(lab, alice), [(lab.seats, 13)])
    assert (too_many.outcome, too_many.resource_id, too_many.free_units) == (
        "unavailable",
        lab.seats,
        12,
    )
    async with database.reader() as session:
        revision = (
            await (await session.connection()).execute(text("SELECT value FROM catalogue_revision"))
        ).scalar()
    assert isinstance(revision, int)
    stale = await call(database, new_booking(lab, alice), [(lab.laser, 1)], revision=revision - 1)
    assert stale.outcome == "stale"
    # The hold on the room has lapsed 11 minutes later: the caller must release it first.
    later = paris(2027, 3, 1, 9, 11)
    lapsed = await call(database, new_booking(lab, alice), [(lab.room, 1)], now=later)
    assert lapsed.outcome == "lapsed"

    assert (await count(database, Booking), await count(database, BookingAllocation)) == (
        bookings,
        allocations,
    )
    current = await call(database, new_booking(lab, alice), [(lab.laser, 1)], revision=revision)
    assert current.outcome == "booked"  # the counter it was given is the current one


async def test_the_cool_down_and_touching_ranges(
    api: Client, lab: Fablab, database: Database
) -> None:
    """The laser's 15-minute cool-down blocks the next quarter; a booking may start when the
    previous one's blocked range ends."""
    alice = await make_user(database, "alice@example.org")
    assert (await book(api, alice, lab.laser, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    soon = new_booking(lab, alice)
    soon.starts_at, soon.ends_at = TUESDAY_3PM, TUESDAY_3PM + timedelta(hours=1)
    assert (await call(database, soon, [(lab.laser, 1)])).outcome == "unavailable"
    after = new_booking(lab, alice, "MLB-CCCCCC")
    after.starts_at = TUESDAY_3PM + timedelta(minutes=15)
    after.ends_at = after.starts_at + timedelta(hours=1)
    assert (await call(database, after, [(lab.laser, 1)])).outcome == "booked"


def test_references_are_short_unambiguous_and_use_every_letter() -> None:
    drawn = [new_reference() for _ in range(2000)]
    assert all(re.fullmatch(r"MLB-[2-9A-HJ-NP-Z]{6}", reference) for reference in drawn)
    # 12,000 letters from 32: each is missing with a chance of about 1e-164.
    assert {letter for reference in drawn for letter in reference[4:]} == set(_REFERENCE_ALPHABET)
