"""Bookings as a manager sees them: each with who booked and for which organisation."""

from __future__ import annotations

from collections.abc import Sequence

from booking.models import Booking
from booking.reads import BookingReader
from booking.repository import BookingRepository
from booking.schemas import AgendaEntry, OrganisationRef, PersonRead


async def agenda_entries(
    reader: BookingReader, repo: BookingRepository, rows: Sequence[Booking]
) -> list[AgendaEntry]:
    """``rows`` as the agenda shows them, in the same order."""
    reads = await reader.reads(rows)
    users = await repo.users([r.booker_user_id for r in rows])
    organisations = await repo.organisations(
        [r.organisation_id for r in rows if r.organisation_id is not None]
    )
    entries = []
    for row, read in zip(rows, reads, strict=True):
        user = users[row.booker_user_id]
        organisation = (
            organisations.get(row.organisation_id) if row.organisation_id is not None else None
        )
        entries.append(
            AgendaEntry(
                booking=read,
                booker=PersonRead(
                    user_id=row.booker_user_id,
                    display_name=user.display_name,
                    email=user.email,
                    walk_in=user.guest_place_id == row.place_id
                    and user.password_hash is None
                    and user.deleted_at is None,
                ),
                organisation=(
                    OrganisationRef(id=row.organisation_id, name=organisation.name)
                    if organisation is not None and row.organisation_id is not None
                    else None
                ),
            )
        )
    return entries
