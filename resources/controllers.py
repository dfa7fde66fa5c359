"""Thin HTTP controllers of the catalogue: parse, authorize, call one service method."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from mutualab.auth.guards import require_admin
from resources import opendata
from resources.repository import CatalogueRepository, PlaceFilter, ResourceFilter
from resources.schemas import (
    BlackoutCreate,
    BlackoutRead,
    HolidayRead,
    OpeningHoursUpdate,
    OpenSpanRead,
    Page,
    PlaceCreate,
    PlaceExceptionRead,
    PlaceExceptionWrite,
    PlaceRead,
    PlaceSummary,
    PlaceUpdate,
    ResourceCreate,
    ResourceKind,
    ResourceRead,
    ResourceUpdate,
)
from resources.service import CatalogueService

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
Offset = Annotated[int, Parameter(ge=0, le=1_000_000)]
FromDate = Annotated[date, Parameter(query="from", description="first local date")]
ToDate = Annotated[date, Parameter(query="to", description="local date after the last one")]
ADMIN = {"guards": [require_admin], "security": [{"BearerToken": []}], "opt": {"auth": "admin"}}


def provide_catalogue(db_session: AsyncSession) -> CatalogueService:
    """The catalogue service bound to this request's transaction."""
    return CatalogueService(CatalogueRepository(db_session))


