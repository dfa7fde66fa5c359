"""The programme's API: sessions published and read, registrations, the sign-in sheet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.params import Parameter as QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.controllers import aware_or_refused
from kernel.auth.actor import actor_of
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import BEARER, BOOKING, PLACE_MANAGER, PUBLIC, USER
from kernel.routes import get, post, put
from programme import opendata
from programme.schemas import (
    AttendanceMark,
    DeskRegistrationCreate,
    Kind,
    Registrant,
    RegistrationCreate,
    RegistrationRead,
    SessionCancel,
    SessionCreate,
    SessionPage,
    SessionRead,
    SessionUpdate,
)
from programme.service import ProgrammeServices, Registrations, Sessions

Caller = Request[Any, Any, Any]
CALENDAR = "text/calendar; charset=utf-8"
CSV = "text/csv; charset=utf-8"


def programme_services(state: State) -> ProgrammeServices:
    """The application's programme services (the composition root built them)."""
    services: ProgrammeServices = state.programme
    return services


def provide_sessions(db_session: NamedDependency[AsyncSession], state: State) -> Sessions:
    """Sessions in this request's transaction."""
    return programme_services(state).sessions(db_session)


def provide_registrations(db_session: NamedDependency[AsyncSession], state: State) -> Registrations:
    """Registrations in this request's transaction."""
    return programme_services(state).registrations(db_session)


DEPENDENCIES = {
    "sessions": Provide(provide_sessions, sync_to_thread=False),
    "registrations": Provide(provide_registrations, sync_to_thread=False),
}
SessionsDep = NamedDependency[Sessions]
RegistrationsDep = NamedDependency[Registrations]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=100_000)]


