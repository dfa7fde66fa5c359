"""Thin HTTP controllers of waitlists: join a full slot, leave, list mine, accept an offer."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.controllers import booking_services
from booking.service import Waitlist
from booking.waitlist_schemas import WaitlistEntryRead, WaitlistJoin
from kernel.auth.actor import actor_of
from kernel.auth.guards import require_user
from kernel.auth.rules import BEARER, BOOKING, SELF, USER
from kernel.routes import delete, get, post


def provide_waitlist(db_session: NamedDependency[AsyncSession], state: State) -> Waitlist:
    """Waitlists in this request's transaction."""
    return booking_services(state).waitlist(db_session)


WAITLIST = {"waitlist": Provide(provide_waitlist, sync_to_thread=False)}
WaitlistDep = NamedDependency[Waitlist]
Caller = Request[Any, Any, Any]


class WaitlistController(Controller):
    """Waitlists of full slots, for signed-in users (and the places' managers)."""

    path = "/api"
    tags = ["waitlist"]
    dependencies = WAITLIST
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/waitlist", status_code=HTTP_201_CREATED, opt=USER)
    async def join(
        self, waitlist: WaitlistDep, request: Caller, data: JSONBody[WaitlistJoin]
    ) -> Response[WaitlistEntryRead]:
        """Wait for a full slot (409 slot_available when it can be booked now); joining
        twice answers the first entry (200)."""
        entry, new = await waitlist.join(actor_of(request), data)
        return Response(entry, status_code=HTTP_201_CREATED if new else HTTP_200_OK)

    @get("/me/waitlist", opt=SELF)
    async def mine(self, waitlist: WaitlistDep, request: Caller) -> list[WaitlistEntryRead]:
        """Your waitlist entries: waiting and offered first, with your place in line."""
        return await waitlist.mine(actor_of(request))

    @delete("/waitlist/{entry_id:int}", status_code=HTTP_200_OK, opt=BOOKING)
    async def leave(
        self, waitlist: WaitlistDep, request: Caller, entry_id: FromPath[int]
    ) -> WaitlistEntryRead:
        """Leave a waitlist (its person or the place's managers); an offer is declined."""
        return await waitlist.leave(actor_of(request), entry_id)

    @post("/waitlist/{entry_id:int}/accept", status_code=HTTP_200_OK, opt=BOOKING)
    async def accept(
        self, waitlist: WaitlistDep, request: Caller, entry_id: FromPath[int]
    ) -> WaitlistEntryRead:
        """Book an offer at one click: its held booking is confirmed."""
        return await waitlist.accept(actor_of(request), entry_id)


CONTROLLERS = [WaitlistController]
