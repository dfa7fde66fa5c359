"""The booking services, each with one job, and what builds them on a session.

- :class:`~booking.service.bookings.Bookings`: reads and lists of bookings; create, cancel,
  reschedule, approve, refuse; confirm and release holds.
- :class:`~booking.service.availability.Availability`: a resource's or a place's slots, and the
  search for free resources.
- :class:`~booking.service.agenda.PlaceAgenda`: a place's agenda and booking policies, for its
  managers.
- :class:`~booking.service.series.Series`: create, preview, read and cancel series.
- :class:`~booking.service.attendance.Attendance`: check-in (staff, kiosk), no-shows released
  and counted.
- :class:`~booking.service.closures.Closures`: closures and blackouts that handle the bookings
  they hit (preview, then cancel for the place or refuse).
- :class:`~booking.service.waitlist.Waitlist`: waitlists of full slots and their offers.
- :class:`~booking.service.occupancy.Occupancy`: the place occupies its own resources (the
  sessions of its programme).

None inherits from another: each is handed the collaborators it needs, built once per session
by :meth:`BookingServices.parts`: the repository, the catalogue, the catalogue copies
(:mod:`booking.copies`), admission (:mod:`booking.admission`: who books, on which catalogue,
under which rules), the state changes (:mod:`booking.changes`: the only way a status changes,
and the only caller of the listeners), the allocator (:mod:`booking.allocation`: the one write
path of units) and the reader (:mod:`booking.reads`). The composition root
(``mutualab.composition``) builds one :class:`BookingServices` with the worker's clock,
catalogue copies, the listeners and the charge gate (:mod:`booking.charging`), which are
required.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.admission import Admission
from booking.allocation import Allocator
from booking.changes import StateChanges
from booking.charging import ChargeGate
from booking.copies import CatalogueCopies
from booking.events import BookingListener
from booking.reads import BookingReader
from booking.repository import BookingRepository
from booking.service.agenda import PlaceAgenda
from booking.service.attendance import Attendance
from booking.service.availability import Availability
from booking.service.bookings import Bookings
from booking.service.closures import Closures
from booking.service.occupancy import Occupancy
from booking.service.series import Series
from booking.service.waitlist import Waitlist
from booking.snapshots import SnapshotCache
from booking.waitlist_reads import WaitlistReader
from booking.waitlist_repository import WaitlistRepository
from kernel.clock import Clock
from resources.repository import CatalogueRepository
from resources.service import CatalogueService

__all__ = [
    "Attendance",
    "Availability",
    "BookingParts",
    "BookingServices",
    "Bookings",
    "Closures",
    "Occupancy",
    "PlaceAgenda",
    "Series",
    "Waitlist",
]


@dataclass(frozen=True, slots=True)
class BookingParts:
    """The collaborators of the booking services on one session."""

    repository: BookingRepository
    catalogue: CatalogueService
    copies: CatalogueCopies
    admission: Admission
    changes: StateChanges
    allocator: Allocator
    reader: BookingReader


class BookingServices:
    """Builds the booking services on a session (a request's transaction, a command's)."""

    def __init__(
        self,
        clock: Clock,
        snapshots: SnapshotCache | None,
        *,
        listeners: Sequence[BookingListener],
        charges: ChargeGate,
    ) -> None:
        if not listeners:
            raise ValueError("The booking services need their listeners (none given).")
        # Billing's answer to "may this be booked without a payment?" (see booking.charging).
        self.charges = charges
        self.clock = clock
        # The worker's catalogue copies (see booking.snapshots); None reads them every time.
        self.snapshots = snapshots
        # Who hears of every status change, in its transaction (see booking.events).
        self.listeners = tuple(listeners)

    def parts(self, session: AsyncSession) -> BookingParts:
        """The collaborators on ``session``."""
        repository = BookingRepository(session)
        catalogue = CatalogueService(CatalogueRepository(session))
        copies = CatalogueCopies(catalogue, repository, self.snapshots)
        changes = StateChanges(repository, listeners=self.listeners)
        return BookingParts(
            repository=repository,
            catalogue=catalogue,
            copies=copies,
            admission=Admission(repository, catalogue, copies),
            changes=changes,
            allocator=Allocator(repository, catalogue, changes),
            reader=BookingReader(repository, catalogue, self.clock),
        )

    def bookings(self, session: AsyncSession) -> Bookings:
        """Single bookings on ``session``."""
        p = self.parts(session)
        return Bookings(
            p.repository,
            p.copies,
            p.admission,
            p.allocator,
            p.changes,
            p.reader,
            self.clock,
            self.charges,
        )

    def availability(self, session: AsyncSession) -> Availability:
        """Slots and search on ``session`` (built from only what they read: every public
        availability request builds one)."""
        repository = BookingRepository(session)
        catalogue = CatalogueService(CatalogueRepository(session))
        copies = CatalogueCopies(catalogue, repository, self.snapshots)
        admission = Admission(repository, catalogue, copies)
        return Availability(repository, copies, admission, self.clock)

    def agenda(self, session: AsyncSession) -> PlaceAgenda:
        """A place's agenda and policies on ``session``."""
        p = self.parts(session)
        waitlist = WaitlistReader(WaitlistRepository(session), p.repository, p.catalogue)
        return PlaceAgenda(p.repository, p.catalogue, p.reader, self.clock, waitlist)

    def attendance(self, session: AsyncSession) -> Attendance:
        """Check-ins and no-shows on ``session``."""
        p = self.parts(session)
        return Attendance(p.repository, p.catalogue, p.reader, p.changes, self.clock)

    def closures(self, session: AsyncSession) -> Closures:
        """Closures and blackouts on ``session``."""
        p = self.parts(session)
        return Closures(p.repository, p.catalogue, p.reader, p.changes, self.clock)

    def occupancy(self, session: AsyncSession) -> Occupancy:
        """The place's own bookings (sessions of its programme) on ``session``."""
        p = self.parts(session)
        return Occupancy(p.repository, p.admission, p.allocator, p.changes, self.clock)

    def series(self, session: AsyncSession) -> Series:
        """Series on ``session``."""
        p = self.parts(session)
        return Series(
            p.repository,
            p.catalogue,
            p.admission,
            p.allocator,
            p.changes,
            p.reader,
            self.clock,
            self.charges,
        )

    def waitlist(self, session: AsyncSession) -> Waitlist:
        """Waitlists and their offers on ``session``."""
        p = self.parts(session)
        repository = WaitlistRepository(session)
        return Waitlist(
            repository,
            WaitlistReader(repository, p.repository, p.catalogue),
            p.repository,
            p.admission,
            p.allocator,
            p.changes,
            self.clock,
            self.charges,
        )
