"""Every query of the booking domain lives here; nowhere else in the domain writes SQL."""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    func,
    or_,
    text,
    true,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organisation, User, UserType
from booking.models import (
    ACTIVE_STATUSES,
    EXCLUSION_NAME,
    Booking,
    BookingAllocation,
    BookingItem,
    BookingPolicy,
    BookingSeries,
    BookingStatus,
)
from booking.rules import MAX_BLOCKED
from booking.state import EXPIRABLE
from kernel.driver import Statement, fetch
from kernel.idempotency import Claim
from kernel.together import Together, fetch_together
from resources.models import CatalogueRevision

Row = Booking | BookingItem | BookingAllocation | BookingPolicy | BookingSeries
# (resource_id, unit_id, starts_at, blocked_until) of an allocation that blocks its unit.
BusyRow = tuple[int, int, datetime, datetime]
_BOOKINGS = Booking.__table__  # type: ignore[attr-defined]
_ITEMS = BookingItem.__table__  # type: ignore[attr-defined]
_ALLOCATIONS = BookingAllocation.__table__  # type: ignore[attr-defined]
_A = _ALLOCATIONS.c
_NO_BOOKING = -1  # an id no booking has: "exclude nothing" without a second statement
_NO_RESOURCE = -1  # an id no resource has

# The statements every booking and availability request runs, built once. The lower bound on
# starts_at keeps them index range scans: no allocation blocks longer than MAX_BLOCKED.
_OVERLAP = (
    # Plain "active", not "active IS true": only then does PostgreSQL use the partial index
    # ix_booking_allocation_resource_start (... WHERE active).
    _A.active,
    _A.starts_at >= bindparam("earliest"),
    _A.starts_at < bindparam("end"),
    _A.blocked_until > bindparam("start"),
    _A.booking_id != bindparam("exclude"),
)
# Not a hold that has already lapsed: it stops blocking at once, even before a sweep.
_NOT_LAPSED = or_(_A.hold_expires_at.is_(None), _A.hold_expires_at > bindparam("now"))
# Busy ranges, on the driver's connection (kernel.driver): the resources as one array
# parameter (= ANY, which the index serves as the IN list does).
_BUSY = sa_select(_A.resource_id, _A.unit_id, _A.starts_at, _A.blocked_until).where(
    _A.resource_id == any_(bindparam("resource_ids", type_=ARRAY(Integer))),
    *_OVERLAP,
    _NOT_LAPSED,
)
_BUSY_DRIVER = Statement.of(_BUSY)
# The same ranges beside the catalogue counter, read in one statement (one snapshot, one round
# trip): the counter's row comes back once with no range when nothing is busy, and no row at
# all when the counter's row is missing.
_REVISION = CatalogueRevision.__table__  # type: ignore[attr-defined]
_BUSY_RANGES = _BUSY.lateral("busy")
_BUSY_AT_REVISION_DRIVER = Statement.of(
    sa_select(
        _REVISION.c.value,
        _BUSY_RANGES.c.resource_id,
        _BUSY_RANGES.c.unit_id,
        _BUSY_RANGES.c.starts_at,
        _BUSY_RANGES.c.blocked_until,
    )
    .select_from(_REVISION.outerjoin(_BUSY_RANGES, true()))
    .where(_REVISION.c.id == 1)
)


# Lock, expire lapsed holds in the way, check and insert in one call (migrations 0007, 0009).
_BOOK_UNITS = Statement.of(
    text(
        "SELECT outcome, booking_id, reference, resource_id, unit_id, free_units FROM book_units("
        ":resource_ids, :quantities, :blocked_until, :earliest, :now, :revision, :references, "
        ":place_id, :booker_user_id, :organisation_id, :user_type_code, :status, "
        ":hold_expires_at, :starts_at, :ends_at, :series_id, :notes, :release_lapsed, :move, "
        ":once_caller, :once_key, :once_fingerprint)"
    ),
    writes=True,
)

# Plain bookings that come at once go as one call of book_units_together() (migration 0049);
# a call that commits on its own never releases lapsed holds nor moves a booking.
_BOOK_UNITS_TOGETHER = Together(
    single=_BOOK_UNITS,
    many=(
        "SELECT call, outcome, booking_id, reference, resource_id, unit_id, free_units"
        " FROM book_units_together($1::book_units_call[])"
    ),
    fields=(
        "resource_ids",
        "quantities",
        "blocked_until",
        "earliest",
        "now",
        "revision",
        "references",
        "place_id",
        "booker_user_id",
        "organisation_id",
        "user_type_code",
        "status",
        "hold_expires_at",
        "starts_at",
        "ends_at",
        "series_id",
        "notes",
        "once_caller",
        "once_key",
        "once_fingerprint",
    ),
)


