"""Closures and maintenance blackouts that handle the bookings they hit.

A closure (days, or special hours on a day) or a blackout is first previewed: the active
bookings it would hit are listed. It is applied only with a decision on each of them: the
place cancels those it names (``by_place``: billing refunds them in full, or credits the
invoice issued, and the person is mailed after commit); any other booking still inside the
closed period refuses the change (``409 closure_hits_bookings``), so the manager moves it
first. A confirmed booking is never left inside a closed period without a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.changes import StateChanges
from booking.closure_schemas import (
    BlackoutApplied,
    BlackoutApply,
    BlackoutRequest,
    ClosureApplied,
    ClosureCreate,
    ClosurePreview,
    ClosureRequest,
)
from booking.entries import agenda_entries
from booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from booking.reads import BookingReader
from booking.repository import BookingRepository
from booking.rules import day_window
from booking.schemas import AgendaEntry
from booking.state import current_status
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import ConflictError
from resources.hours import local_to_utc
from resources.schemas import BlackoutCreate, LocalSpan, PlaceExceptionWrite
from resources.service import CatalogueService

# Why the booker's booking was cancelled, when the manager gave no reason.
DEFAULT_REASON = "fermeture du lieu"
MAINTENANCE_REASON = "maintenance de l'équipement"


def open_windows(
    day: date, spans: Sequence[LocalSpan], tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The UTC instants of a day's special opening spans (DST applied by the place's zone)."""
    return [
        (
            local_to_utc(datetime.combine(day, s.opens), tz),
            local_to_utc(datetime.combine(day, s.closes), tz),
        )
        for s in spans
    ]


def inside_any(booking: Booking, windows: Sequence[tuple[datetime, datetime]]) -> bool:
    """Whether the booking fits wholly inside one of the windows."""
    return any(start <= booking.starts_at and booking.ends_at <= end for start, end in windows)


class Closures:
    """Closures and blackouts of a place: preview what they hit, then apply them."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        reader: BookingReader,
        changes: StateChanges,
        clock: Clock,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.reader = reader
        self.changes = changes
        self.clock = clock

    # closures of a place ----------------------------------------------------------------
    async def _closure_hits(
        self, place_id: int, data: ClosureRequest, *, lock: bool
    ) -> list[Booking]:
        place = await self.catalogue.require_place(place_id)
        tz = ZoneInfo(place.timezone)
        last = data.last_day or data.first_day
        window = day_window(data.first_day, last + timedelta(days=1), tz)
        rows = await self._active(place_id, window.start, window.end, lock=lock)
        if data.spans:
            windows = open_windows(data.first_day, data.spans, tz)
            rows = [r for r in rows if not inside_any(r, windows)]
        return rows

    async def preview_closure(
        self, actor: Actor, place_id: int, data: ClosureRequest
    ) -> ClosurePreview:
        """The bookings a closure would hit (nothing is changed)."""
        await self.catalogue.managed_place(actor, place_id)
        rows = await self._closure_hits(place_id, data, lock=False)
        return ClosurePreview(affected=await agenda_entries(self.reader, self.repo, rows))

    async def close(self, actor: Actor, place_id: int, data: ClosureCreate) -> ClosureApplied:
        """Cancel the bookings named for the place, then close the days (or set the hours)."""
        await self.catalogue.managed_place(actor, place_id)
        hit = await self._closure_hits(place_id, data, lock=True)
        cancelled = await self._decide(
            actor, hit, data.cancel_booking_ids, data.reason or DEFAULT_REASON
        )
        last = data.last_day or data.first_day
        write = PlaceExceptionWrite(closed=not data.spans, spans=data.spans, reason=data.reason)
        days = [
            await self.catalogue.set_exception(
                actor, place_id, data.first_day + timedelta(days=n), write
            )
            for n in range((last - data.first_day).days + 1)
        ]
        return ClosureApplied(days=days, cancelled=cancelled)

    # blackouts of a resource --------------------------------------------------------------
    async def _blackout_hits(
        self, resource_id: int, data: BlackoutRequest, *, lock: bool
    ) -> list[Booking]:
        resource = await self.catalogue.require_resource(resource_id)
        rows = await self._active(resource.place_id, data.starts_at, data.ends_at, lock=lock)
        items = await self.repo.items_of([r.id for r in rows if r.id is not None])
        return [
            r
            for r in rows
            if r.id is not None and any(i.resource_id == resource_id for i in items.get(r.id, []))
        ]

    async def preview_blackout(
        self, actor: Actor, resource_id: int, data: BlackoutRequest
    ) -> ClosurePreview:
        """The bookings of a resource a maintenance window would hit (nothing is changed)."""
        resource = await self.catalogue.require_resource(resource_id)
        await self.catalogue.managed_place(actor, resource.place_id)
        rows = await self._blackout_hits(resource_id, data, lock=False)
        return ClosurePreview(affected=await agenda_entries(self.reader, self.repo, rows))

    async def black_out(
        self, actor: Actor, resource_id: int, data: BlackoutApply
    ) -> BlackoutApplied:
        """Cancel the bookings named for the place, then block the resource."""
        resource = await self.catalogue.require_resource(resource_id)
        await self.catalogue.managed_place(actor, resource.place_id)
        hit = await self._blackout_hits(resource_id, data, lock=True)
        cancelled = await self._decide(
            actor, hit, data.cancel_booking_ids, data.reason or MAINTENANCE_REASON
        )
        blackout = await self.catalogue.add_blackout(
            actor,
            resource_id,
            BlackoutCreate(starts_at=data.starts_at, ends_at=data.ends_at, reason=data.reason),
        )
        return BlackoutApplied(blackout=blackout, cancelled=cancelled)

    # shared ----------------------------------------------------------------------------------
    async def _active(
        self, place_id: int, start: datetime, end: datetime, *, lock: bool
    ) -> list[Booking]:
        """The place's bookings that hold units over part of [start, end)."""
        now = self.clock()
        rows, _ = await self.repo.page(
            place_id=place_id, start=start, end=end, statuses=list(ACTIVE_STATUSES), limit=5000
        )
        live = [r for r in rows if current_status(r, now) != BookingStatus.EXPIRED]
        if not lock:
            return live
        # Locked and read again: a booking changed meanwhile is judged as it is now.
        locked = [await self.repo.get(r.id, lock=True) for r in live if r.id is not None]
        return [b for b in locked if b is not None and b.status in ACTIVE_STATUSES]

    async def _decide(
        self, actor: Actor, hit: Sequence[Booking], cancel_ids: Sequence[int], reason: str
    ) -> list[AgendaEntry]:
        """Cancel the hit bookings named, for the place; refuse if any other is left inside."""
        chosen = set(cancel_ids)
        undecided = [b for b in hit if b.id not in chosen]
        if undecided:
            raise ConflictError(
                f"{len(undecided)} booking(s) fall in this period: cancel them "
                "(cancel_booking_ids) or move them first.",
                code="closure_hits_bookings",
                extra={
                    "bookings": [
                        {"id": b.id, "reference": b.reference, "status": b.status}
                        for b in undecided
                    ]
                },
            )
        now = self.clock()
        for booking in hit:
            await self.changes.expire_if_lapsed(booking, now)
            if booking.status in ACTIVE_STATUSES:
                await self.changes.move(
                    booking,
                    BookingStatus.CANCELLED,
                    now,
                    reason=reason,
                    actor=actor,
                    by_place=True,
                )
        return await agenda_entries(self.reader, self.repo, list(hit))
