"""The waitlist pages: join a full slot from the booking page, leave or book an offer from my
bookings. The rules are the waitlist service's (:class:`booking.service.Waitlist`)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.service import Waitlist
from booking.waitlist_controllers import WAITLIST
from booking.waitlist_schemas import WaitlistJoin
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import BOOKING, USER
from kernel.errors import AppError, NotFoundError
from kernel.routes import post
from mutualab.web.booking_forms import SlotForm, parse_slot
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

AnyRequest = Request[Any, Any, Any]


class WaitlistPages(Controller):
    """Join a full slot, leave a waitlist, book an offer."""

    path = "/"
    dependencies = {**CATALOGUE, **WAITLIST}
    guards = [require_user]
    opt = USER

    @post("/resources/{resource_id:int}/waitlist", opt=USER)
    async def join(
        self,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        waitlist: NamedDependency[Waitlist],
        db_session: NamedDependency[AsyncSession],
        resource_id: FromPath[int],
        data: URLEncodedBody[SlotForm],
    ) -> Response[Any]:
        """Wait for a full slot, then see it among my bookings (or back to book it)."""
        resource = await catalogue.resource_detail(resource_id)
        place = await catalogue.active_place(resource.place_id)
        slot, errors = parse_slot(data, ZoneInfo(place.timezone), resource.capacity)
        book = f"/resources/{resource_id}/book"
        if slot is None or errors:
            return see_other(book)
        request = WaitlistJoin(
            resource_id=resource_id,
            quantity=slot.quantity,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
        )
        try:
            async with db_session.begin_nested():
                await waitlist.join(actor, request)
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            # Free again (book it), or not a time to wait for: the booking page says why.
            return see_other(
                book,
                day=data.day,
                start=data.start,
                end=data.end,
                quantity=data.quantity,
                notice="waitlist_no",
            )
        return see_other("/account/bookings", notice="waitlist_joined")

    @post("/account/waitlist/{entry_id:int}/leave", opt=BOOKING)
    async def leave(
        self,
        actor: NamedDependency[Actor],
        waitlist: NamedDependency[Waitlist],
        db_session: NamedDependency[AsyncSession],
        entry_id: FromPath[int],
    ) -> Response[Any]:
        """Leave a waitlist (an offer is declined), then back to my bookings."""
        try:
            async with db_session.begin_nested():
                await waitlist.leave(actor, entry_id)
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            return see_other("/account/bookings", notice="waitlist_closed")
        return see_other("/account/bookings", notice="waitlist_left")

    @post("/account/waitlist/{entry_id:int}/accept", opt=BOOKING)
    async def accept(
        self,
        actor: NamedDependency[Actor],
        waitlist: NamedDependency[Waitlist],
        db_session: NamedDependency[AsyncSession],
        entry_id: FromPath[int],
    ) -> Response[Any]:
        """Book an offer at one click, then see the booking."""
        try:
            async with db_session.begin_nested():
                entry = await waitlist.accept(actor, entry_id)
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            return see_other("/account/bookings", notice="waitlist_closed")
        return see_other(f"/account/bookings/{entry.offer_booking_id}", notice="booked")
