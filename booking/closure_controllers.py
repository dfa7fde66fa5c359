"""Closures and maintenance blackouts that handle the bookings they hit (managers of the place).

Each is previewed first (``…/preview``: the bookings hit, nothing changed) and applied with a
decision on each of them (``cancel_booking_ids``); a booking left undecided inside the period
refuses the change (``409 closure_hits_bookings``). Setting one day's exception and adding a
blackout live here, not in the catalogue, since they must see the bookings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.closure_schemas import (
    BlackoutApply,
    BlackoutRequest,
    ClosureApplied,
    ClosureCreate,
    ClosurePreview,
    ClosureRequest,
    ExceptionCreate,
)
from booking.controllers import booking_services
from booking.service import Closures
from kernel.auth.actor import actor_of
from kernel.auth.guards import require_manager
from kernel.auth.rules import BEARER, PLACE_MANAGER
from kernel.routes import post, put
from resources.schemas import BlackoutRead, PlaceExceptionRead


def provide_closures(db_session: NamedDependency[AsyncSession], state: State) -> Closures:
    """Closures and blackouts in this request's transaction."""
    return booking_services(state).closures(db_session)


CLOSURES = {"closures": Provide(provide_closures, sync_to_thread=False)}
ClosuresDep = NamedDependency[Closures]
Caller = Request[Any, Any, Any]


class ClosureController(Controller):
    """Closures of a place and blackouts of its resources, with the bookings they hit."""

    path = "/api"
    tags = ["closures"]
    dependencies = CLOSURES
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @post("/places/{place_id:int}/closures/preview", status_code=HTTP_200_OK, opt=PLACE_MANAGER)
    async def preview_closure(
        self,
        closures: ClosuresDep,
        request: Caller,
        place_id: FromPath[int],
        data: JSONBody[ClosureRequest],
    ) -> ClosurePreview:
        """The bookings a closure would hit; nothing is changed."""
        return await closures.preview_closure(actor_of(request), place_id, data)

    @post("/places/{place_id:int}/closures", status_code=HTTP_201_CREATED, opt=PLACE_MANAGER)
    async def close(
        self,
        closures: ClosuresDep,
        request: Caller,
        place_id: FromPath[int],
        data: JSONBody[ClosureCreate],
    ) -> ClosureApplied:
        """Close days (or set special hours), cancelling the bookings named for the place."""
        return await closures.close(actor_of(request), place_id, data)

    @put("/places/{place_id:int}/exceptions/{day:date}", opt=PLACE_MANAGER)
    async def set_exception(
        self,
        closures: ClosuresDep,
        request: Caller,
        place_id: FromPath[int],
        day: FromPath[date],
        data: JSONBody[ExceptionCreate],
    ) -> PlaceExceptionRead:
        """Close a place on a day, or open it with special hours (bookings hit: decided)."""
        applied = await closures.close(
            actor_of(request),
            place_id,
            ClosureCreate(
                first_day=day,
                spans=data.spans,
                reason=data.reason,
                cancel_booking_ids=data.cancel_booking_ids,
            ),
        )
        return applied.days[0]

    @post(
        "/resources/{resource_id:int}/blackouts/preview", status_code=HTTP_200_OK, opt=PLACE_MANAGER
    )
    async def preview_blackout(
        self,
        closures: ClosuresDep,
        request: Caller,
        resource_id: FromPath[int],
        data: JSONBody[BlackoutRequest],
    ) -> ClosurePreview:
        """The bookings of the resource a maintenance window would hit; nothing is changed."""
        return await closures.preview_blackout(actor_of(request), resource_id, data)

    @post("/resources/{resource_id:int}/blackouts", status_code=HTTP_201_CREATED, opt=PLACE_MANAGER)
    async def add_blackout(
        self,
        closures: ClosuresDep,
        request: Caller,
        resource_id: FromPath[int],
        data: JSONBody[BlackoutApply],
    ) -> BlackoutRead:
        """Block a resource for maintenance, cancelling the bookings named for the place."""
        applied = await closures.black_out(actor_of(request), resource_id, data)
        return applied.blackout


CONTROLLERS = [ClosureController]
