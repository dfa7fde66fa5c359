"""Thin HTTP controllers of bookings: parse, authorize, call one service method.

Guards check the coarse rule (``opt["auth"]``); which place and whose booking is checked by
the service with the :class:`Actor` (a booking you may not see is a 404, never a 403).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.allocation import AlreadyBooked
from booking.models import BookingStatus
from booking.schemas import (
    Agenda,
    BookingCreate,
    BookingPage,
    BookingRead,
    CancelRequest,
    Decision,
    PlaceAvailability,
    PoliciesUpdate,
    PolicyRead,
    Reschedule,
    ResourceAvailability,
    SearchHit,
    SeriesCancel,
    SeriesCreate,
    SeriesCreated,
    SeriesRead,
)
from booking.service import Availability, Bookings, BookingServices, PlaceAgenda, Series
from kernel.auth.actor import actor_of
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import (
    BEARER,
    BOOKING,
    ORGANISATION,
    PLACE_MANAGER,
    PUBLIC,
    SELF,
    USER,
)
from kernel.errors import InvalidInputError, OutcomeUnknownError
from kernel.idempotency import (
    IDEMPOTENCY_OPT,
    INLINE,
    REPLAYED_HEADER,
    inline_claim,
    stored_answer,
)
from kernel.routes import get, post, put
from resources.place_search import MAX_RADIUS_KM, Where
from resources.schemas import ResourceKind

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
FromDate = Annotated[
    date | None, QueryParameter(name="from", description="first local date (default: today)")
]
ToDate = Annotated[
    date | None, QueryParameter(name="to", description="local date after the last one")
]
FromInstant = Annotated[
    datetime | None, QueryParameter(name="from", description="bookings ending after this")
]
ToInstant = Annotated[
    datetime | None, QueryParameter(name="to", description="bookings starting before this")
]
Units = Annotated[int, QueryParameter(ge=-1000, le=1000, description="units needed")]
OnBehalf = Annotated[
    int | None,
    QueryParameter(description="see the rules of this organisation (you must be a member)"),
]
Statuses = Annotated[list[BookingStatus] | None, QueryParameter(description="only these")]


def booking_services(state: State) -> BookingServices:
    """The application's booking services (the composition root built them)."""
    services: BookingServices = state.booking
    return services


def provide_bookings(db_session: NamedDependency[AsyncSession], state: State) -> Bookings:
    """Single bookings in this request's transaction."""
    return booking_services(state).bookings(db_session)


def provide_availability(db_session: NamedDependency[AsyncSession], state: State) -> Availability:
    """Slots and search in this request's transaction."""
    return booking_services(state).availability(db_session)


def provide_agenda(db_session: NamedDependency[AsyncSession], state: State) -> PlaceAgenda:
    """A place's agenda and policies in this request's transaction."""
    return booking_services(state).agenda(db_session)


def provide_series(db_session: NamedDependency[AsyncSession], state: State) -> Series:
    """Series in this request's transaction."""
    return booking_services(state).series(db_session)


# A handler asks for the one service it uses (by its parameter name): Litestar resolves only
# the dependencies a handler names.
BOOKINGS = {"bookings": Provide(provide_bookings, sync_to_thread=False)}
AVAILABILITY = {"availability": Provide(provide_availability, sync_to_thread=False)}
AGENDA = {"agenda": Provide(provide_agenda, sync_to_thread=False)}
SERIES = {"series": Provide(provide_series, sync_to_thread=False)}
BookingsDep = NamedDependency[Bookings]
AvailabilityDep = NamedDependency[Availability]
AgendaDep = NamedDependency[PlaceAgenda]
SeriesDep = NamedDependency[Series]
# The handlers read the actor off the request (actor_of) rather than take the "actor"
# dependency: with one dependency per handler (the service, after its session) Litestar
# resolves them one at a time; two independent ones are resolved in a task group, which cost
# a booking request more than the rest of the dependency injection together.
Caller = Request[Any, Any, Any]


def aware_or_refused(value: datetime | None, field: str) -> datetime | None:
    """A query's instant, refused (422 naming ``field``) when it has no time zone offset."""
    if value is not None and value.utcoffset() is None:
        raise InvalidInputError(
            "Give a time zone offset (e.g. 2027-03-02T14:00:00Z).",
            field=field,
            code="naive_datetime",
        )
    return value


