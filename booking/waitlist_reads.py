"""Waitlist entries as the API shows them (to their person, and to the place's managers).

A collaborator of the waitlist service and of the place agenda, which import no service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from booking.repository import BookingRepository
from booking.waitlist import WaitlistEntry, WaitlistStatus
from booking.waitlist_repository import WaitlistRepository
from booking.waitlist_schemas import ManagedWaitlistEntry, WaitingPerson, WaitlistEntryRead
from resources.service import CatalogueService


class WaitlistReader:
    """Builds the reads of waitlist entries: their resource, their place in line, who waits."""

    def __init__(
        self,
        repository: WaitlistRepository,
        bookings: BookingRepository,
        catalogue: CatalogueService,
    ) -> None:
        self.repo = repository
        self.bookings = bookings
        self.catalogue = catalogue

    async def reads(self, entries: Sequence[WaitlistEntry]) -> list[WaitlistEntryRead]:
        """Entries as the API shows them, with their place in line."""
        positions = await self.repo.positions(entries)
        resources = await self.catalogue.resources_by_ids(sorted({e.resource_id for e in entries}))
        reads = []
        for entry in entries:
            assert entry.id is not None
            resource = resources.get(entry.resource_id)
            reads.append(
                WaitlistEntryRead(
                    id=entry.id,
                    place_id=entry.place_id,
                    resource_id=entry.resource_id,
                    resource_name=resource.name if resource is not None else "",
                    quantity=entry.quantity,
                    starts_at=entry.starts_at,
                    ends_at=entry.ends_at,
                    organisation_id=entry.organisation_id,
                    status=WaitlistStatus(entry.status),
                    position=positions.get(entry.id),
                    offer_booking_id=entry.offer_booking_id,
                    offered_at=entry.offered_at,
                    offer_expires_at=entry.offer_expires_at,
                    created_at=entry.created_at,
                )
            )
        return reads

    async def managed(
        self,
        place_ids: Sequence[int],
        start: datetime | None,
        end: datetime | None,
        limit: int | None = None,
    ) -> list[ManagedWaitlistEntry]:
        """Live entries of places, with who waits (the callers check that the actor manages
        them)."""
        entries = (
            await self.repo.of_place(place_ids, start, end)
            if limit is None
            else await self.repo.of_place(place_ids, start, end, limit=limit)
        )
        users = await self.bookings.users([e.user_id for e in entries])
        return [
            ManagedWaitlistEntry(
                entry=read,
                person=WaitingPerson(
                    user_id=entry.user_id,
                    display_name=users[entry.user_id].display_name,
                    email=users[entry.user_id].email,
                ),
            )
            for entry, read in zip(entries, await self.reads(entries), strict=True)
        ]
