"""Thin HTTP controllers of the catalogue: parse, authorize, call one service method.

Public reads and admin writes live in separate controllers so the authorization rule is
declared once per controller (``opt["auth"]``) and can be checked from the route table.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin, require_manager
from kernel.auth.rules import ADMIN, BEARER, PLACE_MANAGER, PUBLIC
from kernel.routes import delete, get, patch, post, put
from resources import opendata
from resources.repository import CatalogueRepository, PlaceFilter, ResourceFilter
from resources.schemas import (
    BlackoutRead,
    HolidayRead,
    OpeningHoursUpdate,
    OpenSpanRead,
    Page,
    PlaceCreate,
    PlaceExceptionRead,
    PlaceRead,
    PlaceSummary,
    PlaceUpdate,
    ResourceCreate,
    ResourceKind,
    ResourceRead,
    ResourceUpdate,
)
from resources.service import CatalogueService

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
# PostgreSQL text holds no NUL character: one in a search is refused here (422), not by the
# database (500).
WITHOUT_NUL = r"^[^\x00]*$"
Text = Annotated[
    str | None,
    QueryParameter(max_length=100, pattern=WITHOUT_NUL, description="text to look for"),
]
Town = Annotated[
    str | None, QueryParameter(max_length=100, pattern=WITHOUT_NUL, description="a town")
]
FromDate = Annotated[date, QueryParameter(name="from", description="first local date")]
ToDate = Annotated[date, QueryParameter(name="to", description="local date after the last one")]


def provide_catalogue(db_session: NamedDependency[AsyncSession]) -> CatalogueService:
    """The catalogue service bound to this request's transaction."""
    return CatalogueService(CatalogueRepository(db_session))


CATALOGUE = {"catalogue": Provide(provide_catalogue, sync_to_thread=False)}
Me = NamedDependency[Actor]