# The dates of a series, booked in one call inside the request's transaction (migration 0049's
# function: each call as book_units() decides it on its own, refusals leaving the others be).
_BOOK_UNITS_EACH = Statement.of(
    text(
        "SELECT call, outcome, booking_id, reference, resource_id, unit_id, free_units"
        " FROM book_units_together(CAST(:calls AS book_units_call[]))"
    ),
    writes=True,
)


@dataclass(frozen=True, slots=True)
class BookOutcome:
    """What ``book_units`` decided: ``booked``, ``stale``, ``unavailable``,
    ``reference_taken`` or (``alone`` only) ``lapsed`` (migrations 0007 and 0009 explain
    them), or for a keyed request ``in_progress``, ``replay`` (of ``booking_id``) or
    ``key_reused`` (migration 0025); and the lapsed holds in the way it expired (a refusal
    rolls them back with the transaction)."""

    outcome: str
    booking_id: int | None = None
    reference: str | None = None
    units: tuple[tuple[int, int], ...] = ()  # (resource id, unit id) allocated, when booked
    resource_id: int | None = None  # the resource short of units, when unavailable
    free_units: int = 0
    expired: tuple[int, ...] = ()  # bookings whose lapsed hold was in the way, now expired


@dataclass(frozen=True, slots=True)
class Draft:
    """A booking drafted by admission, its items, how long each unit is blocked and the
    references to try: one call of :meth:`BookingRepository.book_units_each`."""

    booking: Booking
    items: Sequence[tuple[int, int]]
    blocked_until: Mapping[int, datetime]
    references: Sequence[str]


def _book_params(
    booking: Booking,
    items: Sequence[tuple[int, int]],
    blocked_until: Mapping[int, datetime],
    now: datetime,
    revision: int | None,
    references: Sequence[str],
    *,
    alone: bool = False,
    move: int | None = None,
    once: Claim | None = None,
) -> dict[str, Any]:
    """The arguments of a ``book_units()`` call for ``booking``."""
    return {
        "resource_ids": [rid for rid, _ in items],
        "quantities": [quantity for _, quantity in items],
        "blocked_until": [blocked_until[rid] for rid, _ in items],
        "earliest": booking.starts_at - MAX_BLOCKED,
        "now": now,
        "revision": revision,
        "references": list(references),
        "place_id": booking.place_id,
        "booker_user_id": booking.booker_user_id,
        "organisation_id": booking.organisation_id,
        "user_type_code": booking.user_type_code,
        "status": booking.status,
        "hold_expires_at": booking.hold_expires_at,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "series_id": booking.series_id,
        "notes": booking.notes,
        # On its own it commits before any listener could hear of an expiry.
        "release_lapsed": not alone,
        "move": move,
        "once_caller": once.caller if once else None,
        "once_key": once.key if once else None,
        "once_fingerprint": once.fingerprint if once else None,
    }


def _outcome(rows: Sequence[Any], booked: Booking | None) -> BookOutcome:
    """What one ``book_units()`` call decided, from its rows; ``booked`` (not a move) gets
    its id and reference when booked."""
    expired = tuple(row["booking_id"] for row in rows if row["outcome"] == "expired")
    rows = [row for row in rows if row["outcome"] != "expired"]
    first = rows[0]
    if first["outcome"] != "booked":
        return BookOutcome(
            first["outcome"],
            booking_id=first["booking_id"],
            resource_id=first["resource_id"],
            free_units=first["free_units"] or 0,
            expired=expired,
        )
    if booked is not None:
        booked.id, booked.reference = first["booking_id"], first["reference"]
    return BookOutcome(
        "booked",
        booking_id=first["booking_id"],
        reference=first["reference"],
        units=tuple((row["resource_id"], row["unit_id"]) for row in rows),
        expired=expired,
    )


def _overlap_params(
    resource_ids: Sequence[int], start: datetime, end: datetime, exclude: int | None
) -> dict[str, Any]:
    return {
        "resource_ids": sorted(set(resource_ids)),
        "earliest": start - MAX_BLOCKED,
        "start": start,
        "end": end,
        "exclude": _NO_BOOKING if exclude is None else exclude,
    }


