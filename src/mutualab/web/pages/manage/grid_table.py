"""The planning grid as plain values (no I/O): resources as rows, time as columns.

A day is cut into the hours the place is open that day (in its IANA zone: each column starts
at a wall-clock hour, so a day when clocks change has its columns where the clock says); a
week into its seven days. Each cell says whether the place is closed then, whether the resource
is out for maintenance, which bookings it holds and, for a pool, how many units are booked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from billing.models import PAID, PaymentStatus
from booking.schemas import AgendaEntry
from resources.schedule import Span

DEFAULT_HOURS = (8, 20)  # a day the place is closed still shows a working day's columns
UNPAID = frozenset({PaymentStatus.AWAITING_ON_SITE, PaymentStatus.INVOICED})


@dataclass(frozen=True, slots=True)
class Resource:
    """A row: a resource and how many units it has (more than one: a pool)."""

    id: int
    name: str
    units: int


@dataclass(frozen=True, slots=True)
class Block:
    """A booking in a cell."""

    booking_id: int
    reference: str
    state: str  # held, pending, paid, unpaid, free, arrived
    starts_at: datetime  # local
    ends_at: datetime  # local
    who: str
    quantity: int


@dataclass(slots=True)
class Cell:
    """One or more columns of a row (several: one booking over consecutive hours)."""

    starts_at: datetime  # local
    ends_at: datetime  # local
    closed: bool
    blackout: bool
    blocks: list[Block] = field(default_factory=list)
    booked: int = 0
    span: int = 1

    def free(self, units: int) -> int:
        """Units still free for the whole cell (none where closed or out for maintenance)."""
        return 0 if self.closed or self.blackout else max(0, units - self.booked)


@dataclass(frozen=True, slots=True)
class Row:
    """A resource's cells, and every booking of the row once (the phone's list)."""

    resource: Resource
    cells: list[Cell]
    blocks: list[Block]


@dataclass(frozen=True, slots=True)
class Column:
    """A column heading: its local start (an hour, or a day at midnight)."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Grid:
    """The whole table."""

    columns: list[Column]
    rows: list[Row]


def state_of(entry: AgendaEntry, payments: Mapping[int, str]) -> str:
    """How a booking is coloured: held, pending (approval), arrived, paid, unpaid or free."""
    booking = entry.booking
    if booking.status == "held":
        return "held"
    if booking.status == "pending_approval":
        return "pending"
    if booking.checked_in_at is not None:
        return "arrived"
    payment = payments.get(booking.id)
    if payment in PAID:
        return "paid"
    if payment in UNPAID:
        return "unpaid"
    return "free"


def _u(moment: datetime) -> datetime:
    """In UTC: times of one zone compare by their wall clock in Python, wrong across a change
    of clocks, so every comparison here is made in UTC."""
    return moment.astimezone(UTC)


