"""Who came: check-in by staff or at the place's kiosk, no-shows released and counted.

A confirmed booking is checked in by a manager of its place (the front desk), or by the person
at the kiosk of the place with the booking's reference and their e-mail address: a tablet at
the desk needs no account logged in on it (nothing left behind on a shared device), and the
reference alone, printed on the confirmation, is not enough to check in someone else. A place
may release a booking nobody checked in some minutes after its start
(``place.no_show_release_minutes``): the job moves it to ``no_show``, which frees its units
(and tells the waitlist), and counts per person for the managers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from booking.attendance_schemas import KioskCheckedIn, KioskCheckIn, NoShowCount
from booking.changes import StateChanges
from booking.models import Booking, BookingStatus
from booking.reads import BookingReader
from booking.repository import BookingRepository
from booking.schemas import BookingRead
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import ConflictError, ForbiddenError, NotFoundError
from resources.service import CatalogueService

# The kiosk takes check-ins from this long before the start until the end.
KIOSK_OPENS_BEFORE = timedelta(minutes=30)
# Staff may mark an arrival from this long before the start.
STAFF_OPENS_BEFORE = timedelta(hours=2)
# A booking that ended longer ago than this is left as it is (the job was not running then;
# a place turning the setting on does not release its past).
RELEASE_LOOKBACK = timedelta(hours=1)
RELEASE_BATCH = 500
NO_SHOW_REASON = "absent : non pointé à temps"


class Attendance:
    """Check-ins and no-shows of bookings."""

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

    async def check_in(self, actor: Actor, booking_id: int) -> BookingRead:
        """Mark a confirmed booking arrived (managers of its place); again: no change."""
        booking = await self.reader.visible(actor, booking_id, lock=True)
        if not actor.manages(booking.place_id):
            raise ForbiddenError(
                "Only the managers of the place mark arrivals.", code="not_a_manager"
            )
        await self._arrive(booking, actor.user_id, STAFF_OPENS_BEFORE)
        return await self.reader.read(booking)

    async def kiosk_check_in(self, place_id: int, data: KioskCheckIn) -> KioskCheckedIn:
        """Check in at the place's kiosk with a booking's reference and its booker's e-mail."""
        await self.catalogue.require_place(place_id)
        booking = await self.repo.by_reference(data.reference.strip().upper(), lock=True)
        users = await self.repo.users([booking.booker_user_id]) if booking is not None else {}
        user = users.get(booking.booker_user_id) if booking is not None else None
        if (
            booking is None
            or user is None
            or booking.place_id != place_id
            or user.email.casefold() != data.email.strip().casefold()
        ):
            # One answer whichever part is wrong: the kiosk tells nothing about other bookings.
            raise NotFoundError(
                "No booking of this place has this reference and e-mail address.",
                code="booking_not_found",
            )
        await self._arrive(booking, booking.booker_user_id, KIOSK_OPENS_BEFORE)
        read = await self.reader.read(booking)
        assert booking.checked_in_at is not None
        return KioskCheckedIn(
            reference=read.reference,
            local_starts_at=read.local_starts_at,
            local_ends_at=read.local_ends_at,
            resources=[item.resource_name for item in read.items],
            checked_in_at=booking.checked_in_at,
        )

    async def _arrive(self, booking: Booking, by_user_id: int | None, before: timedelta) -> None:
        if booking.checked_in_at is not None:
            return  # already here: marking twice changes nothing
        if booking.status != BookingStatus.CONFIRMED:
            raise ConflictError(
                f"Only confirmed bookings are checked in; this one is {booking.status}.",
                code="booking_not_confirmed",
                extra={"booking_status": booking.status},
            )
        now = self.clock()
        if now < booking.starts_at - before or now >= booking.ends_at:
            raise ConflictError(
                "This booking cannot be checked in now: from "
                f"{int(before.total_seconds() // 60)} minutes before its start until its end.",
                code="check_in_not_open",
                extra={"starts_at": booking.starts_at.isoformat()},
            )
        booking.checked_in_at = now
        booking.checked_in_by_user_id = by_user_id
        booking.updated_at = now
        await self.repo.add(booking)

    async def release_no_shows(self, now: datetime | None = None) -> int:
        """Release the bookings nobody checked in in time, at every place that asks so; how
        many (run again, it finds none of them: they are no longer confirmed)."""
        now = now or self.clock()
        released = 0
        for place_id, minutes in sorted((await self.catalogue.no_show_release()).items()):
            ids = await self.repo.unattended(
                place_id, now - timedelta(minutes=minutes), now - RELEASE_LOOKBACK, RELEASE_BATCH
            )
            for booking_id in ids:
                booking = await self.repo.get(booking_id)
                assert booking is not None
                await self.changes.move(
                    booking, BookingStatus.NO_SHOW, now, reason=NO_SHOW_REASON, by_place=True
                )
                released += 1
        return released

    async def no_shows(self, actor: Actor, place_id: int) -> list[NoShowCount]:
        """People with bookings the place released as no-shows, most first (its managers)."""
        await self.catalogue.managed_place(actor, place_id)
        counts = await self.repo.no_show_counts(place_id)
        users = await self.repo.users(list(counts))
        return sorted(
            (
                NoShowCount(
                    user_id=uid,
                    display_name=users[uid].display_name,
                    email=users[uid].email,
                    no_shows=count,
                )
                for uid, count in counts.items()
            ),
            key=lambda c: (-c.no_shows, c.display_name),
        )