async def prime_availability(connection: PoolConnectionProxy) -> None:
    """Run an availability read on a connection opened ahead of the requests, for a resource
    that does not exist: its PostgreSQL backend then holds the tables, indexes and plan the
    reads need, and asyncpg the prepared statement (kernel.db.DirectPool.open_ahead)."""
    now = datetime.now(UTC)
    params = {**_overlap_params([_NO_RESOURCE], now, now + timedelta(days=7), None), "now": now}
    await connection.fetch(
        _BUSY_AT_REVISION_DRIVER.sql, *_BUSY_AT_REVISION_DRIVER.arguments(params)
    )


def _busy_rows(found: Sequence[Any]) -> list[BusyRow]:
    """Busy ranges as read by column name, leaving out a row without one."""
    return [
        (r["resource_id"], r["unit_id"], r["starts_at"], r["blocked_until"])
        for r in found
        if r["resource_id"] is not None
    ]


def is_exclusion_violation(exc: IntegrityError) -> bool:
    """Whether a failed insert hit the no-overlap exclusion constraint (SQLSTATE 23P01)."""
    orig = exc.orig
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if candidate is None:
            continue
        if getattr(candidate, "sqlstate", None) == "23P01":
            return True
        if getattr(candidate, "pgcode", None) == "23P01":
            return True
    return EXCLUSION_NAME in str(orig)


def _live_booking(now: datetime) -> ColumnElement[bool]:
    return and_(
        col(Booking.status).in_(ACTIVE_STATUSES),
        or_(col(Booking.hold_expires_at).is_(None), col(Booking.hold_expires_at) > now),
    )


