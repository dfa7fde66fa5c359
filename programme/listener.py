"""The programme hears booking changes: a session's booking cancelled by a closure or a
maintenance window cancels the session.

A session's resources are held by a booking of the place (``booking.place_use``). The booking
API refuses to cancel or move such a booking (``409 session_booking``), but a closure of the
place or a blackout of the machine cancels the bookings the manager names, sessions' included:
booking cannot import the programme, so the composition root adds this listener to the booking
services, and the session is cancelled in the same transaction, as a manager's cancellation
does it (registrations cancelled, registrants told once after commit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.events import BookingEvent
from booking.models import BookingStatus
from programme.models import SessionStatus
from programme.sessions import cancel_session

if TYPE_CHECKING:
    from programme.service import ProgrammeServices


class SessionBookingListener:
    """Cancels the session whose booking was cancelled (made before the programme's services,
    attached to them once both exist, as billing's listener is)."""

    def __init__(self) -> None:
        self._programme: ProgrammeServices | None = None

    def attach(self, programme: ProgrammeServices) -> None:
        """Cancel sessions through ``programme`` from now on."""
        self._programme = programme

    async def booking_changed(self, session: AsyncSession, event: BookingEvent) -> None:
        """A cancelled booking that held a scheduled session's resources cancels the session."""
        if event.status != BookingStatus.CANCELLED:
            return
        if self._programme is None:
            raise RuntimeError("The programme's listener hears a booking change before it is set.")
        sessions = self._programme.sessions(session)
        row = await sessions.repo.by_booking(event.booking_id, lock=True)
        if row is None or row.status == SessionStatus.CANCELLED:
            return  # not a session's, or the session's own cancellation released it
        await cancel_session(sessions.repo, sessions.occupancy, row, event.at, event.reason)