class ProgrammeController(Controller):
    """Everyone reads the programmes: a place's, or every place's, filtered."""

    path = "/api"
    tags = ["programme"]
    dependencies = DEPENDENCIES
    opt = PUBLIC

    @get("/sessions", opt=PUBLIC)
    async def list_sessions(
        self,
        sessions: SessionsDep,
        place_id: FromQuery[int | None] = None,
        town: Annotated[str | None, QueryParameter(max_length=120)] = None,
        kind: FromQuery[Kind | None] = None,
        starts_after: Annotated[
            datetime | None, QueryParameter(description="from this instant (default: now)")
        ] = None,
        starts_before: FromQuery[datetime | None] = None,
        free: Annotated[
            bool | None, QueryParameter(description="true: free sessions; false: paid ones")
        ] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> SessionPage:
        """Sessions of every place (or one), soonest first, by town, kind, dates and price."""
        return await sessions.page(
            place_id=place_id,
            town=town,
            kind=kind,
            start=aware_or_refused(starts_after, "starts_after"),
            end=aware_or_refused(starts_before, "starts_before"),
            free=free,
            limit=limit,
            offset=offset,
        )

    @get("/places/{place_id:int}/sessions.ics", media_type=CALENDAR, opt=PUBLIC)
    async def feed(
        self, sessions: SessionsDep, state: State, place_id: FromPath[int]
    ) -> Response[str]:
        """A place's programme as an iCalendar feed (subscribe to it in a calendar)."""
        body = await sessions.feed(place_id, state.settings.public_base_url)
        return Response(body, media_type=CALENDAR, headers={"Cache-Control": "public, max-age=300"})

    @get("/sessions/{session_id:int}", opt=PUBLIC)
    async def get_session(self, sessions: SessionsDep, session_id: FromPath[int]) -> SessionRead:
        """A session, with its seats left."""
        return await sessions.get(session_id)


class SessionAdminController(Controller):
    """A place's managers publish and cancel its sessions, and keep their sign-in sheets."""

    path = "/api"
    tags = ["programme"]
    dependencies = DEPENDENCIES
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @post("/places/{place_id:int}/sessions", status_code=HTTP_201_CREATED, opt=PLACE_MANAGER)
    async def publish(
        self,
        sessions: SessionsDep,
        request: Caller,
        place_id: FromPath[int],
        data: JSONBody[SessionCreate],
    ) -> list[SessionRead]:
        """Publish a session on each date; the resources it occupies are booked for the place."""
        return await sessions.publish(actor_of(request), place_id, data)

    @put("/sessions/{session_id:int}", opt=PLACE_MANAGER)
    async def update(
        self,
        sessions: SessionsDep,
        request: Caller,
        session_id: FromPath[int],
        data: JSONBody[SessionUpdate],
    ) -> SessionRead:
        """Change a session's title, description, seats or minimum before it starts."""
        return await sessions.update(actor_of(request), session_id, data)

    @post("/sessions/{session_id:int}/cancel", status_code=HTTP_200_OK, opt=PLACE_MANAGER)
    async def cancel(
        self,
        sessions: SessionsDep,
        request: Caller,
        session_id: FromPath[int],
        data: JSONBody[SessionCancel],
    ) -> SessionRead:
        """Cancel a session: registrations cancelled, resources released, registrants told."""
        return await sessions.cancel(actor_of(request), session_id, data.reason)

    @get("/sessions/{session_id:int}/registrations", opt=PLACE_MANAGER)
    async def registrants(
        self, registrations: RegistrationsDep, request: Caller, session_id: FromPath[int]
    ) -> list[Registrant]:
        """Who registered, then who waits (the sign-in sheet)."""
        return await registrations.registrants(actor_of(request), session_id)

    @post(
        "/sessions/{session_id:int}/desk-registrations",
        status_code=HTTP_201_CREATED,
        opt=PLACE_MANAGER,
    )
    async def register_at_desk(
        self,
        registrations: RegistrationsDep,
        request: Caller,
        session_id: FromPath[int],
        data: JSONBody[DeskRegistrationCreate],
    ) -> RegistrationRead:
        """Register a person of the place or a walk-in at the front desk (seats counted)."""
        return await registrations.register_at_desk(actor_of(request), session_id, data)

    @post(
        "/registrations/{registration_id:int}/attendance",
        status_code=HTTP_200_OK,
        opt=PLACE_MANAGER,
    )
    async def mark(
        self,
        registrations: RegistrationsDep,
        request: Caller,
        registration_id: FromPath[int],
        data: JSONBody[AttendanceMark],
    ) -> RegistrationRead:
        """Mark a registered person present (or not); a training attended certifies them."""
        return await registrations.mark(actor_of(request), registration_id, data)


class RegistrationController(Controller):
    """People register for sessions, see and cancel their registrations."""

    path = "/api"
    tags = ["programme"]
    dependencies = DEPENDENCIES
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/sessions/{session_id:int}/registrations", status_code=HTTP_201_CREATED, opt=USER)
    async def register(
        self,
        registrations: RegistrationsDep,
        request: Caller,
        session_id: FromPath[int],
        data: JSONBody[RegistrationCreate],
    ) -> RegistrationRead:
        """Take seats at a session (or, when full and asked, a place in its waitlist)."""
        return await registrations.register(actor_of(request), session_id, data)

    @get("/me/registrations", opt=USER)
    async def mine(
        self, registrations: RegistrationsDep, request: Caller
    ) -> list[RegistrationRead]:
        """My registrations, latest session first."""
        return await registrations.mine(actor_of(request))

    # "booking" scope: the registration's person, or a manager of its session's place.
    @get("/registrations/{registration_id:int}", opt=BOOKING)
    async def get_registration(
        self, registrations: RegistrationsDep, request: Caller, registration_id: FromPath[int]
    ) -> RegistrationRead:
        """A registration (its person, or the place's managers)."""
        return await registrations.get(actor_of(request), registration_id)

    @post("/registrations/{registration_id:int}/cancel", status_code=HTTP_200_OK, opt=BOOKING)
    async def cancel_registration(
        self, registrations: RegistrationsDep, request: Caller, registration_id: FromPath[int]
    ) -> RegistrationRead:
        """Give up my seats before the session starts; those waiting get them."""
        return await registrations.cancel(actor_of(request), registration_id)


class ProgrammeOpenDataController(Controller):
    """The places' public programmes as an open data set ("séances"; see programme.opendata
    for why it is not in the national place schema)."""

    path = "/api/opendata"
    tags = ["open data"]
    dependencies = DEPENDENCIES
    opt = PUBLIC

    @get("/seances.csv", media_type=CSV, opt=PUBLIC)
    async def sessions_csv(self, sessions: SessionsDep, state: State) -> Response[str]:
        """Sessions to come of every place, as CSV (one row per session)."""
        table = await sessions.open_data(state.settings.public_base_url)
        return Response(
            opendata.to_csv(table),
            media_type=CSV,
            headers={"Content-Disposition": 'inline; filename="seances.csv"'},
        )

    @get("/seances.json", opt=PUBLIC)
    async def sessions_json(self, sessions: SessionsDep, state: State) -> list[opendata.SessionRow]:
        """Sessions to come of every place, as JSON (the CSV's columns)."""
        return await sessions.open_data(state.settings.public_base_url)


CONTROLLERS = [
    ProgrammeController,
    SessionAdminController,
    RegistrationController,
    ProgrammeOpenDataController,
]
