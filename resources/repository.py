"""Every query of the catalogue lives here; nowhere else in the domain writes SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, delete, exists, func, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Training
from kernel.driver import Statement, fetch
from resources.communes import best_match
from resources.models import (
    Blackout,
    CatalogueRevision,
    Commune,
    OpeningHour,
    Photo,
    Place,
    PlaceException,
    Resource,
    ResourceUnit,
)
from resources.place_search import (
    Located,
    Where,
    distance_km,
    place_matches,
    text_contains,
    within,
)
from resources.schedule import Span

_B = Blackout.__table__.c  # type: ignore[attr-defined]
_BLACKOUTS_OF = (
    sa_select(_B.resource_id, _B.starts_at, _B.ends_at)
    .where(_B.resource_id.in_(bindparam("resource_ids", expanding=True)))
    .order_by(_B.starts_at)
)
_BLACKOUT_RANGES = _BLACKOUTS_OF.where(
    _B.starts_at < bindparam("end"), _B.ends_at > bindparam("start")
)

_U = ResourceUnit.__table__.c  # type: ignore[attr-defined]
_REVISION = CatalogueRevision.__table__.c  # type: ignore[attr-defined]
_REVISION_VALUE = sa_select(_REVISION.value).where(_REVISION.id == 1)
_REVISION_DRIVER = Statement.of(_REVISION_VALUE)


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


class FoundResource(NamedTuple):
    """A resource a search found, with its place's town and distance (km, None without a
    centre)."""

    resource_id: int
    place_id: int
    name: str
    town: str
    distance_km: float | None


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    # Case-insensitive on both databases; LIKE wildcards typed by the user match literally.
    return func.lower(column).contains(text.lower(), autoescape=True)


def _all(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(true(), *conditions)


Row = Place | Resource | Blackout | PlaceException


class CatalogueRepository:
    """Reads and writes of places, hours, resources, units and blackouts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Row) -> None:
        """Insert or update a row and learn its id."""
        self.session.add(row)
        await self.session.flush()

    async def delete(self, row: Row) -> None:
        """Delete a row."""
        await self.session.delete(row)
        await self.session.flush()

    # places -------------------------------------------------------------
    async def get_place(self, place_id: int) -> Place | None:
        """A place by id."""
        return await self.session.get(Place, place_id)

    async def place_by_slug(self, slug: str) -> Place | None:
        """A place by slug."""
        rows = await self.session.exec(select(Place).where(Place.slug == slug))
        return rows.first()

    async def slug_taken(self, slug: str) -> bool:
        """Whether a place already uses ``slug``."""
        found = await self.session.exec(select(Place.id).where(Place.slug == slug))
        return found.first() is not None

    def _place_conditions(self, criteria: PlaceFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if not criteria.include_inactive:
            conditions.append(col(Place.active).is_(True))
        if criteria.town:
            conditions.append(func.lower(Place.town) == criteria.town.lower())
        if criteria.postcode:
            conditions.append(col(Place.postcode) == criteria.postcode)
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
                    col(Resource.place_id) == col(Place.id),
                    col(Resource.kind) == criteria.kind,
                    col(Resource.active).is_(True),
                )
            )
        return conditions

    async def list_places(
        self, criteria: PlaceFilter, limit: int, offset: int
    ) -> tuple[Sequence[Place], int]:
        """A page of places matching ``criteria``, ordered by town then name, and the total."""
        where = _all(self._place_conditions(criteria))
        total = (
            await self.session.exec(select(func.count()).select_from(Place).where(where))
        ).one()
        rows = await self.session.exec(
            select(Place)
            .where(where)
            .order_by(col(Place.town), col(Place.name), col(Place.id))
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), total

    async def centre_of(self, where: Where) -> tuple[float, float] | None:
        """The middle of the active places of the town or postcode typed (None: none has
        coordinates)."""
        match = place_matches(Place.town, Place.postcode, where)
        if match is None:
            return None
        row = (
            await self.session.exec(
                select(func.avg(Place.latitude), func.avg(Place.longitude)).where(
                    col(Place.active).is_(True),
                    col(Place.latitude).is_not(None),
                    col(Place.longitude).is_not(None),
                    match,
                )
            )
        ).one()
        if row[0] is None or row[1] is None:
            return None
        return float(row[0]), float(row[1])

    async def any_place_in(self, where: Where) -> bool:
        """Whether an active place is in the town or postcode typed."""
        match = place_matches(Place.town, Place.postcode, where)
        if match is None:
            return False
        query = select(exists().where(col(Place.active).is_(True), match))
        return bool((await self.session.exec(query)).one())

    async def commune_of(self, where: Where) -> Commune | None:
        """The French commune meant by what was typed (resources.communes)."""
        return await best_match(self.session, where)

    @staticmethod
    def _location(where: Where, located: Located) -> list[ColumnElement[bool]]:
        """Places in the town typed, or within the radius of the centre, or both."""
        match = place_matches(Place.town, Place.postcode, where)
        near = (
            within(col(Place.latitude), col(Place.longitude), located.centre, located.radius_km)
            if located.centre is not None and located.radius_km
            else None
        )
        either = [c for c in (match, near) if c is not None]
        return [or_(*either)] if either else []

    async def search_places(
        self,
        where: Where,
        located: Located,
        kind: str | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Place], int]:
        """A page of active places where the person looks, nearest first when there is a
        centre, and the total."""
        centre = located.centre
        conditions = self._place_conditions(PlaceFilter(kind=kind))
        conditions += self._location(where, located)
        where_all = _all(conditions)
        total = (
            await self.session.exec(select(func.count()).select_from(Place).where(where_all))
        ).one()
        order: list[Any] = [col(Place.town), col(Place.name), col(Place.id)]
        if centre is not None:
            order.insert(0, distance_km(col(Place.latitude), col(Place.longitude), *centre))
        rows = await self.session.exec(
            select(Place).where(where_all).order_by(*order).limit(limit).offset(offset)
        )
        return rows.all(), total

    async def search_resources(
        self,
        where: Where,
        located: Located,
        kind: str | None,
        text: str | None,
        limit: int,
    ) -> list[FoundResource]:
        """Active resources of active places where the person looks, of a kind or holding a
        word, with their place and its distance from the centre (nearest first): plain rows,
        no loaded entities (the availability search judges them by its catalogue copies)."""
        centre = located.centre
        conditions = self._resource_conditions(ResourceFilter(kind=kind))
        conditions += self._location(where, located)
        if text and text.strip():
            conditions.append(
                or_(
                    text_contains(Resource.name, text),
                    text_contains(Resource.description, text),
                    text_contains(Place.name, text),
                )
            )
        distance = (
            distance_km(col(Place.latitude), col(Place.longitude), *centre)
            if centre is not None
            else None
        )
        columns: list[Any] = [
            col(Resource.id),
            col(Resource.place_id),
            col(Resource.name),
            col(Place.town),
        ]
        if distance is not None:
            columns.append(distance)
        rows = await self.session.exec(
            select(*columns)
            .join(Place, col(Place.id) == col(Resource.place_id))
            .where(_all(conditions))
            .order_by(
                *([distance.asc().nulls_last()] if distance is not None else []),
                col(Place.name),
                col(Resource.name),
                col(Resource.id),
            )
            .limit(limit)
        )
        return [
            FoundResource(
                row[0],
                row[1],
                row[2],
                row[3],
                float(row[4]) if distance is not None and row[4] is not None else None,
            )
            for row in rows.all()
        ]

    async def photos_of(self, place_id: int) -> list[Photo]:
        """The photos of a place and of its resources."""
        rows = await self.session.exec(select(Photo).where(Photo.place_id == place_id))
        return list(rows.all())

    async def photos_of_resources(self, resource_ids: Sequence[int]) -> dict[int, Photo]:
        """The photos of these resources, by resource."""
        if not resource_ids:
            return {}
        rows = await self.session.exec(
            select(Photo).where(col(Photo.resource_id).in_(list(resource_ids)))
        )
        return {row.resource_id: row for row in rows.all() if row.resource_id is not None}

    async def replace_photo(self, photo: Photo) -> str | None:
        """Store a photo in place of the one its place or resource had; the old one's key."""
        old = await self.remove_photo(photo.place_id, photo.resource_id)
        self.session.add(photo)
        await self.session.flush()
        return old

    async def remove_photo(self, place_id: int, resource_id: int | None) -> str | None:
        """Delete the photo of a place (no resource) or of a resource; its key, if it had one."""
        same = (
            col(Photo.resource_id) == resource_id
            if resource_id is not None
            else and_(col(Photo.place_id) == place_id, col(Photo.resource_id).is_(None))
        )
        removed = await self.session.exec(delete(Photo).where(same).returning(col(Photo.key)))
        return removed.scalar()

    async def all_active_places(self) -> Sequence[Place]:
        """Every active place, for exports."""
        rows = await self.session.exec(
            select(Place).where(col(Place.active).is_(True)).order_by(col(Place.id))
        )
        return rows.all()

    async def kinds_by_place(self, place_ids: Sequence[int]) -> dict[int, list[str]]:
        """The kinds of active resources each place offers."""
        kinds: dict[int, list[str]] = defaultdict(list)
        if not place_ids:
            return kinds
        rows = await self.session.exec(
            select(Resource.place_id, Resource.kind)
            .where(col(Resource.place_id).in_(place_ids), col(Resource.active).is_(True))
            .distinct()
            .order_by(col(Resource.place_id), col(Resource.kind))
        )
        for place_id, kind in rows.all():
            kinds[place_id].append(kind)
        return kinds

    async def has_resources(self, place_id: int) -> bool:
        """Whether any resource (active or not) belongs to the place."""
        found = await self.session.exec(select(Resource.id).where(Resource.place_id == place_id))
        return found.first() is not None

    # opening hours ---------------------------------------------------------
    async def opening_hours(self, place_ids: Sequence[int]) -> dict[int, list[OpeningHour]]:
        """Weekly spans of each place, by weekday then opening time."""
        result: dict[int, list[OpeningHour]] = defaultdict(list)
        if not place_ids:
            return result
        rows = await self.session.exec(
            select(OpeningHour)
            .where(col(OpeningHour.place_id).in_(place_ids))
            .order_by(col(OpeningHour.place_id), col(OpeningHour.weekday), col(OpeningHour.opens))
        )
        for row in rows.all():
            result[row.place_id].append(row)
        return result

    async def replace_opening_hours(self, place_id: int, spans: Sequence[OpeningHour]) -> None:
        """Swap a place's whole weekly schedule."""
        await self.session.exec(delete(OpeningHour).where(col(OpeningHour.place_id) == place_id))
        self.session.add_all(spans)
        await self.session.flush()

    async def exceptions(self, place_id: int, start: date, end: date) -> Sequence[PlaceException]:
        """Exceptions of a place for days in [start, end)."""
        rows = await self.session.exec(
            select(PlaceException)
            .where(
                PlaceException.place_id == place_id,
                col(PlaceException.day) >= start,
                col(PlaceException.day) < end,
            )
            .order_by(col(PlaceException.day))
        )
        return rows.all()

    async def exception_on(self, place_id: int, day: date) -> PlaceException | None:
        """The exception of a place on one day."""
        rows = await self.session.exec(
            select(PlaceException).where(
                PlaceException.place_id == place_id, PlaceException.day == day
            )
        )
        return rows.first()

    # resources ---------------------------------------------------------------
    async def get_resource(self, resource_id: int) -> Resource | None:
        """A resource by id."""
        return await self.session.get(Resource, resource_id)

    def _resource_conditions(self, criteria: ResourceFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if not criteria.include_inactive:
            conditions.append(col(Resource.active).is_(True))
            conditions.append(col(Place.active).is_(True))
        if criteria.place_id is not None:
            conditions.append(col(Resource.place_id) == criteria.place_id)
        if criteria.town:
            conditions.append(func.lower(Place.town) == criteria.town.lower())
        if criteria.kind:
            conditions.append(col(Resource.kind) == criteria.kind)
        if criteria.text:
            conditions.append(
                or_(
                    _contains(Resource.name, criteria.text),
                    _contains(Resource.description, criteria.text),
                )
            )
        return conditions

    async def list_resources(
        self, criteria: ResourceFilter, limit: int, offset: int
    ) -> tuple[Sequence[Resource], int]:
        """A page of resources matching ``criteria`` and the total."""
        where = _all(self._resource_conditions(criteria))
        on_place = col(Place.id) == col(Resource.place_id)
        total = (
            await self.session.exec(
                select(func.count()).select_from(Resource).join(Place, on_place).where(where)
            )
        ).one()
        rows = await self.session.exec(
            select(Resource)
            .join(Place, on_place)
            .where(where)
            .order_by(col(Resource.place_id), col(Resource.name), col(Resource.id))
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), total

    async def resources_of(
        self, place_ids: Sequence[int], include_inactive: bool
    ) -> dict[int, list[Resource]]:
        """Resources of each place, ordered by name."""
        result: dict[int, list[Resource]] = defaultdict(list)
        if not place_ids:
            return result
        query = select(Resource).where(col(Resource.place_id).in_(place_ids))
        if not include_inactive:
            query = query.where(col(Resource.active).is_(True))
        rows = await self.session.exec(query.order_by(col(Resource.name), col(Resource.id)))
        for row in rows.all():
            result[row.place_id].append(row)
        return result

    async def sync_units(self, resource: Resource) -> None:
        """Make exactly ``capacity`` units active, creating the missing ones."""
        assert resource.id is not None
        rows = await self.session.exec(
            select(ResourceUnit)
            .where(ResourceUnit.resource_id == resource.id)
            .order_by(col(ResourceUnit.position))
        )
        units = list(rows.all())
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
        rows = await self.session.exec(
            select(ResourceUnit)
            .where(ResourceUnit.resource_id == resource_id, col(ResourceUnit.active).is_(True))
            .order_by(col(ResourceUnit.position))
        )
        return rows.all()

    async def training_of_place(self, training_id: int, place_id: int) -> bool:
        """Whether a training exists and belongs to the place."""
        rows = await self.session.exec(
            select(Training.id).where(Training.id == training_id, Training.place_id == place_id)
        )
        return rows.first() is not None

    # blackouts ---------------------------------------------------------------
    async def blackouts(
        self, resource_id: int, start: datetime | None = None, end: datetime | None = None
    ) -> Sequence[Blackout]:
        """Blackouts of a resource overlapping [start, end), by start."""
        query = select(Blackout).where(Blackout.resource_id == resource_id)
        if end is not None:
            query = query.where(col(Blackout.starts_at) < end)
        if start is not None:
            query = query.where(col(Blackout.ends_at) > start)
        rows = await self.session.exec(query.order_by(col(Blackout.starts_at)))
        return rows.all()

    async def get_blackout(self, resource_id: int, blackout_id: int) -> Blackout | None:
        """A blackout of a given resource."""
        row = await self.session.get(Blackout, blackout_id)
        return row if row is not None and row.resource_id == resource_id else None

    # for the booking domain (through CatalogueService) ------------------------
    async def resources_by_ids(self, resource_ids: Sequence[int]) -> dict[int, Resource]:
        """Resources by id (active or not)."""
        if not resource_ids:
            return {}
        rows = await self.session.exec(
            select(Resource).where(col(Resource.id).in_(sorted(set(resource_ids))))
        )
        return {row.id: row for row in rows.all() if row.id is not None}

    async def no_show_release(self) -> dict[int, int]:
        """Active places that release bookings nobody checked in: id -> minutes after start."""
        rows = await self.session.exec(
            select(Place.id, Place.no_show_release_minutes).where(
                col(Place.no_show_release_minutes).is_not(None), col(Place.active)
            )
        )
        return {pid: minutes for pid, minutes in rows.all() if pid is not None and minutes}

    async def places_by_ids(self, place_ids: Sequence[int]) -> dict[int, Place]:
        """Places by id (active or not)."""
        if not place_ids:
            return {}
        rows = await self.session.exec(
            select(Place).where(col(Place.id).in_(sorted(set(place_ids))))
        )
        return {row.id: row for row in rows.all() if row.id is not None}

    async def active_units_of(self, resource_ids: Sequence[int]) -> dict[int, list[ResourceUnit]]:
        """Active units of each resource, by position (book_units() locks them when booking)."""
        result: dict[int, list[ResourceUnit]] = {rid: [] for rid in resource_ids}
        if not resource_ids:
            return result
        query = select(ResourceUnit).where(
            col(ResourceUnit.resource_id).in_(sorted(set(resource_ids))),
            col(ResourceUnit.active).is_(True),
        )
        rows = list((await self.session.exec(query)).all())
        for row in sorted(rows, key=lambda unit: (unit.resource_id, unit.position)):
            result[row.resource_id].append(row)
        return result

    async def catalogue_revision(self) -> int | None:
        """The catalogue's change counter (None if its row is missing: then nothing is kept).

        A read without a current copy asks for it first: on the driver's connection.
        """
        rows = await fetch(self.session, _REVISION_DRIVER, {})
        return rows[0]["value"] if rows else None

    async def units_by_ids(self, unit_ids: Sequence[int]) -> dict[int, ResourceUnit]:
        """Units by id."""
        if not unit_ids:
            return {}
        rows = await self.session.exec(
            select(ResourceUnit).where(col(ResourceUnit.id).in_(sorted(set(unit_ids))))
        )
        return {row.id: row for row in rows.all() if row.id is not None}

    async def blackout_ranges(
        self,
        resource_ids: Sequence[int],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[int, list[Span]]:
        """Blackout spans of several resources overlapping [start, end) (all of them without
        bounds), by start. One statement built once, plain rows."""
        result: dict[int, list[Span]] = {rid: [] for rid in resource_ids}
        if resource_ids:
            connection = await self.session.connection()
            params: dict[str, Any] = {"resource_ids": sorted(set(resource_ids))}
            statement = _BLACKOUTS_OF
            if start is not None and end is not None:
                statement = _BLACKOUT_RANGES
                params.update(start=start, end=end)
            rows = await connection.execute(statement, params)
            for resource_id, starts_at, ends_at in rows:
                result[resource_id].append(Span(starts_at, ends_at))
        return result
