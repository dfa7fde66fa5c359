"""Registrations: a person takes seats (or waits for them), cancels; the place marks who came.

Seats are counted by one conditional ``UPDATE`` of the session row
(:meth:`ProgrammeRepository.take_seats`): thirty people registering for twelve seats at once
get exactly twelve registrations, whatever the interleaving. A full session puts the person in
its waitlist when they ask so (``waitlist``), else answers ``409 session_full``; seats freed by
a cancellation go to those waiting, first come first (a group too large for what was freed
keeps its place, the next one that fits is registered). Attending a training session grants
the training's certification, dated the session's day (:func:`accounts.certifications.
grant_attended`), so the machine that requires it may be booked at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from accounts.certifications import grant_attended, withdraw_attended
from accounts.guests import walk_in
from booking.desk_people import DeskPeople
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import ConflictError, ForbiddenError, NotFoundError
from kernel.events import publish
from programme.models import ProgrammeSession, Registration, RegistrationStatus, SessionStatus
from programme.reads import session_read
from programme.repository import ProgrammeRepository
from programme.schemas import (
    AttendanceMark,
    DeskRegistrationCreate,
    Registrant,
    RegistrationCreate,
    RegistrationRead,
    RegistrationState,
    SessionRead,
)
from programme.sessions import not_found
from resources.service import CatalogueService

REGISTERED_EVENT = "session.registered"
# The sign-in sheet opens this long before the start.
SHEET_OPENS_BEFORE = timedelta(hours=2)


class Registrations:
    """What people and the place's managers do with registrations."""

    def __init__(
        self, repository: ProgrammeRepository, catalogue: CatalogueService, clock: Clock
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.clock = clock

    # people -----------------------------------------------------------------------------
    async def register(
        self,
        actor: Actor,
        session_id: int,
        data: RegistrationCreate,
        *,
        ticketed: bool = False,
        tell: bool = True,
    ) -> RegistrationRead:
        """Take seats at a session, or a place in its waitlist. A priced session is registered
        through its ticket (``ticketed``: billing charges it in the same transaction); ``tell``
        False leaves the confirmation until :meth:`confirmed` (a card not paid yet)."""
        user_id = _person(actor)
        now = self.clock()
        row = await self.repo.get(session_id)
        if row is None:
            raise not_found(session_id)
        if row.priced and not ticketed:
            raise ConflictError(
                "This session has ticket prices: register through its ticket.",
                code="ticket_required",
                extra={"quote": f"/api/sessions/{session_id}/quote"},
            )
        if row.status != SessionStatus.SCHEDULED or now >= row.registration_deadline:
            raise closed(row)
        return await self._take(row, user_id, data.seats, data.waitlist, now, tell=tell)

    async def register_at_desk(
        self, actor: Actor, session_id: int, data: DeskRegistrationCreate
    ) -> RegistrationRead:
        """A manager registers a person of the place, or a walk-in, at the front desk: seats
        counted as anyone's; past the registration deadline too, until the session ends."""
        row = await self._managed(actor, session_id)
        now = self.clock()
        if row.status != SessionStatus.SCHEDULED or now >= row.ends_at:
            raise closed(row)
        if row.priced:
            # Its ticket is charged by billing, which the desk's registration does not reach yet.
            raise ConflictError(
                "This session has ticket prices: the person registers through its ticket.",
                code="ticket_required",
                extra={"quote": f"/api/sessions/{session_id}/quote"},
            )
        if data.user_id is not None:
            user_id = (await DeskPeople(self.repo.session).person(row.place_id, data.user_id)).id
        else:
            guest = await walk_in(
                self.repo.session, row.place_id, data.name, data.email, data.phone, now
            )
            assert guest.id is not None
            user_id = guest.id
        return await self._take(row, user_id, data.seats, data.waitlist, now)

    async def _take(
        self,
        row: ProgrammeSession,
        user_id: int,
        seats: int,
        waitlist: bool,
        now: datetime,
        *,
        tell: bool = True,
    ) -> RegistrationRead:
        """Seats for ``user_id`` (counted in SQL), or a place in the waitlist if asked."""
        session_id = row.id or 0
        if await self.repo.live_registration(session_id, user_id) is not None:
            raise already(session_id)
        if await self.repo.take_seats(session_id, seats):
            status = RegistrationStatus.REGISTERED
        elif waitlist:
            status = RegistrationStatus.WAITLISTED
        else:
            raise ConflictError(
                f"Fewer than {seats} seat(s) left at this session.",
                code="session_full",
                extra={"waitlist": True},
            )
        registration = Registration(
            session_id=session_id, user_id=user_id, seats=seats, status=status, created_at=now
        )
        try:
            async with self.repo.session.begin_nested():
                await self.repo.add(registration)
        except IntegrityError as twice:
            raise already(session_id) from twice  # the same person, at the same moment
        if status == RegistrationStatus.REGISTERED and tell:
            await self._told(registration)
        return await self._read(registration)

    async def confirmed(self, registration_id: int) -> None:
        """The ticket of a registration is paid: the person is told (once)."""
        registration = await self.repo.registration(registration_id)
        if registration is not None and registration.status == RegistrationStatus.REGISTERED:
            await self._told(registration)

    async def release(self, registration_id: int, reason: str) -> bool:
        """Cancel a registration whose ticket was not paid in time: its seats go back (to
        those waiting); False when it was no longer live."""
        registration = await self.repo.registration(registration_id, lock=True)
        if registration is None or registration.status == RegistrationStatus.CANCELLED:
            return False
        row = await self.repo.get(registration.session_id, lock=True)
        assert row is not None
        now = self.clock()
        seats_freed = registration.status == RegistrationStatus.REGISTERED
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = now
        registration.cancel_reason = reason
        await self.repo.add(registration)
        if seats_freed and row.status == SessionStatus.SCHEDULED:
            await self.repo.give_seats(row.id or 0, registration.seats)
            await self.promote(row, now)
        return True

    async def cancel(self, actor: Actor, registration_id: int) -> RegistrationRead:
        """Give up one's seats (or waitlist place) before the session starts; again: no change.
        The freed seats go to those waiting."""
        registration = await self._own(actor, registration_id)
        row = await self.repo.get(registration.session_id, lock=True)
        assert row is not None
        if registration.status == RegistrationStatus.CANCELLED:
            return await self._read(registration)
        now = self.clock()
        if now >= row.starts_at and not actor.manages(row.place_id):
            raise ConflictError(
                "The session has started: it can no longer be cancelled.",
                code="session_started",
            )
        seats_freed = registration.status == RegistrationStatus.REGISTERED
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = now
        registration.cancel_reason = "cancelled_by_person"
        await self.repo.add(registration)
        if seats_freed:
            await self.repo.give_seats(row.id or 0, registration.seats)
            await self.promote(row, now)
        return await self._read(registration)

    async def mine(self, actor: Actor) -> list[RegistrationRead]:
        """The person's registrations, latest session first."""
        user_id = _person(actor)
        rows = await self.repo.mine(user_id)
        places = await self.repo.places([s.place_id for _, s in rows])
        now = self.clock()
        return [_read(r, session_read(s, places[s.place_id], now)) for r, s in rows]

    async def get(self, actor: Actor, registration_id: int) -> RegistrationRead:
        """A registration its person, or the place's managers, may see."""
        return await self._read(await self._own(actor, registration_id, lock=False))

    # the place --------------------------------------------------------------------------
    async def registrants(self, actor: Actor, session_id: int) -> list[Registrant]:
        """Who registered (then who waits), for the place's managers."""
        row = await self._managed(actor, session_id)
        return [
            Registrant(
                id=r.id or 0,
                user_id=r.user_id,
                display_name=u.display_name,
                email=u.email,
                seats=r.seats,
                status=cast(RegistrationState, r.status),
                created_at=r.created_at,
                attended_at=r.attended_at,
            )
            for r, u in await self.repo.registrants(row.id or 0)
        ]

    async def mark(
        self, actor: Actor, registration_id: int, data: AttendanceMark
    ) -> RegistrationRead:
        """Mark whether a registered person came (the sign-in sheet); a training session
        attended grants its certification, dated the session's day (unmarked: withdrawn)."""
        registration = await self.repo.registration(registration_id, lock=True)
        if registration is None:
            raise registration_not_found(registration_id)
        row = await self._managed(actor, registration.session_id)
        if registration.status != RegistrationStatus.REGISTERED:
            raise ConflictError(
                "Only registered people are marked present.",
                code="not_registered",
                extra={"registration_status": registration.status},
            )
        now = self.clock()
        if now < row.starts_at - SHEET_OPENS_BEFORE:
            raise ConflictError(
                "The sign-in sheet opens two hours before the session.",
                code="attendance_not_open",
                extra={"starts_at": row.starts_at.isoformat()},
            )
        places = await self.repo.places([row.place_id])
        day = row.starts_at.astimezone(ZoneInfo(places[row.place_id].timezone)).date()
        if data.attended and registration.attended_at is None:
            registration.attended_at = now
            registration.attended_by_user_id = actor.user_id
            if row.training_id is not None:
                await grant_attended(
                    self.repo.session,
                    registration.user_id,
                    row.training_id,
                    day,
                    source_session_id=row.id or 0,
                    by_user_id=actor.user_id,
                )
        elif not data.attended and registration.attended_at is not None:
            registration.attended_at = None
            registration.attended_by_user_id = None
            if row.training_id is not None:
                await withdraw_attended(
                    self.repo.session, registration.user_id, row.training_id, row.id or 0
                )
        await self.repo.add(registration)
        return await self._read(registration)

    # helpers ----------------------------------------------------------------------------
    async def promote(self, row: ProgrammeSession, now: datetime) -> None:
        """Seats freed: those waiting are registered, first come first, while seats last."""
        if now >= row.registration_deadline:
            return
        waiting = await self.repo.registrations(
            row.id or 0, (RegistrationStatus.WAITLISTED,), lock=True
        )
        for entry in waiting:
            if await self.repo.take_seats(row.id or 0, entry.seats):
                entry.status = RegistrationStatus.REGISTERED
                await self.repo.add(entry)
                await self._told(entry)

    async def _told(self, registration: Registration) -> None:
        """The person is told their seats are theirs (after commit, once)."""
        await publish(
            self.repo.session,
            REGISTERED_EVENT,
            {
                "registration_id": registration.id,
                "session_id": registration.session_id,
                "user_id": registration.user_id,
            },
            key=f"registration.{registration.id}.registered",
        )

    async def _own(self, actor: Actor, registration_id: int, *, lock: bool = True) -> Registration:
        registration = await self.repo.registration(registration_id, lock=lock)
        if registration is None:
            raise registration_not_found(registration_id)
        if registration.user_id != actor.user_id:
            row = await self.repo.get(registration.session_id)
            if row is None or not actor.manages(row.place_id):
                raise registration_not_found(registration_id)
        return registration

    async def _managed(self, actor: Actor, session_id: int) -> ProgrammeSession:
        row = await self.repo.get(session_id)
        if row is None:
            raise not_found(session_id)
        await self.catalogue.managed_place(actor, row.place_id)
        return row

    async def _read(self, registration: Registration) -> RegistrationRead:
        row = await self.repo.get(registration.session_id)
        assert row is not None
        places = await self.repo.places([row.place_id])
        return _read(registration, session_read(row, places[row.place_id], self.clock()))


def _read(registration: Registration, session: SessionRead) -> RegistrationRead:
    return RegistrationRead(
        id=registration.id or 0,
        session_id=registration.session_id,
        user_id=registration.user_id,
        seats=registration.seats,
        status=cast(RegistrationState, registration.status),
        created_at=registration.created_at,
        cancelled_at=registration.cancelled_at,
        attended_at=registration.attended_at,
        session=session,
    )


def _person(actor: Actor) -> int:
    if actor.user_id is None:
        raise ForbiddenError(
            "Registrations are made by a user account, not an admin token.",
            code="user_account_required",
        )
    return actor.user_id


def closed(row: ProgrammeSession) -> ConflictError:
    """Registrations to the session are closed (cancelled, past its deadline, or over)."""
    return ConflictError(
        "Registrations to this session are closed.",
        code="registration_closed",
        extra={"registration_deadline": row.registration_deadline.isoformat()},
    )


def already(session_id: int) -> ConflictError:
    """The person holds a registration (or a waitlist place) at the session already."""
    return ConflictError(
        "You are registered at this session already.",
        code="already_registered",
        extra={"session_id": session_id},
    )


def registration_not_found(registration_id: int) -> NotFoundError:
    """The one answer for a registration that is not there, or not the caller's."""
    return NotFoundError(
        f"No registration with id {registration_id}.", code="registration_not_found"
    )
