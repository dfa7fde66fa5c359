"""Sessions published, read, listed and cancelled.

A publication makes one session per date (the dates given, or the n-th weekday of each month).
The resources a session occupies are booked for the place through the booking engine
(:class:`booking.service.Occupancy`), in the publication's transaction: a date whose room or
machine is taken refuses the whole publication (``409 slot_unavailable``, naming the date).
Cancelling a session (by the place, or by the workers below its minimum) releases them, cancels
every registration and tells each registrant once (``session.cancelled``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.models import Training
from booking.service import Occupancy
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from kernel.events import publish
from programme import opendata
from programme.calendar import programme_feed
from programme.dates import local_span, monthly
from programme.models import ProgrammeSession, RegistrationStatus, SessionStatus
from programme.reads import session_read, session_reads
from programme.repository import ProgrammeRepository
from programme.schemas import SessionCreate, SessionPage, SessionRead, SessionUpdate
from resources.service import CatalogueService

# A feed shows the month gone by and what is to come, up to this many sessions.
FEED_PAST = timedelta(days=31)
FEED_LIMIT = 500
# The open data set lists at most this many sessions to come.
OPEN_DATA_LIMIT = 5000
LIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)
CANCELLED_EVENT = "session.cancelled"
SeatsFreed = Callable[[ProgrammeSession, datetime], Awaitable[None]]


class Sessions:
    """What a place's managers do with its programme, and what everyone reads of it."""

    def __init__(
        self,
        repository: ProgrammeRepository,
        catalogue: CatalogueService,
        occupancy: Occupancy,
        clock: Clock,
        seats_freed: SeatsFreed,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.occupancy = occupancy
        self.clock = clock
        # Gives seats freed (or added) to those waiting (Registrations.promote).
        self.seats_freed = seats_freed

    # reads ------------------------------------------------------------------------------
    async def get(self, session_id: int) -> SessionRead:
        """A session (public), or ``404``."""
        row = await self.repo.get(session_id)
        if row is None:
            raise not_found(session_id)
        places = await self.repo.places([row.place_id])
        return session_read(row, places[row.place_id], self.clock())

    async def page(
        self,
        *,
        place_id: int | None = None,
        town: str | None = None,
        kind: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        free: bool | None = None,
        include_cancelled: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> SessionPage:
        """Sessions soonest first (from now on unless ``start`` says otherwise)."""
        now = self.clock()
        rows, total = await self.repo.page(
            place_id=place_id,
            town=town,
            kind=kind,
            start=start or now,
            end=end,
            free=free,
            include_cancelled=include_cancelled,
            limit=limit,
            offset=offset,
        )
        items = await session_reads(self.repo, rows, now)
        return SessionPage(items=items, total=total, limit=limit, offset=offset)

    async def feed(self, place_id: int, base_url: str) -> str:
        """A place's programme as iCalendar: from a month ago on (cancelled ones marked)."""
        place = await self.catalogue.active_place(place_id)
        rows, _ = await self.repo.page(
            place_id=place_id,
            town=None,
            kind=None,
            start=self.clock() - FEED_PAST,
            end=None,
            free=None,
            include_cancelled=True,
            limit=FEED_LIMIT,
            offset=0,
        )
        location = f"{place.name}, {place.address}, {place.postcode} {place.town}"
        return programme_feed(rows, place_name=place.name, location=location, base_url=base_url)

    async def open_data(self, base_url: str) -> list[opendata.SessionRow]:
        """The public programme of every active place from now on (cancelled ones marked),
        as the rows of the "séances" open data set."""
        rows, _ = await self.repo.page(
            place_id=None,
            town=None,
            kind=None,
            start=self.clock(),
            end=None,
            free=None,
            include_cancelled=True,
            limit=OPEN_DATA_LIMIT,
            offset=0,
        )
        now = self.clock()
        places = await self.repo.places([r.place_id for r in rows])
        facts = {
            pid: opendata.PlaceFacts(
                id=pid,
                name=p.name,
                address=p.address,
                postcode=p.postcode,
                town=p.town,
                latitude=p.latitude,
                longitude=p.longitude,
            )
            for pid, p in places.items()
        }
        reads = [session_read(r, places[r.place_id], now) for r in rows]
        # The day of the export, in UTC: the data set spans places of several zones.
        return opendata.rows(reads, facts, base_url, now.astimezone(UTC).date())

    # writes -----------------------------------------------------------------------------
    async def publish(self, actor: Actor, place_id: int, data: SessionCreate) -> list[SessionRead]:
        """Publish a session on each date, its resources booked for the place."""
        place = await self.catalogue.managed_place(actor, place_id)
        tz = ZoneInfo(place.timezone)
        spans = self._spans(data, tz)
        if data.min_attendance > data.seats:
            raise InvalidInputError(
                "The minimum attendance cannot exceed the seats.", field="min_attendance"
            )
        await self._check_training(data, place_id)
        now = self.clock()
        items = sorted({r.resource_id: r.quantity for r in data.resources}.items())
        key = secrets.token_hex(8)
        made = []
        for index, (start, end) in enumerate(spans):
            if start <= now:
                raise InvalidInputError(
                    "A session is published before it starts.", field=f"dates[{index}].starts_at"
                )
            booking_id = None
            if items:
                try:
                    booking = await self.occupancy.occupy(
                        actor, place_id, items, start, end, notes=f"Session : {data.title}"
                    )
                except AppError as refused:
                    refused.extra.setdefault("starts_at", start.isoformat())
                    raise
                booking_id = booking.id
            made.append(
                ProgrammeSession(
                    place_id=place_id,
                    series_key=key,
                    title=data.title,
                    description=data.description,
                    kind=data.kind,
                    starts_at=start,
                    ends_at=end,
                    seats=data.seats,
                    min_attendance=data.min_attendance,
                    registration_deadline=start - timedelta(hours=data.registration_closes_hours),
                    minimum_check_at=start - timedelta(hours=data.minimum_check_hours),
                    training_id=data.training_id,
                    resources=[{"resource_id": r, "quantity": q} for r, q in items],
                    booking_id=booking_id,
                    created_by_user_id=actor.user_id,
                    created_at=now,
                )
            )
        await self.repo.add(*made)
        return [session_read(row, place, now) for row in made]

    def _spans(self, data: SessionCreate, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
        if bool(data.dates) == (data.recurrence is not None):
            raise InvalidInputError(
                "Give the dates, or a recurrence (one of the two).", field="dates"
            )
        if data.recurrence is not None:
            r = data.recurrence
            if r.ends <= r.starts:
                raise InvalidInputError("A session ends after it starts.", field="recurrence.ends")
            days = monthly(r.first_month, r.weekday, r.nth, r.count)
            return [local_span(day, r.starts, r.ends, tz) for day in days]
        spans = []
        for index, d in enumerate(data.dates):
            if d.ends_at <= d.starts_at:
                raise InvalidInputError(
                    "A session ends after it starts.", field=f"dates[{index}].ends_at"
                )
            spans.append((d.starts_at, d.ends_at))
        return spans

    async def _check_training(self, data: SessionCreate, place_id: int) -> None:
        if data.training_id is None:
            if data.kind == "training":
                raise InvalidInputError(
                    "A training session names the training it grants.", field="training_id"
                )
            return
        training = await self.repo.session.get(Training, data.training_id)
        if training is None or training.place_id != place_id:
            raise InvalidInputError("No training of this place has this id.", field="training_id")

    async def update(self, actor: Actor, session_id: int, data: SessionUpdate) -> SessionRead:
        """Change a session's title, description, seats or minimum before it starts; seats
        added go to those waiting."""
        row = await self.repo.get(session_id, lock=True)
        if row is None:
            raise not_found(session_id)
        await self.catalogue.managed_place(actor, row.place_id)
        now = self.clock()
        if row.status == SessionStatus.CANCELLED:
            raise ConflictError("This session is cancelled.", code="session_cancelled")
        if now >= row.starts_at:
            raise ConflictError(
                "The session has started: it can no longer be changed.", code="session_started"
            )
        if data.min_attendance > data.seats:
            raise InvalidInputError(
                "The minimum attendance cannot exceed the seats.", field="min_attendance"
            )
        if data.min_attendance > row.min_attendance and now >= row.minimum_check_at:
            # The workers would cancel it at once: a minimum is raised before it is checked.
            raise ConflictError(
                "The minimum was checked already: it can no longer be raised.",
                code="minimum_checked",
                extra={"minimum_check_at": row.minimum_check_at.isoformat()},
            )
        if data.seats < row.seats_taken:
            raise ConflictError(
                f"{row.seats_taken} seat(s) are registered: keep at least as many.",
                code="seats_below_registered",
                extra={"seats_taken": row.seats_taken},
            )
        added = data.seats > row.seats
        row.title, row.description = data.title, data.description
        row.seats, row.min_attendance = data.seats, data.min_attendance
        await self.repo.add(row)
        if added:
            await self.seats_freed(row, now)
        return await self.get(session_id)

    async def cancel(self, actor: Actor, session_id: int, reason: str) -> SessionRead:
        """Cancel a session for the place (its managers): resources released, registrants told."""
        row = await self.repo.get(session_id, lock=True)
        if row is None:
            raise not_found(session_id)
        await self.catalogue.managed_place(actor, row.place_id)
        await cancel_session(self.repo, self.occupancy, row, self.clock(), reason, actor)
        return await self.get(session_id)


async def cancel_session(
    repo: ProgrammeRepository,
    occupancy: Occupancy,
    row: ProgrammeSession,
    now: datetime,
    reason: str,
    actor: Actor | None = None,
    *,
    below_minimum: bool = False,
) -> bool:
    """Cancel a locked session: its registrations cancelled, its resources released, one
    ``session.cancelled`` event (keyed by the session: told once). False: it was already."""
    if row.status == SessionStatus.CANCELLED:
        return False
    assert row.id is not None
    registrations = await repo.registrations(row.id, LIVE, lock=True)
    told = [r.user_id for r in registrations if r.status == RegistrationStatus.REGISTERED]
    for registration in registrations:
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = now
        registration.cancel_reason = "session_cancelled"
    row.status = SessionStatus.CANCELLED
    row.status_reason = reason or ("below_minimum" if below_minimum else "cancelled_by_place")
    row.cancelled_at = now
    row.seats_taken = 0
    await repo.add(row, *registrations)
    if row.booking_id is not None:
        await occupancy.release(row.booking_id, f"Session annulée : {row.title}", actor)
    await publish(
        repo.session,
        CANCELLED_EVENT,
        {
            "session_id": row.id,
            "place_id": row.place_id,
            "user_ids": told,
            "below_minimum": below_minimum,
            "reason": row.status_reason,
        },
        key=f"session.{row.id}.cancelled",
    )
    return True


def not_found(session_id: int) -> NotFoundError:
    """The one answer for a session that is not there."""
    return NotFoundError(f"No session with id {session_id}.", code="session_not_found")
