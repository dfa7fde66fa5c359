"""The planning grid as values (no database): wall-clock columns across a change of clocks,
blocks merged over the hours they cover, a pool counted, closures and maintenance marked."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.schemas import AgendaEntry, BookingRead, ItemRead, PersonRead
from mutualab.web.pages.manage import grid_table
from mutualab.web.pages.manage.grid_table import Resource
from resources.schedule import Span

PARIS = ZoneInfo("Europe/Paris")
SPRING = date(2027, 3, 28)  # clocks go forward at 02:00 (UTC+1 -> UTC+2)
AUTUMN = date(2027, 10, 31)  # clocks go back at 03:00


def _open(day: date, *spans: tuple[int, int]) -> list[Span]:
    return [
        Span(datetime.combine(day, time(a), PARIS), datetime.combine(day, time(b), PARIS))
        for a, b in spans
    ]


def _entry(
    booking_id: int,
    resource_id: int,
    start: datetime,
    end: datetime,
    *,
    quantity: int = 1,
    status: str = "confirmed",
) -> AgendaEntry:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    return AgendaEntry(
        booking=BookingRead(
            id=booking_id,
            reference=f"MLB-{booking_id}",
            status=status,  # type: ignore[arg-type]
            place_id=1,
            timezone="Europe/Paris",
            booker_user_id=1,
            organisation_id=None,
            user_type_code="citizen",
            starts_at=start.astimezone(UTC),
            ends_at=end.astimezone(UTC),
            local_starts_at=start,
            local_ends_at=end,
            hold_expires_at=None,
            series_id=None,
            sequence=0,
            notes="",
            status_reason="",
            items=[
                ItemRead(resource_id=resource_id, resource_name="r", quantity=quantity, units=[])
            ],
            created_at=now,
            updated_at=now,
            cancelled_at=None,
        ),
        booker=PersonRead(user_id=1, display_name="Yann", email="yann@example.fr"),
        organisation=None,
    )


def test_columns_follow_the_wall_clock_when_clocks_change() -> None:
    # Open 00:00-06:00 on the spring day: the hour 02:00 does not exist that night, so the
    # columns are 00, 01, 03, 04, 05 in wall-clock time, each an hour long.
    spans = _open(SPRING, (0, 6))
    columns = grid_table.day_columns(SPRING, spans, PARIS)
    assert [c[0].astimezone(UTC).astimezone(PARIS).hour for c in columns] == [0, 1, 3, 4, 5]
    assert {c[1].astimezone(UTC) - c[0].astimezone(UTC) for c in columns} == {timedelta(hours=1)}
    # In autumn 02:00 comes twice: its column lasts the two real hours.
    autumn_night = grid_table.day_columns(AUTUMN, _open(AUTUMN, (0, 6)), PARIS)
    lengths = [c[1].astimezone(UTC) - c[0].astimezone(UTC) for c in autumn_night]
    assert lengths == [timedelta(hours=h) for h in (1, 1, 2, 1, 1, 1)]
    # A working day after the change: 09:00 is 07:00 UTC (was 08:00 UTC the day before).
    after = grid_table.day_columns(
        SPRING + timedelta(days=1), _open(SPRING + timedelta(days=1), (9, 12)), PARIS
    )
    before = grid_table.day_columns(
        SPRING - timedelta(days=1), _open(SPRING - timedelta(days=1), (9, 12)), PARIS
    )
    assert after[0][0].astimezone(UTC).hour == 7
    assert before[0][0].astimezone(UTC).hour == 8
    # The autumn day has its 09:00 at 08:00 UTC again.
    autumn = grid_table.day_columns(AUTUMN, _open(AUTUMN, (9, 12)), PARIS)
    assert autumn[0][0].astimezone(UTC) == datetime(2027, 10, 31, 8, tzinfo=UTC)


def test_the_hours_shown_are_the_opening_hours_or_a_working_day() -> None:
    day = date(2027, 3, 3)
    assert grid_table.hours_of(day, _open(day, (9, 12), (14, 18)), PARIS) == (9, 18)
    half = [Span(datetime.combine(day, time(9), PARIS), datetime.combine(day, time(12, 30), PARIS))]
    assert grid_table.hours_of(day, half, PARIS) == (9, 13)
    assert grid_table.hours_of(day, [], PARIS) == grid_table.DEFAULT_HOURS


def test_a_booking_is_one_block_over_its_hours_and_a_pool_is_counted() -> None:
    day = date(2027, 3, 3)
    spans = _open(day, (9, 12), (14, 18))
    at = lambda h, m=0: datetime.combine(day, time(h, m), PARIS)  # noqa: E731
    entries = [
        _entry(1, 10, at(9), at(11)),
        _entry(2, 10, at(11), at(11, 30)),
        _entry(3, 20, at(9), at(10), quantity=3),
        _entry(4, 20, at(9, 30), at(10, 30), quantity=2),
        _entry(5, 10, at(15), at(16), status="pending_approval"),
    ]
    resources = [Resource(10, "Laser", 1), Resource(20, "Postes", 12)]
    blackouts = {10: [Span(at(16), at(18))]}
    grid = grid_table.build(
        grid_table.day_columns(day, spans, PARIS),
        resources,
        spans,
        blackouts,
        entries,
        {1: "succeeded", 2: "awaiting_on_site"},
        PARIS,
        merge=True,
    )
    laser, seats = grid.rows
    # 09-11 is booking 1 over two columns, 11-12 booking 2, 12 and 13 closed (lunch), ...
    assert [(c.starts_at.hour, c.span, [b.booking_id for b in c.blocks]) for c in laser.cells][
        :4
    ] == [
        (9, 2, [1]),
        (11, 1, [2]),
        (12, 1, []),
        (13, 1, []),
    ]
    assert laser.cells[2].closed and laser.cells[3].closed and not laser.cells[1].closed
    states = {b.booking_id: b.state for b in laser.blocks}
    assert states == {1: "paid", 2: "unpaid", 5: "pending"}
    assert [c.blackout for c in laser.cells if c.starts_at.hour >= 16] == [True, True]
    assert laser.cells[-1].free(1) == 0  # out for maintenance
    # The pool: 3 then 5 seats at once between 09:30 and 10:00, 2 from 10:00.
    assert [c.booked for c in seats.cells[:3]] == [5, 2, 0]
    assert seats.cells[0].free(12) == 7
    assert len(seats.cells) == 9  # never merged


def test_the_first_free_hour_of_a_day_skips_what_is_booked() -> None:
    day = date(2027, 3, 3)
    spans = _open(day, (9, 12), (14, 18))
    at = lambda h: datetime.combine(day, time(h), PARIS)  # noqa: E731
    week = grid_table.build(
        grid_table.week_columns(date(2027, 3, 1), PARIS),
        [Resource(10, "Laser", 1)],
        spans,
        {},
        [_entry(1, 10, at(9), at(12))],
        {},
        PARIS,
        merge=False,
    )
    wednesday = week.rows[0].cells[2]
    assert grid_table.first_free(spans, wednesday, 1) == at(14)
    assert grid_table.first_free(spans, week.rows[0].cells[3], 1) is None  # not open


def test_a_block_is_coloured_by_what_needs_doing() -> None:
    start = datetime(2027, 3, 2, 14, tzinfo=PARIS)
    end = start + timedelta(hours=1)
    held, pending, paid, due, free = (
        _entry(1, 1, start, end, status="held"),
        _entry(2, 1, start, end, status="pending_approval"),
        _entry(3, 1, start, end),
        _entry(4, 1, start, end),
        _entry(5, 1, start, end),
    )
    payments = {3: "succeeded", 4: "awaiting_on_site"}
    states = [grid_table.state_of(e, payments) for e in (held, pending, paid, due, free)]
    assert states == ["held", "pending", "paid", "unpaid", "free"]
    # Arrived outranks paid or not: the person is there.
    arrived = due.model_copy(
        update={"booking": due.booking.model_copy(update={"checked_in_at": start})}
    )
    assert grid_table.state_of(arrived, payments) == "arrived"
