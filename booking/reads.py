"""Bookings as the API shows them, to those who may see them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from booking.admission import Context
from booking.allocation import NewBooking
from booking.models import Booking
from booking.repository import BookingRepository
from booking.schemas import BookingRead, ItemRead
from booking.state import current_status
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import NotFoundError
from resources.service import CatalogueService

# The fields of a read model that rows of a table class have, per (class, model).
_SHARED_FIELDS: dict[tuple[type, type[BaseModel]], tuple[str, ...]] = {}


def columns(row: object, model: type[BaseModel]) -> dict[str, Any]:
    """The values of ``row`` for the fields of ``model`` it has (a read's starting point)."""
    # Attribute access (not model_dump) so that columns expired by a flush are loaded.
    key = (type(row), model)
    names = _SHARED_FIELDS.get(key)
    if names is None:
        # Columns are class attributes: asking each row would fail a lookup per other field.
        names = tuple(name for name in model.model_fields if hasattr(type(row), name))
        _SHARED_FIELDS[key] = names
    return {name: getattr(row, name) for name in names}


def can_see(actor: Actor, booking: Booking) -> bool:
    """Its booker, its organisation's members, its place's managers and admins see a booking."""
    return (
        actor.is_admin
        or booking.booker_user_id == actor.user_id
        or actor.manages(booking.place_id)
        or (
            booking.organisation_id is not None
            and booking.organisation_id in actor.organisation_roles
        )
    )


class BookingReader:
    """Finds bookings for an actor and reads them out with their items, units and local times."""

    def __init__(
        self, repository: BookingRepository, catalogue: CatalogueService, clock: Clock
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.clock = clock

    async def visible(self, actor: Actor, booking_id: int, *, lock: bool = False) -> Booking:
        """A booking the actor may see (``lock``: its row locked and read again); 404 else."""
        booking = await self.repo.get(booking_id, lock=lock)
        if booking is None or not can_see(actor, booking):
            # Not yours and not your place's: it does not exist for you.
            raise NotFoundError(f"No booking with id {booking_id}.", code="booking_not_found")
        return booking

    async def reads(self, bookings: Sequence[Booking]) -> list[BookingRead]:
        """Bookings as the API shows them."""
        if not bookings:
            return []
        now = self.clock()
        ids = [b.id for b in bookings if b.id is not None]
        items = await self.repo.items_of(ids)
        allocations = await self.repo.allocations_of(ids)
        resources = await self.catalogue.resources_by_ids(
            [i.resource_id for found in items.values() for i in found]
        )
        units = await self.catalogue.units_by_ids(
            [a.unit_id for found in allocations.values() for a in found]
        )
        places = await self.catalogue.places_by_ids([b.place_id for b in bookings])
        result = []
        for booking in bookings:
            assert booking.id is not None
            tz = ZoneInfo(places[booking.place_id].timezone)
            item_reads = [
                ItemRead(
                    resource_id=item.resource_id,
                    resource_name=resources[item.resource_id].name,
                    quantity=item.quantity,
                    units=[
                        units[a.unit_id].label
                        for a in allocations[booking.id]
                        if a.item_id == item.id and a.unit_id in units
                    ],
                )
                for item in items[booking.id]
            ]
            result.append(
                BookingRead.model_validate(
                    {
                        **columns(booking, BookingRead),
                        "status": current_status(booking, now),
                        "timezone": tz.key,
                        "local_starts_at": booking.starts_at.astimezone(tz),
                        "local_ends_at": booking.ends_at.astimezone(tz),
                        "items": item_reads,
                    }
                )
            )
        return result

    async def read(self, booking: Booking) -> BookingRead:
        """One booking as the API shows it."""
        return (await self.reads([booking]))[0]

    def new_read(self, ctx: Context, new: NewBooking) -> BookingRead:
        """The read of a booking just inserted, from what the insert already knows (no read
        of the database)."""
        labels = {u.id: u.label for units in new.units.values() for u in units}
        return BookingRead.model_validate(
            {
                **columns(new.booking, BookingRead),
                "timezone": ctx.tz.key,
                "local_starts_at": new.booking.starts_at.astimezone(ctx.tz),
                "local_ends_at": new.booking.ends_at.astimezone(ctx.tz),
                "items": [
                    ItemRead(
                        resource_id=rid,
                        resource_name=ctx.resources[rid].name,
                        quantity=quantity,
                        units=[labels[unit_id] for unit_id in new.picked[rid]],
                    )
                    for rid, quantity in new.items
                ],
            }
        )
