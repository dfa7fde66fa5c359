"""Every query of the programme: sessions, seats, registrations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from programme.models import (
    ProgrammeSession,
    Registration,
    RegistrationStatus,
    SessionStatus,
)
from resources.models import Place

TAKE_SEATS = text(
    "UPDATE programme_session SET seats_taken = seats_taken + :n "
    "WHERE id = :id AND status = 'scheduled' AND seats_taken + :n <= seats "
    "RETURNING seats - seats_taken"
)
GIVE_SEATS = text(
    "UPDATE programme_session SET seats_taken = seats_taken - :n "
    "WHERE id = :id RETURNING seats - seats_taken"
)


class ProgrammeRepository:
    """The programme's queries on one session (a request's transaction, a job's)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: Any) -> None:
        """Store rows and flush (they get their ids)."""
        self.session.add_all(rows)
        await self.session.flush()

    async def get(self, session_id: int, *, lock: bool = False) -> ProgrammeSession | None:
        """A session by id, read again (its seats are counted in SQL); ``lock`` takes its row
        lock."""
        return await self._session(ProgrammeSession.id == session_id, lock)

    async def by_booking(self, booking_id: int, *, lock: bool = False) -> ProgrammeSession | None:
        """The session whose resources ``booking_id`` holds, if any."""
        return await self._session(ProgrammeSession.booking_id == booking_id, lock)

    async def _session(self, condition: Any, lock: bool) -> ProgrammeSession | None:
        query = select(ProgrammeSession).where(condition).execution_options(populate_existing=True)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def take_seats(self, session_id: int, seats: int) -> bool:
        """Count ``seats`` more taken, if the scheduled session has them: one statement, so two
        registrations at once never both get the last seat (the second waits for the first's
        row lock, then sees its count)."""
        found = await self.session.exec(  # type: ignore[call-overload]
            TAKE_SEATS.bindparams(id=session_id, n=seats)
        )
        return found.first() is not None

    async def give_seats(self, session_id: int, seats: int) -> None:
        """Count ``seats`` fewer taken (a registration cancelled)."""
        await self.session.exec(GIVE_SEATS.bindparams(id=session_id, n=seats))  # type: ignore[call-overload]

    async def places(self, ids: Sequence[int]) -> dict[int, Place]:
        """Places by id (their name, town and zone)."""
        if not ids:
            return {}
        rows = await self.session.exec(select(Place).where(col(Place.id).in_(sorted(set(ids)))))
        return {p.id: p for p in rows.all() if p.id is not None}

    async def page(
        self,
        *,
        place_id: int | None,
        town: str | None,
        kind: str | None,
        start: datetime | None,
        end: datetime | None,
        free: bool | None,
        include_cancelled: bool,
        limit: int,
        offset: int,
    ) -> tuple[list[ProgrammeSession], int]:
        """Sessions matching the filters, soonest first, and how many match."""
        query = select(ProgrammeSession).join(Place, col(Place.id) == ProgrammeSession.place_id)
        query = query.where(col(Place.active).is_(True))
        if place_id is not None:
            query = query.where(ProgrammeSession.place_id == place_id)
        if town:
            query = query.where(func.lower(Place.town) == town.strip().lower())
        if kind is not None:
            query = query.where(ProgrammeSession.kind == kind)
        if start is not None:
            query = query.where(col(ProgrammeSession.ends_at) > start)
        if end is not None:
            query = query.where(col(ProgrammeSession.starts_at) < end)
        if free is not None:
            query = query.where(col(ProgrammeSession.priced).is_(not free))
        if not include_cancelled:
            query = query.where(ProgrammeSession.status == SessionStatus.SCHEDULED)
        total = (await self.session.exec(select(func.count()).select_from(query.subquery()))).one()
        rows = await self.session.exec(
            query.order_by(col(ProgrammeSession.starts_at), col(ProgrammeSession.id))
            .limit(limit)
            .offset(offset)
        )
        return list(rows.all()), int(total)

    async def registration(
        self, registration_id: int, *, lock: bool = False
    ) -> Registration | None:
        """A registration by id."""
        query = select(Registration).where(Registration.id == registration_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def live_registration(self, session_id: int, user_id: int) -> Registration | None:
        """The person's registration (or waitlist place) at the session, if not cancelled."""
        rows = await self.session.exec(
            select(Registration).where(
                Registration.session_id == session_id,
                Registration.user_id == user_id,
                Registration.status != RegistrationStatus.CANCELLED,
            )
        )
        return rows.first()

    async def registrations(
        self, session_id: int, statuses: Sequence[str], *, lock: bool = False
    ) -> list[Registration]:
        """A session's registrations in these statuses, first come first."""
        query = (
            select(Registration)
            .where(Registration.session_id == session_id, col(Registration.status).in_(statuses))
            .order_by(col(Registration.created_at), col(Registration.id))
        )
        if lock:
            query = query.with_for_update()
        return list((await self.session.exec(query)).all())

    async def registrants(self, session_id: int) -> list[tuple[Registration, User]]:
        """A session's live registrations with their people, first come first."""
        rows = await self.session.exec(
            select(Registration, User)
            .join(User, col(User.id) == Registration.user_id)
            .where(
                Registration.session_id == session_id,
                Registration.status != RegistrationStatus.CANCELLED,
            )
            .order_by(col(Registration.status), col(Registration.created_at))
        )
        return list(rows.all())

    async def mine(self, user_id: int) -> list[tuple[Registration, ProgrammeSession]]:
        """A person's registrations with their sessions, latest session first."""
        rows = await self.session.exec(
            select(Registration, ProgrammeSession)
            .join(ProgrammeSession, col(ProgrammeSession.id) == Registration.session_id)
            .where(Registration.user_id == user_id)
            .order_by(col(ProgrammeSession.starts_at).desc(), col(Registration.id))
        )
        return list(rows.all())

    async def below_minimum(self, now: datetime, limit: int) -> list[int]:
        """Scheduled sessions whose minimum check has come, not started, below their minimum
        (locked, skipping those another worker holds)."""
        rows = await self.session.exec(
            select(ProgrammeSession.id)
            .where(
                ProgrammeSession.status == SessionStatus.SCHEDULED,
                col(ProgrammeSession.minimum_check_at) <= now,
                col(ProgrammeSession.starts_at) > now,
                col(ProgrammeSession.seats_taken) < col(ProgrammeSession.min_attendance),
            )
            .order_by(col(ProgrammeSession.minimum_check_at), col(ProgrammeSession.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [i for i in rows.all() if i is not None]
