"""``book_units()``, the PostgreSQL function a new booking is checked and inserted by.

Called the way the service calls it (BookingRepository.book_units), on a furnished fablab: each
outcome, what it writes (nothing unless booked, but the lapsed holds in its way) and which units
it picks. The API tests cover
the same paths end to end; these pin the function's own contract.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, text

from booking.allocation import REFERENCE_ALPHABET, new_reference
from booking.models import Booking, BookingAllocation
from booking.repository import BookingRepository, BookOutcome
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
    alone: bool = False,
    move: int | None = None,
) -> BookOutcome:
    async with database.writer() as session, session.begin():
        return await BookingRepository(session).book_units(
            booking,
            items,
            {rid: booking.ends_at for rid, _ in items},
            now or paris(2027, 3, 1, 9),
            revision,
            references or [booking.reference],
            alone=alone,
            move=move,
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


async def test_a_lapsed_hold_in_the_way_is_expired_by_the_same_call(
    api: Client, lab: Fablab, database: Database
) -> None:
    """The hold on the room lapsed 11 minutes later: book_units expires it (its allocations
    freed, its sequence bumped) and books the room, and says which bookings it expired so the
    service tells the listeners."""
    alice = await make_user(database, "alice@example.org")
    held = (await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM, hold_minutes=10)).json()
    later = paris(2027, 3, 1, 9, 11)
    bookings, allocations = await count(database, Booking), await count(database, BookingAllocation)
    # A call that would commit on its own cannot have the expiry heard in its transaction: it
    # answers "lapsed" and writes nothing; the caller calls again inside its transaction.
    on_its_own = await call(
        database, new_booking(lab, alice), [(lab.room, 1)], now=later, alone=True
    )
    assert (on_its_own.outcome, on_its_own.expired) == ("lapsed", ())
    assert (await count(database, Booking), await count(database, BookingAllocation)) == (
        bookings,
        allocations,
    )
    booking = new_booking(lab, alice)
    outcome = await call(database, booking, [(lab.room, 1)], now=later)
    assert (outcome.outcome, outcome.expired) == ("booked", (held["id"],))
    async with database.reader() as session:
        row = (
            await (await session.connection()).execute(
                text("SELECT status, sequence, updated_at FROM booking WHERE id = :id"),
                {"id": held["id"]},
            )
        ).one()
        active = (
            await (await session.connection()).execute(
                text("SELECT bool_or(active) FROM booking_allocation WHERE booking_id = :id"),
                {"id": held["id"]},
            )
        ).scalar_one()
    assert tuple(row) == ("expired", held["sequence"] + 1, later)
    assert active is False
    # Nothing lapsed in the way of the next one: nothing expired.
    again = await call(database, new_booking(lab, alice, "MLB-CCCCCC"), [(lab.laser, 1)], now=later)
    assert (again.outcome, again.expired) == ("booked", ())


async def test_a_move_replaces_the_allocations_of_the_booking_on_its_items(
    api: Client, lab: Fablab, database: Database
) -> None:
    """``move``: the booking's own units do not count as busy; its allocations are replaced on
    its items, no booking is inserted, and a refusal leaves the old ones in place."""
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    moved = (await book(api, alice, [(lab.seats, 2)], TUESDAY_2PM, TUESDAY_3PM)).json()
    assert (
        await book(api, bob, [(lab.seats, 9)], TUESDAY_3PM, TUESDAY_3PM + timedelta(hours=1))
    ).status_code == 201

    async def allocations() -> list[tuple[object, ...]]:
        async with database.reader() as session:
            rows = await (await session.connection()).execute(
                text(
                    "SELECT a.item_id, a.unit_id, a.starts_at, a.active FROM booking_allocation a "
                    "WHERE a.booking_id = :id ORDER BY a.unit_id"
                ),
                {"id": moved["id"]},
            )
            return [tuple(row) for row in rows]

    before = await allocations()
    bookings = await count(database, Booking)
    later = new_booking(lab, alice, "MLB-DDDDDD")
    later.starts_at, later.ends_at = (
        TUESDAY_2PM + timedelta(minutes=30),
        TUESDAY_3PM + timedelta(minutes=30),
    )
    # Bob holds 9 of the 12 seats from 3 pm: 3 are free, alice's own 2 among them.
    refused = await call(database, later, [(lab.seats, 4)], move=moved["id"])
    assert (refused.outcome, refused.free_units) == ("unavailable", 3)
    assert await allocations() == before
    outcome = await call(database, later, [(lab.seats, 2)], move=moved["id"])
    assert (outcome.outcome, outcome.booking_id, outcome.reference) == ("booked", moved["id"], None)
    after = await allocations()
    assert len(after) == 2
    assert {row[0] for row in after} == {row[0] for row in before}  # the same item
    assert {row[2] for row in after} == {later.starts_at}
    assert all(row[3] for row in after)
    assert later.id is None  # nothing inserted
    assert await count(database, Booking) == bookings


def test_references_are_short_unambiguous_and_use_every_letter() -> None:
    drawn = [new_reference() for _ in range(2000)]
    assert all(re.fullmatch(r"MLB-[2-9A-HJ-NP-Z]{6}", reference) for reference in drawn)
    # 12,000 letters from 32: each is missing with a chance of about 1e-164.
    assert {letter for reference in drawn for letter in reference[4:]} == set(REFERENCE_ALPHABET)


async def test_its_statements_keep_one_plan_per_connection(database: Database) -> None:
    # Its statements take arrays and time ranges: left to choose, PL/pgSQL planned most of them
    # anew on every call (migration 0046). A later CREATE OR REPLACE must state this again.
    async with database.reader() as session:
        settings = await session.execute(
            text("SELECT proconfig FROM pg_proc WHERE proname = 'book_units'")
        )
        assert settings.scalar_one() == ["plan_cache_mode=force_generic_plan"]


# Thirty days of the printer's hours, booked back to back before TUESDAY_2PM: a busy month.
_A_BUSY_MONTH = """
WITH hours AS (
    SELECT n, CAST(:start AS timestamptz) - make_interval(hours => n) AS starts_at
    FROM generate_series(1, 720) AS n
), made AS (
    INSERT INTO booking (
        reference, place_id, booker_user_id, user_type_code, status, starts_at, ends_at,
        sequence, notes, status_reason, created_at, updated_at
    )
    SELECT 'MLB-M' || lpad(n::text, 5, '0'), :place, :user, 'citizen', 'confirmed', starts_at,
        starts_at + interval '1 hour', 0, '', '', now(), now()
    FROM hours
    RETURNING id, starts_at
), items AS (
    INSERT INTO booking_item (booking_id, resource_id, quantity)
    SELECT id, :printer, 1 FROM made
    RETURNING id, booking_id
)
INSERT INTO booking_allocation (
    booking_id, item_id, resource_id, unit_id, starts_at, blocked_until, active
)
SELECT made.id, items.id, :printer, :unit, made.starts_at, made.starts_at + interval '1 hour', true
FROM made JOIN items ON items.booking_id = made.id
"""

_SCANS = """
SELECT pg_stat_get_xact_numscans('ix_booking_allocation_unit_start'::regclass),
       pg_stat_get_xact_numscans('ix_booking_allocation_resource_start'::regclass),
       pg_stat_get_xact_numscans('ix_booking_allocation_hold'::regclass)