class AvailabilityController(Controller):
    """When resources can be booked (public; a logged-in user sees their own rules)."""

    path = "/api"
    tags = ["availability"]
    dependencies = AVAILABILITY
    opt = PUBLIC

    @get("/resources/{resource_id:int}/availability", opt=PUBLIC)
    async def resource_availability(
        self,
        availability: AvailabilityDep,
        request: Caller,
        resource_id: FromPath[int],
        from_: FromDate = None,
        to: ToDate = None,
        duration_minutes: Annotated[
            int | None, QueryParameter(ge=1, le=10080, description="slot length")
        ] = None,
        units: Units = 1,
        organisation_id: OnBehalf = None,
    ) -> ResourceAvailability:
        """Bookable slots of a resource between two local dates, with free units."""
        return await availability.resource_availability(
            actor_of(request), resource_id, from_, to, duration_minutes, units, organisation_id
        )

    @get("/places/{place_id:int}/availability", opt=PUBLIC)
    async def place_availability(
        self,
        availability: AvailabilityDep,
        request: Caller,
        place_id: FromPath[int],
        date_: Annotated[date | None, QueryParameter(name="date")] = None,
        organisation_id: OnBehalf = None,
    ) -> PlaceAvailability:
        """Bookable slots of every resource of a place on one local day."""
        return await availability.place_availability(
            actor_of(request), place_id, date_, organisation_id
        )

    @get("/availability/search", opt=PUBLIC)
    async def search(
        self,
        availability: AvailabilityDep,
        request: Caller,
        starts_at: FromQuery[datetime],
        ends_at: FromQuery[datetime],
        town: Annotated[
            str | None,
            QueryParameter(
                max_length=120,
                description="a town, accents and small typos tolerated ('Lanion'), or a "
                "postcode or its start ('22300', '22'); any French town, even one with no "
                "place ('Perros-Guirec', '22700'), with no radius_km: the places 20 km around",
            ),
        ] = None,
        kind: FromQuery[ResourceKind | None] = None,
        units: Units = 1,
        q: Annotated[
            str | None,
            QueryParameter(max_length=100, description="a word of the resource or its place"),
        ] = None,
        latitude: Annotated[
            float | None, QueryParameter(ge=-90, le=90, description="search around this point")
        ] = None,
        longitude: Annotated[float | None, QueryParameter(ge=-180, le=180)] = None,
        radius_km: Annotated[
            int | None,
            QueryParameter(
                ge=1,
                le=MAX_RADIUS_KM,
                description="also places this far from the point, else from the town's places, "
                "else from the centre of the French commune typed",
            ),
        ] = None,
        free_times: Annotated[
            bool,
            QueryParameter(
                description="list the free times of duration_minutes (each resource's "
                "shortest by default) inside the range, instead of asking for all of it"
            ),
        ] = False,
        duration_minutes: Annotated[
            int | None, QueryParameter(ge=5, le=10080, description="length of a free time")
        ] = None,
    ) -> list[SearchHit]:
        """Resources free for a whole time range, or free times inside it, e.g. machines near
        Lannion next Tuesday afternoon, soonest first."""
        start = aware_or_refused(starts_at, "starts_at")
        end = aware_or_refused(ends_at, "ends_at")
        assert start is not None and end is not None
        if (latitude is None) != (longitude is None):
            missing = "longitude" if longitude is None else "latitude"
            raise InvalidInputError(
                "Give both latitude and longitude.", field=missing, code="point_incomplete"
            )
        where = Where(text=town, latitude=latitude, longitude=longitude, radius_km=radius_km)
        return await availability.search(
            actor_of(request),
            where,
            kind,
            start,
            end,
            units,
            text=q,
            free_times=free_times,
            duration_minutes=duration_minutes,
        )