class PlaceController(Controller):
    """Places as the public sees them."""

    path = "/api/places"
    tags = ["places"]
    dependencies = CATALOGUE
    opt = PUBLIC

    @get("/")
    async def list_places(
        self,
        catalogue: NamedDependency[CatalogueService],
        town: Town = None,
        postcode: FromQuery[str | None] = None,
        kind: FromQuery[ResourceKind | None] = None,
        q: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[PlaceSummary]:
        """List places, filtered by town, postcode, kind of equipment or text."""
        criteria = PlaceFilter(town=town, postcode=postcode, kind=kind, text=q)
        return await catalogue.list_places(criteria, limit, offset)

    @get("/{place_id:int}")
    async def get_place(
        self, catalogue: NamedDependency[CatalogueService], place_id: FromPath[int]
    ) -> PlaceRead:
        """One place with its opening hours and resources."""
        return await catalogue.place_detail(place_id)

    @get("/{place_id:int}/exceptions")
    async def list_exceptions(
        self,
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
        from_: FromDate,
        to: ToDate,
    ) -> list[PlaceExceptionRead]:
        """Closures and special openings of a place between two dates."""
        return await catalogue.list_exceptions(place_id, from_, to)

    @get("/{place_id:int}/open-spans")
    async def open_spans(
        self,
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
        from_: FromDate,
        to: ToDate,
    ) -> list[OpenSpanRead]:
        """When a place is open between two dates, holidays and exceptions applied."""
        return await catalogue.open_spans(place_id, from_, to)

    @get("/{place_id:int}/holidays")
    async def holidays(
        self,
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
        from_: FromDate,
        to: ToDate,
    ) -> list[HolidayRead]:
        """Public holidays that apply to a place between two dates."""
        return await catalogue.holidays(place_id, from_, to)


class PlaceAdminController(Controller):
    """Creating and removing places (platform administrators)."""

    path = "/api/places"
    tags = ["places"]
    dependencies = CATALOGUE
    guards = [require_admin]
    security = BEARER
    opt = ADMIN

    @post("/", status_code=HTTP_201_CREATED)
    async def create_place(
        self, catalogue: NamedDependency[CatalogueService], data: JSONBody[PlaceCreate]
    ) -> PlaceRead:
        """Add a place."""
        return await catalogue.create_place(data)

    @delete("/{place_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def delete_place(
        self, catalogue: NamedDependency[CatalogueService], place_id: FromPath[int]
    ) -> None:
        """Remove a place that has no resources."""
        await catalogue.delete_place(place_id)


class PlaceManagerController(Controller):
    """Changes to a place, its hours and its resources (managers of that place)."""

    path = "/api/places"
    tags = ["places"]
    dependencies = CATALOGUE
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @patch("/{place_id:int}")
    async def update_place(
        self,
        catalogue: NamedDependency[CatalogueService],
        actor: Me,
        place_id: FromPath[int],
        data: JSONBody[PlaceUpdate],
    ) -> PlaceRead:
        """Change some fields of a place."""
        return await catalogue.update_place(actor, place_id, data)

    @put("/{place_id:int}/opening-hours")
    async def set_opening_hours(
        self,
        catalogue: NamedDependency[CatalogueService],
        actor: Me,
        place_id: FromPath[int],
        data: JSONBody[OpeningHoursUpdate],
    ) -> PlaceRead:
        """Replace the weekly opening hours of a place."""
        return await catalogue.set_opening_hours(actor, place_id, data)

    @delete("/{place_id:int}/exceptions/{day:date}", status_code=HTTP_204_NO_CONTENT)
    async def delete_exception(
        self,
        catalogue: NamedDependency[CatalogueService],
        actor: Me,
        place_id: FromPath[int],
        day: FromPath[date],
    ) -> None:
        """Return to the weekly hours on a day."""
        await catalogue.delete_exception(actor, place_id, day)

    @post("/{place_id:int}/resources", status_code=HTTP_201_CREATED)
    async def create_resource(
        self,
        catalogue: NamedDependency[CatalogueService],
        actor: Me,
        place_id: FromPath[int],
        data: JSONBody[ResourceCreate],
    ) -> ResourceRead:
        """Add a resource to a place."""
        return await catalogue.create_resource(actor, place_id, data)


class ResourceController(Controller):
    """Resources as the public sees them."""

    path = "/api/resources"
    tags = ["resources"]
    dependencies = CATALOGUE
    opt = PUBLIC

    @get("/")
    async def list_resources(
        self,
        catalogue: NamedDependency[CatalogueService],
        place_id: FromQuery[int | None] = None,
        town: Town = None,
        kind: FromQuery[ResourceKind | None] = None,
        q: Text = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ResourceRead]:
        """List resources, filtered by place, town, kind or text."""
        criteria = ResourceFilter(place_id=place_id, town=town, kind=kind, text=q)
        return await catalogue.list_resources(criteria, limit, offset)

    @get("/{resource_id:int}")
    async def get_resource(
        self, catalogue: NamedDependency[CatalogueService], resource_id: FromPath[int]
    ) -> ResourceRead:
        """One resource."""
        return await catalogue.resource_detail(resource_id)

    @get("/{resource_id:int}/blackouts")
    async def list_blackouts(
        self, catalogue: NamedDependency[CatalogueService], resource_id: FromPath[int]
    ) -> list[BlackoutRead]:
        """Maintenance windows of a resource."""
        return await catalogue.list_blackouts(resource_id)


class ResourceAdminController(Controller):
    """Changes to resources and their maintenance windows (managers of their place)."""

    path = "/api/resources"
    tags = ["resources"]
    dependencies = CATALOGUE
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @patch("/{resource_id:int}")
    async def update_resource(
        self,
        catalogue: NamedDependency[CatalogueService],
        actor: Me,
        resource_id: FromPath[int],
        data: JSONBody[ResourceUpdate],
    ) -> ResourceRead:
        """Change a resource (a new capacity adds or retires units)."""
        return await catalogue.update_resource(actor, resource_id, data)

    @delete("/{resource_id:int}/blackouts/{blackout_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def delete_blackout(
        self,
        catalogue: NamedDependency[CatalogueService],
        actor: Me,
        resource_id: FromPath[int],
        blackout_id: FromPath[int],
    ) -> None:
        """Lift a maintenance window."""
        await catalogue.delete_blackout(actor, resource_id, blackout_id)


class OpenDataController(Controller):
    """The place list in the national lieux-mediation-numerique schema, for aggregators."""

    path = "/api/opendata"
    tags = ["open data"]
    dependencies = CATALOGUE
    opt = PUBLIC

    @get("/lieux.csv", media_type="text/csv; charset=utf-8")
    async def places_csv(
        self, catalogue: NamedDependency[CatalogueService], state: State
    ) -> Response[str]:
        """Places as CSV following the lieux-mediation-numerique schema."""
        records = await catalogue.open_data_records(state.settings.public_base_url)
        return Response(
            opendata.to_csv(records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'inline; filename="lieux-mediation-numerique.csv"'},
        )

    @get("/lieux.json")
    async def places_json(
        self, catalogue: NamedDependency[CatalogueService], state: State
    ) -> list[dict[str, str | float | None]]:
        """Places as JSON following the lieux-mediation-numerique schema."""
        records = await catalogue.open_data_records(state.settings.public_base_url)
        return opendata.to_json(records)


CONTROLLERS = [
    PlaceController,
    PlaceAdminController,
    PlaceManagerController,
    ResourceController,
    ResourceAdminController,
    OpenDataController,
]