class PlaceController(Controller):
    """Places: public reads, admin writes."""

    path = "/api/places"
    tags = ["places"]
    dependencies = {"catalogue": Provide(provide_catalogue, sync_to_thread=False)}

    @get("/", opt={"auth": "public"})
    async def list_places(
        self,
        catalogue: CatalogueService,
        town: str | None = None,
        postcode: str | None = None,
        kind: ResourceKind | None = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[PlaceSummary]:
        """List places, filtered by town, postcode, kind of equipment or text."""
        criteria = PlaceFilter(town=town, postcode=postcode, kind=kind, text=q)
        return await catalogue.list_places(criteria, limit, offset)

    @get("/{place_id:int}", opt={"auth": "public"})
    async def get_place(self, catalogue: CatalogueService, place_id: int) -> PlaceRead:
        """One place with its opening hours and resources."""
        return await catalogue.place_detail(place_id)

    @post("/", status_code=HTTP_201_CREATED, **ADMIN)
    async def create_place(self, catalogue: CatalogueService, data: PlaceCreate) -> PlaceRead:
        """Add a place."""
        return await catalogue.create_place(data)

    @patch("/{place_id:int}", **ADMIN)
    async def update_place(
        self, catalogue: CatalogueService, place_id: int, data: PlaceUpdate
    ) -> PlaceRead:
        """Change some fields of a place."""
        return await catalogue.update_place(place_id, data)

    @delete("/{place_id:int}", status_code=HTTP_204_NO_CONTENT, **ADMIN)
    async def delete_place(self, catalogue: CatalogueService, place_id: int) -> None:
        """Remove a place that has no resources."""
        await catalogue.delete_place(place_id)

    @put("/{place_id:int}/opening-hours", **ADMIN)
    async def set_opening_hours(
        self, catalogue: CatalogueService, place_id: int, data: OpeningHoursUpdate
    ) -> PlaceRead:
        """Replace the weekly opening hours of a place."""
        return await catalogue.set_opening_hours(place_id, data)

    @get("/{place_id:int}/exceptions", opt={"auth": "public"})
    async def list_exceptions(
        self, catalogue: CatalogueService, place_id: int, from_: FromDate, to: ToDate
    ) -> list[PlaceExceptionRead]:
        """Closures and special openings of a place between two dates."""
        return await catalogue.list_exceptions(place_id, from_, to)

    @put("/{place_id:int}/exceptions/{day:date}", **ADMIN)
    async def set_exception(
        self, catalogue: CatalogueService, place_id: int, day: date, data: PlaceExceptionWrite
    ) -> PlaceExceptionRead:
        """Close a place on a day, or open it with special hours."""
        return await catalogue.set_exception(place_id, day, data)

    @delete("/{place_id:int}/exceptions/{day:date}", status_code=HTTP_204_NO_CONTENT, **ADMIN)
    async def delete_exception(self, catalogue: CatalogueService, place_id: int, day: date) -> None:
        """Return to the weekly hours on a day."""
        await catalogue.delete_exception(place_id, day)

    @get("/{place_id:int}/open-spans", opt={"auth": "public"})
    async def open_spans(
        self, catalogue: CatalogueService, place_id: int, from_: FromDate, to: ToDate
    ) -> list[OpenSpanRead]:
        """When a place is open between two dates, holidays and exceptions applied."""
        return await catalogue.open_spans(place_id, from_, to)

    @get("/{place_id:int}/holidays", opt={"auth": "public"})
    async def holidays(
        self, catalogue: CatalogueService, place_id: int, from_: FromDate, to: ToDate
    ) -> list[HolidayRead]:
        """Public holidays that apply to a place between two dates."""
        return await catalogue.holidays(place_id, from_, to)

    @post("/{place_id:int}/resources", status_code=HTTP_201_CREATED, **ADMIN)
    async def create_resource(
        self, catalogue: CatalogueService, place_id: int, data: ResourceCreate
    ) -> ResourceRead:
        """Add a resource to a place."""
        return await catalogue.create_resource(place_id, data)


class ResourceController(Controller):
    """Resources: public reads, admin writes, maintenance blackouts."""

    path = "/api/resources"
    tags = ["resources"]
    dependencies = {"catalogue": Provide(provide_catalogue, sync_to_thread=False)}

    @get("/", opt={"auth": "public"})
    async def list_resources(
        self,
        catalogue: CatalogueService,
        place_id: int | None = None,
        town: str | None = None,
        kind: ResourceKind | None = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ResourceRead]:
        """List resources, filtered by place, town, kind or text."""
        criteria = ResourceFilter(place_id=place_id, town=town, kind=kind, text=q)
        return await catalogue.list_resources(criteria, limit, offset)

    @get("/{resource_id:int}", opt={"auth": "public"})
    async def get_resource(self, catalogue: CatalogueService, resource_id: int) -> ResourceRead:
        """One resource."""
        return await catalogue.resource_detail(resource_id)

    @patch("/{resource_id:int}", **ADMIN)
    async def update_resource(
        self, catalogue: CatalogueService, resource_id: int, data: ResourceUpdate
    ) -> ResourceRead:
        """Change a resource (a new capacity adds or retires units)."""
        return await catalogue.update_resource(resource_id, data)

    @get("/{resource_id:int}/blackouts", opt={"auth": "public"})
    async def list_blackouts(
        self, catalogue: CatalogueService, resource_id: int
    ) -> list[BlackoutRead]:
        """Maintenance windows of a resource."""
        return await catalogue.list_blackouts(resource_id)

    @post("/{resource_id:int}/blackouts", status_code=HTTP_201_CREATED, **ADMIN)
    async def add_blackout(
        self, catalogue: CatalogueService, resource_id: int, data: BlackoutCreate
    ) -> BlackoutRead:
        """Block a resource for maintenance."""
        return await catalogue.add_blackout(resource_id, data)

    @delete(
        "/{resource_id:int}/blackouts/{blackout_id:int}", status_code=HTTP_204_NO_CONTENT, **ADMIN
    )
    async def delete_blackout(
        self, catalogue: CatalogueService, resource_id: int, blackout_id: int
    ) -> None:
        """Lift a maintenance window."""
        await catalogue.delete_blackout(resource_id, blackout_id)


class OpenDataController(Controller):
    """The place list in the national lieux-mediation-numerique schema, for aggregators."""

    path = "/api/opendata"
    tags = ["open data"]
    dependencies = {"catalogue": Provide(provide_catalogue, sync_to_thread=False)}

    @get("/lieux.csv", opt={"auth": "public"}, media_type="text/csv; charset=utf-8")
    async def places_csv(self, catalogue: CatalogueService, state: State) -> Response[str]:
        """Places as CSV following the lieux-mediation-numerique schema."""
        records = await catalogue.open_data_records(state.settings.public_base_url)
        return Response(
            opendata.to_csv(records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'inline; filename="lieux-mediation-numerique.csv"'},
        )

    @get("/lieux.json", opt={"auth": "public"})
    async def places_json(
        self, catalogue: CatalogueService, state: State
    ) -> list[dict[str, str | float | None]]:
        """Places as JSON following the lieux-mediation-numerique schema."""
        records = await catalogue.open_data_records(state.settings.public_base_url)
        return opendata.to_json(records)