"""


async def test_a_busy_month_is_not_read_to_book_the_next_hour(
    lab: Fablab, database: Database
) -> None:
    """A unit's overlaps are found by the exclusion constraint's index and the lapsed holds by
    the live holds' index (migration 0048): the month of bookings before the new one, which
    the month-long scans of ``ix_booking_allocation_unit_start`` and ``…_resource_start``
    walked row by row, is not read, so a booking costs the same however busy its unit is."""
    alice = await make_user(database, "alice@example.org")
    async with database.writer() as session, session.begin():
        unit = (
            await session.execute(
                text("SELECT id FROM resource_unit WHERE resource_id = :r"), {"r": lab.printer}
            )
        ).scalar_one()
        await session.execute(
            text(_A_BUSY_MONTH),
            {
                "start": TUESDAY_2PM,
                "place": lab.place_id,
                "user": alice.user_id,
                "printer": lab.printer,
                "unit": unit,
            },
        )
    async with database.writer() as session:
        await session.execute(text("ANALYZE booking_allocation"))
        await session.commit()
    async with database.writer() as session, session.begin():
        outcome = await BookingRepository(session).book_units(
            new_booking(lab, alice),
            [(lab.printer, 1)],
            {lab.printer: TUESDAY_3PM},
            paris(2027, 3, 1, 9),
            None,
            ["MLB-AAAAAA"],
        )
        assert outcome.outcome == "booked"
        unit_start, resource_start, live_holds = (await session.execute(text(_SCANS))).one()
    assert (unit_start, resource_start) == (0, 0)
    assert live_holds == 1