class BookingController(Controller):
    """Bookings of the logged-in user."""

    path = "/api"
    tags = ["bookings"]
    dependencies = {**BOOKINGS, **SERIES}
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/bookings", status_code=HTTP_201_CREATED, opt={**USER, IDEMPOTENCY_OPT: INLINE})
    async def create(
        self, bookings: BookingsDep, request: Caller, data: JSONBody[BookingCreate]
    ) -> Response[BookingRead]:
        """Book units of one or more resources of a place for a time range."""
        # One statement that commits by itself, the idempotency key's claim and record included
        # (migration 0025); a key that booked before answers with that booking.
        once = await inline_claim(request)
        actor = actor_of(request)
        try:
            booked = await bookings.create(actor, data, alone=True, once=once)
        except OutcomeUnknownError as unknown:
            if once is not None:  # what the client needs: the same request, with the same key
                unknown.extra["idempotency_key"] = once.key
            raise
        except AlreadyBooked as done:
            assert once is not None
            if done.booking_id is None:  # kept before migration 0025: its stored body
                return cast("Response[BookingRead]", await stored_answer(request, once))
            replayed = await bookings.get(actor, done.booking_id)
            return Response(
                replayed, status_code=HTTP_201_CREATED, headers={REPLAYED_HEADER: "true"}
            )
        return Response(booked, status_code=HTTP_201_CREATED)

    @get("/bookings/{booking_id:int}", opt=BOOKING)
    async def get_booking(
        self, bookings: BookingsDep, request: Caller, booking_id: FromPath[int]
    ) -> BookingRead:
        """One booking (yours, your organisation's, or of a place you manage)."""
        return await bookings.get(actor_of(request), booking_id)

    @post("/bookings/{booking_id:int}/cancel", status_code=HTTP_200_OK, opt=BOOKING)
    async def cancel(
        self,
        bookings: BookingsDep,
        request: Caller,
        booking_id: FromPath[int],
        data: JSONBody[CancelRequest | None] = None,
    ) -> BookingRead:
        """Cancel a booking (users: until the place's cancellation deadline)."""
        return await bookings.cancel(
            actor_of(request),
            booking_id,
            data.reason if data else "",
            refund_to=data.refund_to if data else None,
        )

    @post("/bookings/{booking_id:int}/reschedule", status_code=HTTP_200_OK, opt=BOOKING)
    async def reschedule(
        self,
        bookings: BookingsDep,
        request: Caller,
        booking_id: FromPath[int],
        data: JSONBody[Reschedule],
    ) -> BookingRead:
        """Move a booking atomically: the old range is kept if the new one is refused."""
        return await bookings.reschedule(actor_of(request), booking_id, data)

    @get("/me/bookings", opt=SELF)
    async def my_bookings(
        self,
        bookings: BookingsDep,
        request: Caller,
        from_: FromInstant = None,
        to: ToInstant = None,
        status: Statuses = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> BookingPage:
        """Your bookings, personal and on behalf of organisations, by start."""
        return await bookings.list_mine(
            actor_of(request),
            aware_or_refused(from_, "from"),
            aware_or_refused(to, "to"),
            status,
            limit,
            offset,
        )

    @get("/organisations/{organisation_id:int}/bookings", opt=ORGANISATION)
    async def organisation_bookings(
        self,
        bookings: BookingsDep,
        request: Caller,
        organisation_id: FromPath[int],
        from_: FromInstant = None,
        to: ToInstant = None,
        status: Statuses = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> BookingPage:
        """Bookings made on behalf of an organisation you are a member of."""
        return await bookings.list_organisation(
            actor_of(request),
            organisation_id,
            aware_or_refused(from_, "from"),
            aware_or_refused(to, "to"),
            status,
            limit,
            offset,
        )

    @post("/series", status_code=HTTP_201_CREATED, opt=USER)
    async def create_series(
        self, series: SeriesDep, request: Caller, data: JSONBody[SeriesCreate]
    ) -> SeriesCreated:
        """Book every occurrence of a recurrence rule (all or nothing, or skip conflicts)."""
        return await series.create(actor_of(request), data)

    @get("/series/{series_id:int}", opt=BOOKING)
    async def get_series(
        self, series: SeriesDep, request: Caller, series_id: FromPath[int]
    ) -> SeriesRead:
        """A series and its bookings."""
        return await series.get(actor_of(request), series_id)

    @post("/series/{series_id:int}/cancel", status_code=HTTP_200_OK, opt=BOOKING)
    async def cancel_series(
        self,
        series: SeriesDep,
        request: Caller,
        series_id: FromPath[int],
        data: JSONBody[SeriesCancel],
    ) -> SeriesRead:
        """Cancel the bookings of a series from a local date on."""
        return await series.cancel(actor_of(request), series_id, data.from_date)


class BookingManagerController(Controller):
    """What the managers of a place do with its bookings."""

    path = "/api"
    tags = ["bookings"]
    dependencies = {**BOOKINGS, **AGENDA}
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @post("/bookings/{booking_id:int}/approve", status_code=HTTP_200_OK, opt=PLACE_MANAGER)
    async def approve(
        self,
        bookings: BookingsDep,
        request: Caller,
        booking_id: FromPath[int],
        data: JSONBody[Decision | None] = None,
    ) -> BookingRead:
        """Confirm a booking awaiting approval."""
        return await bookings.approve(actor_of(request), booking_id, data.reason if data else "")

    @post("/bookings/{booking_id:int}/refuse", status_code=HTTP_200_OK, opt=PLACE_MANAGER)
    async def refuse(
        self,
        bookings: BookingsDep,
        request: Caller,
        booking_id: FromPath[int],
        data: JSONBody[Decision | None] = None,
    ) -> BookingRead:
        """Refuse a booking awaiting approval; its units are freed."""
        return await bookings.refuse(actor_of(request), booking_id, data.reason if data else "")

    @get("/places/{place_id:int}/agenda", opt=PLACE_MANAGER)
    async def agenda(
        self,
        agenda: AgendaDep,
        request: Caller,
        place_id: FromPath[int],
        from_: FromDate = None,
        to: ToDate = None,
        include_cancelled: FromQuery[bool] = False,
    ) -> Agenda:
        """The place's bookings day by day, with who booked."""
        return await agenda.agenda(actor_of(request), place_id, from_, to, include_cancelled)

    @get("/places/{place_id:int}/booking-policies", opt=PLACE_MANAGER)
    async def policies(
        self, agenda: AgendaDep, request: Caller, place_id: FromPath[int]
    ) -> list[PolicyRead]:
        """The booking policies of the place."""
        return await agenda.policies(actor_of(request), place_id)

    @put("/places/{place_id:int}/booking-policies", opt=PLACE_MANAGER)
    async def set_policies(
        self,
        agenda: AgendaDep,
        request: Caller,
        place_id: FromPath[int],
        data: JSONBody[PoliciesUpdate],
    ) -> list[PolicyRead]:
        """Replace the booking policies of the place."""
        return await agenda.set_policies(actor_of(request), place_id, data)


CONTROLLERS = [AvailabilityController, BookingController, BookingManagerController]
