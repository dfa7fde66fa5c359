"""Every query of the catalogue lives here; nowhere else in the domain writes SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from resources.models import Blackout, OpeningHour, Place, PlaceException, Resource, ResourceUnit


@dataclass(frozen=True)
class PlaceFilter:
    """Criteria of a place search; ``None`` means no constraint."""

    town: str | None = None
    postcode: str | None = None
    kind: str | None = None
    text: str | None = None
    include_inactive: bool = False


@dataclass(frozen=True)
class ResourceFilter:
    """Criteria of a resource search."""

    place_id: int | None = None
    town: str | None = None
    kind: str | None = None
    text: str | None = None
    include_inactive: bool = False


def _contains(column: object, text: str) -> object:
    return func.lower(column).contains(text.lower(), autoescape=True)  # type: ignore[arg-type]


class CatalogueRepository:
    """Reads and writes of places, hours, resources, units and blackouts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # places -------------------------------------------------------------
    async def get_place(self, place_id: int) -> Place | None:
        """A place by id."""
        return await self.session.get(Place, place_id)

    async def slug_taken(self, slug: str) -> bool:
        """Whether a place already uses ``slug``."""
        found = await self.session.execute(select(Place.id).where(Place.slug == slug))
        return found.first() is not None

    async def list_places(
        self, criteria: PlaceFilter, limit: int, offset: int
    ) -> tuple[Sequence[Place], int]:
        """A page of places matching ``criteria``, ordered by town then name, and the total."""
        conditions = []
        if not criteria.include_inactive:
            conditions.append(Place.active.is_(True))  # type: ignore[attr-defined]
        if criteria.town:
            conditions.append(func.lower(Place.town) == criteria.town.lower())
        if criteria.postcode:
            conditions.append(Place.postcode == criteria.postcode)
        if criteria.text:
            conditions.append(
                or_(
                    _contains(Place.name, criteria.text),
                    _contains(Place.description, criteria.text),
                    _contains(Place.town, criteria.text),
                )
            )
        if criteria.kind:
            conditions.append(
                exists().where(
                    Resource.place_id == Place.id,
                    Resource.kind == criteria.kind,
                    Resource.active.is_(True),  # type: ignore[attr-defined]
                )
            )
        where = and_(True, *conditions)
        total = (await self.session.execute(select(func.count()).where(where).select_from(Place))).scalar_one()
        rows = await self.session.execute(
            select(Place).where(where).order_by(Place.town, Place.name, Place.id).limit(limit).offset(offset)
        )
        return rows.scalars().all(), total

    async def all_active_places(self) -> Sequence[Place]:
        """Every active place, for exports."""
        rows = await self.session.execute(
            select(Place).where(Place.active.is_(True)).order_by(Place.id)  # type: ignore[attr-defined]
        )
        return rows.scalars().all()

    async def kinds_by_place(self, place_ids: Sequence[int]) -> dict[int, list[str]]:
        """The kinds of active resources each place offers."""
        if not place_ids:
            return {}
        rows = await self.session.execute(
            select(Resource.place_id, Resource.kind)
            .where(Resource.place_id.in_(place_ids), Resource.active.is_(True))  # type: ignore[attr-defined]
            .distinct()
            .order_by(Resource.place_id, Resource.kind)
        )
        kinds: dict[int, list[str]] = defaultdict(list)
        for place_id, kind in rows.all():
            kinds[place_id].append(kind)
        return kinds

    async def add(self, row: Place | Resource | Blackout | PlaceException) -> None:
        """Insert a new row and learn its id."""
        self.session.add(row)
        await self.session.flush()

    async def delete(self, row: Place | Resource | Blackout | PlaceException) -> None:
        """Delete a row."""
        await self.session.delete(row)
        await self.session.flush()

    async def has_resources(self, place_id: int) -> bool:
        """Whether any resource (active or not) belongs to the place."""
        found = await self.session.execute(select(Resource.id).where(Resource.place_id == place_id))
        return found.first() is not None

    # opening hours ---------------------------------------------------------
    async def opening_hours(self, place_ids: Sequence[int]) -> dict[int, list[OpeningHour]]:
        """Weekly spans of each place, by weekday then opening time."""
        result: dict[int, list[OpeningHour]] = defaultdict(list)
        if not place_ids:
            return result
        rows = await self.session.execute(
            select(OpeningHour)
            .where(OpeningHour.place_id.in_(place_ids))  # type: ignore[attr-defined]
            .order_by(OpeningHour.place_id, OpeningHour.weekday, OpeningHour.opens)
        )
        for row in rows.scalars().all():
            result[row.place_id].append(row)
        return result

    async def replace_opening_hours(self, place_id: int, spans: Sequence[OpeningHour]) -> None:
        """Swap a place's whole weekly schedule."""
        await self.session.execute(delete(OpeningHour).where(OpeningHour.place_id == place_id))  # type: ignore[arg-type]
        self.session.add_all(spans)
        await self.session.flush()

    async def exceptions(self, place_id: int, start: date, end: date) -> Sequence[PlaceException]:
        """Exceptions of a place for days in [start, end)."""
        rows = await self.session.execute(
            select(PlaceException)
            .where(
                PlaceException.place_id == place_id,
                PlaceException.day >= start,  # type: ignore[operator]
                PlaceException.day < end,  # type: ignore[operator]
            )
            .order_by(PlaceException.day)
        )
        return rows.scalars().all()

    async def exception_on(self, place_id: int, day: date) -> PlaceException | None:
        """The exception of a place on one day."""
        rows = await self.session.execute(
            select(PlaceException).where(
                PlaceException.place_id == place_id, PlaceException.day == day
            )
        )
        return rows.scalars().first()

    # resources ---------------------------------------------------------------
    async def get_resource(self, resource_id: int) -> Resource | None:
        """A resource by id."""
        return await self.session.get(Resource, resource_id)

    async def list_resources(
        self, criteria: ResourceFilter, limit: int, offset: int
    ) -> tuple[Sequence[Resource], int]:
        """A page of resources matching ``criteria`` and the total."""
        conditions = []
        if not criteria.include_inactive:
            conditions.append(Resource.active.is_(True))  # type: ignore[attr-defined]
            conditions.append(Place.active.is_(True))  # type: ignore[attr-defined]
        if criteria.place_id is not None:
            conditions.append(Resource.place_id == criteria.place_id)
        if criteria.town:
            conditions.append(func.lower(Place.town) == criteria.town.lower())
        if criteria.kind:
            conditions.append(Resource.kind == criteria.kind)
        if criteria.text:
            conditions.append(
                or_(_contains(Resource.name, criteria.text), _contains(Resource.description, criteria.text))
            )
        where = and_(True, *conditions)
        joined = select(Resource).join(Place, Place.id == Resource.place_id).where(where)  # type: ignore[arg-type]
        total = (
            await self.session.execute(select(func.count()).select_from(joined.subquery()))
        ).scalar_one()
        rows = await self.session.execute(
            joined.order_by(Resource.place_id, Resource.name, Resource.id).limit(limit).offset(offset)
        )
        return rows.scalars().all(), total

    async def resources_of(self, place_ids: Sequence[int], include_inactive: bool) -> dict[int, list[Resource]]:
        """Resources of each place, ordered by name."""
        result: dict[int, list[Resource]] = defaultdict(list)
        if not place_ids:
            return result
        query = select(Resource).where(Resource.place_id.in_(place_ids))  # type: ignore[attr-defined]
        if not include_inactive:
            query = query.where(Resource.active.is_(True))  # type: ignore[attr-defined]
        rows = await self.session.execute(query.order_by(Resource.name, Resource.id))
        for row in rows.scalars().all():
            result[row.place_id].append(row)
        return result

    async def sync_units(self, resource: Resource) -> None:
        """Make exactly ``capacity`` units active, creating the missing ones."""
        assert resource.id is not None
        rows = await self.session.execute(
            select(ResourceUnit).where(ResourceUnit.resource_id == resource.id).order_by(ResourceUnit.position)  # type: ignore[arg-type]
        )
        units = list(rows.scalars().all())
        for unit in units:
            unit.active = unit.position <= resource.capacity
        for position in range(len(units) + 1, resource.capacity + 1):
            label = resource.name if resource.capacity == 1 else f"{resource.name} #{position}"
            self.session.add(
                ResourceUnit(resource_id=resource.id, position=position, label=label[:100])
            )
        await self.session.flush()

    async def active_units(self, resource_id: int) -> Sequence[ResourceUnit]:
        """The active units of a resource, by position."""
        rows = await self.session.execute(
            select(ResourceUnit)
            .where(ResourceUnit.resource_id == resource_id, ResourceUnit.active.is_(True))  # type: ignore[attr-defined]
            .order_by(ResourceUnit.position)
        )
        return rows.scalars().all()

    # blackouts ---------------------------------------------------------------
    async def blackouts(
        self, resource_id: int, start: datetime | None = None, end: datetime | None = None
    ) -> Sequence[Blackout]:
        """Blackouts of a resource overlapping [start, end), by start."""
        query = select(Blackout).where(Blackout.resource_id == resource_id)
        if end is not None:
            query = query.where(Blackout.starts_at < end)  # type: ignore[arg-type]
        if start is not None:
            query = query.where(Blackout.ends_at > start)  # type: ignore[arg-type]
        rows = await self.session.execute(query.order_by(Blackout.starts_at))  # type: ignore[arg-type]
        return rows.scalars().all()

    async def get_blackout(self, resource_id: int, blackout_id: int) -> Blackout | None:
        """A blackout of a given resource."""
        row = await self.session.get(Blackout, blackout_id)
        return row if row is not None and row.resource_id == resource_id else None
