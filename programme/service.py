"""What builds the programme's services on a session (the composition root makes one)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.service import BookingServices
from kernel.clock import Clock
from programme.registrations import Registrations
from programme.repository import ProgrammeRepository
from programme.sessions import Sessions
from resources.repository import CatalogueRepository
from resources.service import CatalogueService

__all__ = ["ProgrammeServices", "Registrations", "Sessions"]


class ProgrammeServices:
    """Builds :class:`Sessions` and :class:`Registrations` on a session; sessions occupy
    their resources through the booking services."""

    def __init__(self, booking: BookingServices, clock: Clock) -> None:
        self.booking = booking
        self.clock = clock

    def sessions(self, session: AsyncSession) -> Sessions:
        """Sessions published, read, cancelled on ``session``."""
        return Sessions(
            ProgrammeRepository(session),
            CatalogueService(CatalogueRepository(session)),
            self.booking.occupancy(session),
            self.clock,
            self.registrations(session).promote,
        )

    def registrations(self, session: AsyncSession) -> Registrations:
        """Registrations and attendance on ``session``."""
        return Registrations(
            ProgrammeRepository(session), CatalogueService(CatalogueRepository(session)), self.clock
        )