def _local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock hour of ``day`` starts (24: the next midnight), as the zone
    writes it (an hour skipped when clocks go forward reads as the hour after)."""
    if hour >= 24:
        return _u(datetime.combine(day + timedelta(days=1), time(0), tz)).astimezone(tz)
    return _u(datetime.combine(day, time(hour), tz)).astimezone(tz)


def hours_of(day: date, open_spans: Sequence[Span], tz: ZoneInfo) -> tuple[int, int]:
    """The first and last (exclusive) wall-clock hours of the columns of ``day``."""
    first, last = 24, 0
    day_start, day_end = _local(day, 0, tz), _local(day, 24, tz)
    for span in open_spans:
        start, end = max(span.start, day_start), min(span.end, day_end)
        if start >= end:
            continue
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        first = min(first, local_start.hour)
        closing = 24 if local_end.date() > day else local_end.hour + (local_end.minute > 0)
        last = max(last, closing)
    return (first, last) if first < last else DEFAULT_HOURS


def _overlaps(spans: Sequence[Span], start: datetime, end: datetime) -> bool:
    return any(s.start < end and start < s.end for s in spans)


def _covered(spans: Sequence[Span], start: datetime, end: datetime) -> bool:
    """Whether some span covers part of [start, end) (the place is open then)."""
    return _overlaps(spans, start, end)


def _peak(blocks: Sequence[Block], start: datetime, end: datetime) -> int:
    """The most units booked at once within [start, end)."""
    points = sorted(
        {_u(start), *(_u(b.starts_at) for b in blocks if _u(start) < _u(b.starts_at) < _u(end))}
    )
    peak = 0
    for moment in points:
        peak = max(
            peak,
            sum(b.quantity for b in blocks if _u(b.starts_at) <= moment < _u(b.ends_at)),
        )
    return peak


def build(
    columns: Sequence[tuple[datetime, datetime]],
    resources: Sequence[Resource],
    open_spans: Sequence[Span],
    blackouts: Mapping[int, Sequence[Span]],
    entries: Sequence[AgendaEntry],
    payments: Mapping[int, str],
    tz: ZoneInfo,
    *,
    merge: bool,
) -> Grid:
    """The grid over ``columns`` (local starts and ends); ``merge``: consecutive cells of a
    single-unit resource holding the same bookings become one."""
    by_resource: dict[int, list[Block]] = {r.id: [] for r in resources}
    for entry in entries:
        booking = entry.booking
        who = entry.organisation.name if entry.organisation else entry.booker.display_name
        for item in booking.items:
            if item.resource_id in by_resource:
                by_resource[item.resource_id].append(
                    Block(
                        booking_id=booking.id,
                        reference=booking.reference,
                        state=state_of(entry, payments),
                        starts_at=booking.starts_at.astimezone(tz),
                        ends_at=booking.ends_at.astimezone(tz),
                        who=who,
                        quantity=item.quantity,
                    )
                )
    rows = []
    for resource in resources:
        blocks = sorted(by_resource[resource.id], key=lambda b: (b.starts_at, b.booking_id))
        cells: list[Cell] = []
        for start, end in columns:
            inside = [b for b in blocks if _u(b.starts_at) < _u(end) and _u(start) < _u(b.ends_at)]
            cell = Cell(
                starts_at=start,
                ends_at=end,
                closed=not _covered(open_spans, start, end),
                blackout=_overlaps(blackouts.get(resource.id, ()), start, end),
                blocks=inside,
                booked=_peak(inside, start, end),
            )
            previous = cells[-1] if cells else None
            if (
                merge
                and resource.units == 1
                and previous is not None
                and inside
                and [b.booking_id for b in previous.blocks] == [b.booking_id for b in inside]
                and previous.blackout == cell.blackout
            ):
                previous.span += 1
                previous.ends_at = end
                previous.closed = previous.closed and cell.closed
                continue
            cells.append(cell)
        rows.append(Row(resource=resource, cells=cells, blocks=blocks))
    return Grid(columns=[Column(s, e) for s, e in columns], rows=rows)


def day_columns(
    day: date, open_spans: Sequence[Span], tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """One column per wall-clock hour the place is open on ``day``."""
    first, last = hours_of(day, open_spans, tz)
    columns = [(_local(day, h, tz), _local(day, h + 1, tz)) for h in range(first, last)]
    # The hour skipped when clocks go forward does not exist: no column for it.
    return [(start, end) for start, end in columns if _u(end) > _u(start)]


def week_columns(monday: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """One column per day of the week."""
    return [
        (_local(monday + timedelta(days=n), 0, tz), _local(monday + timedelta(days=n), 24, tz))
        for n in range(7)
    ]


def first_free(
    open_spans: Sequence[Span], cell: Cell, units: int, step: timedelta = timedelta(hours=1)
) -> datetime | None:
    """The first open hour of a cell with a unit free for all of it (a week's day: where the
    front desk starts), in the cell's zone; None when there is none."""
    if cell.blackout:
        return None
    for span in sorted(open_spans, key=lambda s: s.start):
        moment = max(_u(span.start), _u(cell.starts_at))
        end = min(_u(span.end), _u(cell.ends_at))
        while moment + step <= end:
            if _peak(cell.blocks, moment, moment + step) < units:
                return moment.astimezone(cell.starts_at.tzinfo)
            moment += step
    return None