class BookingRepository:
    """Reads and writes of bookings, allocations, series and policies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: Row) -> None:
        """Insert or update rows and learn their ids."""
        self.session.add_all(rows)
        await self.session.flush()

    # bookings -------------------------------------------------------------------
    async def get(self, booking_id: int, *, lock: bool = False) -> Booking | None:
        """A booking by id; ``lock`` takes its row lock (PostgreSQL) and re-reads it."""
        query = select(Booking).where(Booking.id == booking_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def book_units(
        self,
        booking: Booking,
        items: Sequence[tuple[int, int]],
        blocked_until: Mapping[int, datetime],
        now: datetime,
        revision: int | None,
        references: Sequence[str],
        *,
        alone: bool = False,
        move: int | None = None,
        once: Claim | None = None,
    ) -> BookOutcome:
        """Lock the units, check, pick and insert a new booking in one call.

        ``once``: the request's idempotency key, claimed and recorded with the booking by the
        same call (migration 0025).

        ``move``: the id of a stored booking to move to ``booking``'s range instead (its
        allocations replaced on its items; the caller updates its row).

        ``revision`` is the catalogue counter the caller's copy was read at (None: already
        confirmed); ``references`` are tried in order. ``booking`` gets its id and reference
        when booked. The exclusion constraint guards the allocations as in every other path.
        ``alone``: the booking is the request's whole change, so the call may commit by itself.
        """
        params = _book_params(
            booking,
            items,
            blocked_until,
            now,
            revision,
            references,
            alone=alone,
            move=move,
            once=once,
        )
        if alone and move is None:  # with other requests' plain bookings when they come at once
            rows = await fetch_together(self.session, _BOOK_UNITS_TOGETHER, params)
        else:
            rows = await fetch(self.session, _BOOK_UNITS, params, alone=alone)
        return _outcome(rows, booking if move is None else None)

    async def book_units_each(
        self, drafts: Sequence[Draft], now: datetime, revision: int | None
    ) -> list[BookOutcome]:
        """:meth:`book_units` for each draft, in order, in one call inside the request's
        transaction (``book_units_together()``, migration 0049): what each call would have
        decided on its own, a refusal writing nothing of its own and leaving the others be.

        Such a call never releases a lapsed hold in its way (``lapsed``: book that draft on
        its own). An error (no refusal raises one) comes out as from :meth:`book_units`, the
        transaction then unusable: the caller wraps the call in a savepoint.
        """
        fields = _BOOK_UNITS_TOGETHER.fields
        calls = []
        for draft in drafts:
            params = _book_params(
                draft.booking, draft.items, draft.blocked_until, now, revision, draft.references
            )
            calls.append(tuple(params[name] for name in fields))
        rows = await fetch(self.session, _BOOK_UNITS_EACH, {"calls": calls})
        answers: list[list[Any]] = [[] for _ in drafts]
        for row in rows:
            answers[row["call"] - 1].append(row)
        return [
            _outcome(answer, draft.booking) for draft, answer in zip(drafts, answers, strict=True)
        ]

    async def items_of(self, booking_ids: Sequence[int]) -> dict[int, list[BookingItem]]:
        """Items of each booking, by resource id."""
        result: dict[int, list[BookingItem]] = defaultdict(list)
        if booking_ids:
            rows = await self.session.exec(
                select(BookingItem)
                .where(col(BookingItem.booking_id).in_(booking_ids))
                .order_by(col(BookingItem.booking_id), col(BookingItem.resource_id))
            )
            for row in rows.all():
                result[row.booking_id].append(row)
        return result

    async def allocations_of(
        self, booking_ids: Sequence[int]
    ) -> dict[int, list[BookingAllocation]]:
        """Allocations of each booking, by id."""
        result: dict[int, list[BookingAllocation]] = defaultdict(list)
        if booking_ids:
            rows = await self.session.exec(
                select(BookingAllocation)
                .where(col(BookingAllocation.booking_id).in_(booking_ids))
                .order_by(col(BookingAllocation.id))
            )
            for row in rows.all():
                result[row.booking_id].append(row)
        return result

    async def deactivate_allocations(self, booking_id: int) -> None:
        """Free every unit a booking holds (the rows stay, as history)."""
        await self.session.exec(
            update(BookingAllocation)
            .where(col(BookingAllocation.booking_id) == booking_id)
            .values(active=False)
        )

    async def clear_hold(self, booking_id: int) -> None:
        """A confirmed hold: its allocations no longer expire."""
        await self.session.exec(
            update(BookingAllocation)
            .where(col(BookingAllocation.booking_id) == booking_id)
            .values(hold_expires_at=None)
        )

    async def busy(
        self,
        resource_ids: Sequence[int],
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_booking_id: int | None = None,
    ) -> list[BusyRow]:
        """Blocking allocations of the resources that overlap [start, end)."""
        if not resource_ids:
            return []
        params = {**_overlap_params(resource_ids, start, end, exclude_booking_id), "now": now}
        # Every availability read runs it: on the driver's connection, past SQLAlchemy.
        return _busy_rows(await fetch(self.session, _BUSY_DRIVER, params))

    async def busy_at_revision(
        self, resource_ids: Sequence[int], start: datetime, end: datetime, now: datetime
    ) -> tuple[int | None, list[BusyRow]]:
        """The catalogue counter (None if its row is missing) and the blocking allocations of
        the resources that overlap [start, end), as of one moment."""
        params = {**_overlap_params(resource_ids, start, end, None), "now": now}
        # A read served from a kept copy runs only this: on the driver's connection.
        found = await fetch(self.session, _BUSY_AT_REVISION_DRIVER, params)
        # The counter's row with no range (resource_id null) stands for "nothing busy".
        return (found[0]["value"] if found else None), _busy_rows(found)

    async def lapsed_holds(self, now: datetime) -> list[int]:
        """The bookings whose hold has lapsed (not yet marked expired)."""
        query = select(Booking.id).where(
            col(Booking.status).in_(EXPIRABLE), col(Booking.hold_expires_at) <= now
        )
        return [b for b in (await self.session.exec(query)).all() if b is not None]

    async def expire_holds(self, booking_ids: Sequence[int], now: datetime) -> list[int]:
        """Of these bookings, mark the lapsed holds expired and free their units; their ids.

        The bulk form of :func:`booking.state.transition` to ``expired``: the caller builds
        the events with :func:`booking.state.expired`. Locks are taken booking first, then
        allocations (as cancel does), so a sweep and a cancellation cannot deadlock.
        """
        booking_ids = sorted(set(booking_ids))
        if not booking_ids:
            return []
        expired = await self.session.exec(
            update(Booking)
            .where(
                col(Booking.id).in_(booking_ids),
                col(Booking.status).in_(EXPIRABLE),
                col(Booking.hold_expires_at) <= now,
            )
            .values(status=BookingStatus.EXPIRED, updated_at=now, sequence=Booking.sequence + 1)
            .returning(col(Booking.id))
        )
        released = sorted(expired.scalars().all())
        # Allocations of bookings confirmed or cancelled meanwhile are left to their owner.
        if released:
            await self.session.exec(
                update(BookingAllocation)
                .where(col(BookingAllocation.booking_id).in_(released))
                .values(active=False)
            )
        return released

    def _listing(
        self,
        condition: ColumnElement[bool],
        start: datetime | None,
        end: datetime | None,
        statuses: Sequence[str] | None,
    ) -> ColumnElement[bool]:
        parts = [condition]
        if start is not None:
            parts.append(col(Booking.ends_at) > start)
        if end is not None:
            parts.append(col(Booking.starts_at) < end)
        if statuses:
            parts.append(col(Booking.status).in_(statuses))
        return and_(true(), *parts)

    async def by_reference(self, reference: str, *, lock: bool = False) -> Booking | None:
        """A booking by its reference (``lock``: its row locked and read again)."""
        query = select(Booking).where(Booking.reference == reference)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def mark_place_use(self, booking_id: int) -> None:
        """Say that a booking just stored is the place's own (a session's resources)."""
        await self.session.exec(
            update(Booking).where(col(Booking.id) == booking_id).values(place_use=True)
        )

    async def unattended(
        self, place_id: int, started_by: datetime, ended_after: datetime, limit: int
    ) -> list[int]:
        """Confirmed bookings (not the place's own) of a place nobody checked in, started by
        ``started_by`` and not ended before ``ended_after`` (locked, skipping those another
        worker holds)."""
        rows = await self.session.exec(
            select(Booking.id)
            .where(
                Booking.place_id == place_id,
                Booking.status == BookingStatus.CONFIRMED,
                col(Booking.checked_in_at).is_(None),
                col(Booking.place_use).is_(False),  # a session's room is not a no-show
                col(Booking.starts_at) <= started_by,
                col(Booking.ends_at) > ended_after,
            )
            .order_by(col(Booking.starts_at), col(Booking.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [booking_id for booking_id in rows.all() if booking_id is not None]

    async def no_show_counts(self, place_id: int) -> dict[int, int]:
        """How many bookings of each person the place released as no-shows."""
        rows = await self.session.exec(
            select(Booking.booker_user_id, func.count())
            .where(Booking.place_id == place_id, Booking.status == BookingStatus.NO_SHOW)
            .group_by(col(Booking.booker_user_id))
        )
        return {user_id: count for user_id, count in rows.all()}

    async def page(
        self,
        *,
        booker_user_id: int | None = None,
        organisation_id: int | None = None,
        place_id: int | None = None,
        series_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[list[Booking], int]:
        """Bookings matching every given criterion, by start, and their total."""
        condition = and_(
            true(),
            *(
                column == value
                for column, value in (
                    (col(Booking.booker_user_id), booker_user_id),
                    (col(Booking.organisation_id), organisation_id),
                    (col(Booking.place_id), place_id),
                    (col(Booking.series_id), series_id),
                )
                if value is not None
            ),
        )
        where = self._listing(condition, start, end, statuses)
        total = (
            await self.session.exec(select(func.count()).select_from(Booking).where(where))
        ).one()
        rows = await self.session.exec(
            select(Booking)
            .where(where)
            .order_by(col(Booking.starts_at), col(Booking.id))
            .limit(limit)
            .offset(offset)
        )
        return list(rows.all()), total

    async def awaiting_approval(
        self, place_ids: Sequence[int], now: datetime, limit: int
    ) -> tuple[list[Booking], dict[int, int]]:
        """Bookings of these places awaiting a manager's approval and not over yet (the first
        ``limit`` by start), and how many each place has."""
        if not place_ids:
            return [], {}
        where = and_(
            col(Booking.place_id).in_(sorted(set(place_ids))),
            col(Booking.status) == BookingStatus.PENDING_APPROVAL,
            col(Booking.ends_at) > now,
        )
        counts = await self.session.exec(
            select(Booking.place_id, func.count()).where(where).group_by(col(Booking.place_id))
        )
        rows = await self.session.exec(
            select(Booking)
            .where(where)
            .order_by(col(Booking.starts_at), col(Booking.id))
            .limit(limit)
        )
        return list(rows.all()), {place_id: count for place_id, count in counts.all()}

    async def minutes_booked(
        self,
        *,
        place_id: int,
        booker_user_id: int,
        organisation_id: int | None,
        resource_id: int | None,
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_booking_id: int | None = None,
    ) -> int:
        """Minutes of live bookings of one scope (a user alone, or an organisation) starting
        in [start, end): at the place, or only those including ``resource_id``."""
        query = select(Booking.starts_at, Booking.ends_at).where(
            col(Booking.place_id) == place_id,
            col(Booking.starts_at) >= start,
            col(Booking.starts_at) < end,
            _live_booking(now),
        )
        if organisation_id is not None:
            query = query.where(col(Booking.organisation_id) == organisation_id)
        else:
            query = query.where(
                col(Booking.booker_user_id) == booker_user_id,
                col(Booking.organisation_id).is_(None),
            )
        if resource_id is not None:
            query = query.where(
                col(Booking.id).in_(
                    select(BookingItem.booking_id).where(BookingItem.resource_id == resource_id)
                )
            )
        if exclude_booking_id is not None:
            query = query.where(col(Booking.id) != exclude_booking_id)
        rows = (await self.session.exec(query)).all()
        return sum(int((e - s).total_seconds() // 60) for s, e in rows)

    async def booked_items(
        self,
        *,
        place_id: int,
        booker_user_id: int,
        organisation_id: int | None,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> list[tuple[int, int, int]]:
        """(booking id, resource id, minutes) of the live bookings of one scope (a user alone,
        or an organisation) at the place starting in [start, end)."""
        query = (
            select(Booking.id, BookingItem.resource_id, Booking.starts_at, Booking.ends_at)
            .join(BookingItem, col(BookingItem.booking_id) == Booking.id)
            .where(
                col(Booking.place_id) == place_id,
                col(Booking.starts_at) >= start,
                col(Booking.starts_at) < end,
                _live_booking(now),
            )
        )
        if organisation_id is not None:
            query = query.where(col(Booking.organisation_id) == organisation_id)
        else:
            query = query.where(
                col(Booking.booker_user_id) == booker_user_id,
                col(Booking.organisation_id).is_(None),
            )
        rows = (await self.session.exec(query)).all()
        return [(int(b or 0), r, int((e - s).total_seconds() // 60)) for b, r, s, e in rows]

    async def lock_quota(self, key: str) -> None:
        """Serialise quota checks of one booker scope (a transaction-level advisory lock)."""
        number = zlib.crc32(key.encode()) - 2**31
        await self.session.exec(  # type: ignore[call-overload]
            text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=number)
        )

    # series -----------------------------------------------------------------
    async def get_series(self, series_id: int, *, lock: bool = False) -> BookingSeries | None:
        """A series by id; ``lock`` takes its row lock (one worker books its pending dates)."""
        if not lock:
            return await self.session.get(BookingSeries, series_id)
        query = (
            select(BookingSeries)
            .where(col(BookingSeries.id) == series_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.exec(query)).first()

    async def series_with_pending_dates(self, limit: int) -> list[int]:
        """Ids of the series with dates waiting for the booking horizon, oldest first."""
        query = (
            select(BookingSeries.id)
            .where(func.json_array_length(col(BookingSeries.pending_dates)) > 0)
            .order_by(col(BookingSeries.id))
            .limit(limit)
        )
        return [i for i in (await self.session.exec(query)).all() if i is not None]

    # policies ---------------------------------------------------------------
    async def policies_of(self, place_id: int) -> list[BookingPolicy]:
        """The booking policies of a place."""
        rows = await self.session.exec(
            select(BookingPolicy)
            .where(BookingPolicy.place_id == place_id)
            .order_by(col(BookingPolicy.id))
        )
        return list(rows.all())

    async def replace_policies(self, place_id: int, policies: Sequence[BookingPolicy]) -> None:
        """Swap every policy of a place."""
        await self.session.exec(
            delete(BookingPolicy).where(col(BookingPolicy.place_id) == place_id)
        )
        self.session.add_all(policies)
        await self.session.flush()

    # people (shared kernel tables, read only) ------------------------------------
    async def organisation(self, organisation_id: int) -> Organisation | None:
        """An organisation by id."""
        return await self.session.get(Organisation, organisation_id)

    async def organisations(self, ids: Sequence[int]) -> dict[int, Organisation]:
        """Organisations by id."""
        if not ids:
            return {}
        rows = await self.session.exec(
            select(Organisation).where(col(Organisation.id).in_(sorted(set(ids))))
        )
        return {row.id: row for row in rows.all() if row.id is not None}

    async def users(self, ids: Sequence[int]) -> dict[int, User]:
        """Users by id."""
        if not ids:
            return {}
        rows = await self.session.exec(select(User).where(col(User.id).in_(sorted(set(ids)))))
        return {row.id: row for row in rows.all() if row.id is not None}

    async def user_type_codes(self) -> set[str]:
        """Every user type code."""
        return set((await self.session.exec(select(UserType.code))).all())
