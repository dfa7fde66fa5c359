"""Catalogue business rules: places, opening hours, resources, units and blackouts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kernel import events
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from kernel.models import utcnow
from kernel.patching import changes_of
from resources import hours
from resources.models import (
    Blackout,
    OpeningHour,
    Place,
    PlaceException,
    Resource,
    ResourceUnit,
)
from resources.opendata import PlaceRecord
from resources.place_search import DEFAULT_RADIUS_KM, Located, Where
from resources.repository import (
    CatalogueRepository,
    FoundResource,
    PlaceFilter,
    ResourceFilter,
)
from resources.schedule import DayException, Span, WeeklyOpening
from resources.schemas import (
    BlackoutCreate,
    BlackoutRead,
    HolidayRead,
    LocalSpan,
    OpeningHoursUpdate,
    OpeningSpan,
    OpenSpanRead,
    Page,
    PlaceCreate,
    PlaceExceptionRead,
    PlaceExceptionWrite,
    PlaceRead,
    PlaceSummary,
    PlaceUpdate,
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
    check_durations,
)

MAX_SPAN_QUERY_DAYS = 400
# Fields a PATCH may set to null (they are optional); the others cannot be emptied.
PLACE_NULLABLE = frozenset(
    {
        "latitude",
        "longitude",
        "phone",
        "email",
        "website",
        "operator_siret",
        "holiday_subdivision",
        "school_zone",
        "mail_from",
        "no_show_release_minutes",
    }
)
RESOURCE_NULLABLE = frozenset({"photo_url", "max_minutes", "required_training_id"})


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _parse_hhmm(value: str) -> time:
    return time.fromisoformat(value)


def weekly_of(rows: Sequence[OpeningHour]) -> list[WeeklyOpening]:
    """Table rows as schedule values."""
    return [WeeklyOpening(row.weekday, row.opens, row.closes) for row in rows]


def exception_of(row: PlaceException) -> DayException:
    """A table row as a schedule value."""
    spans = tuple((_parse_hhmm(a), _parse_hhmm(b)) for a, b in row.spans)
    return DayException(day=row.day, closed=row.closed, spans=spans, reason=row.reason)


def open_spans_of(
    place: Place,
    weekly: Sequence[WeeklyOpening],
    exceptions: Sequence[DayException],
    start: date,
    end: date,
) -> list[Span]:
    """When ``place`` is open on local dates [start, end), as UTC spans.

    ``exceptions`` may hold other days too: only those in the range count.
    """
    return hours.open_spans(
        weekly,
        [e for e in exceptions if start <= e.day < end],
        ZoneInfo(place.timezone),
        start,
        end,
        public_holidays=hours.french_public_holidays(start, end, place.holiday_subdivision),
        closed_on_public_holidays=place.closed_on_public_holidays,
    )


def resource_read(row: Resource) -> ResourceRead:
    """The public view of a resource."""
    return ResourceRead.model_validate(row, from_attributes=True)


class CatalogueService:
    """What managers and the public may do with the catalogue."""

    def __init__(self, repository: CatalogueRepository) -> None:
        self.repo = repository

    # places ---------------------------------------------------------------
    async def managed_place(self, actor: Actor, place_id: int) -> Place:
        """A place the actor manages: ``not_found`` if absent, ``forbidden`` if not theirs."""
        place = await self.require_place(place_id)
        if not actor.manages(place_id):
            raise ForbiddenError("You do not manage this place.", code="not_place_manager")
        return place

    async def managed_resource(self, actor: Actor, resource_id: int) -> Resource:
        """A resource of a place the actor manages."""
        resource = await self.require_resource(resource_id)
        await self.managed_place(actor, resource.place_id)
        return resource

    async def require_place(self, place_id: int) -> Place:
        """A place, or ``not_found``."""
        place = await self.repo.get_place(place_id)
        if place is None:
            raise NotFoundError(f"No place with id {place_id}.", code="place_not_found")
        return place

    async def list_places(
        self, criteria: PlaceFilter, limit: int, offset: int
    ) -> Page[PlaceSummary]:
        """A page of places with the kinds of equipment each offers."""
        rows, total = await self.repo.list_places(criteria, limit, offset)
        return await self._summaries(rows, total, limit, offset)

    async def _summaries(
        self, rows: Sequence[Place], total: int, limit: int, offset: int
    ) -> Page[PlaceSummary]:
        kinds = await self.repo.kinds_by_place([p.id for p in rows if p.id is not None])
        items = [
            PlaceSummary.model_validate(
                {**row.model_dump(), "resource_kinds": kinds.get(row.id or 0, [])}
            )
            for row in rows
        ]
        return Page[PlaceSummary](items=items, total=total, limit=limit, offset=offset)

    async def place_detail(self, place_id: int, include_inactive: bool = False) -> PlaceRead:
        """Everything public about one place."""
        place = await self.require_place(place_id)
        if not place.active and not include_inactive:
            raise NotFoundError(f"No place with id {place_id}.", code="place_not_found")
        return await self._read(place, include_inactive)

    async def _read(self, place: Place, include_inactive: bool = False) -> PlaceRead:
        assert place.id is not None
        weekly = (await self.repo.opening_hours([place.id])).get(place.id, [])
        resources = (await self.repo.resources_of([place.id], include_inactive)).get(place.id, [])
        kinds = sorted({r.kind for r in resources if r.active})
        return PlaceRead.model_validate(
            {
                **place.model_dump(),
                "resource_kinds": kinds,
                "opening_hours": [
                    OpeningSpan(weekday=h.weekday, opens=h.opens, closes=h.closes) for h in weekly
                ],
                "opening_hours_osm": hours.osm_opening_hours(
                    weekly_of(weekly), place.closed_on_public_holidays
                ),
                "resources": [resource_read(r) for r in resources],
            }
        )

    async def create_place(self, data: PlaceCreate) -> PlaceRead:
        """Add a place; its slug must be free."""
        if await self.repo.slug_taken(data.slug):
            raise ConflictError(f"The slug {data.slug!r} is already used.", code="slug_taken")
        values = data.model_dump(mode="json")
        place = Place(**values)
        await self.repo.add(place)
        return await self._read(place)

    async def update_place(self, actor: Actor, place_id: int, data: PlaceUpdate) -> PlaceRead:
        """Change the given fields of a place."""
        place = await self.managed_place(actor, place_id)
        changes = changes_of(data, PLACE_NULLABLE)
        if changes.get("active", place.active) != place.active and not actor.is_admin:
            # Opening or closing a place to the public is the platform's decision.
            detail = "Only platform administrators open or close a place."
            raise ForbiddenError(
                detail,
                code="admin_only_field",
                extra={"errors": [{"field": "active", "message": detail}]},
            )
        for field, value in changes.items():
            setattr(place, field, value)
        place.updated_at = utcnow()
        await self.repo.add(place)
        return await self._read(place, include_inactive=True)

    async def delete_place(self, place_id: int) -> None:
        """Remove a place that has no resources (deactivate it otherwise)."""
        place = await self.require_place(place_id)
        if await self.repo.has_resources(place_id):
            raise ConflictError(
                "This place still has resources; deactivate it instead (active=false).",
                code="place_has_resources",
            )
        await self.repo.delete(place)

    async def open_data_records(self, base_url: str) -> list[PlaceRecord]:
        """Every active place as the national open-data export needs it."""
        places = await self.repo.all_active_places()
        ids = [p.id for p in places if p.id is not None]
        weekly = await self.repo.opening_hours(ids)
        kinds = await self.repo.kinds_by_place(ids)
        return [
            PlaceRecord(
                id=place.id or 0,
                name=place.name,
                address=place.address,
                postcode=place.postcode,
                town=place.town,
                latitude=place.latitude,
                longitude=place.longitude,
                siret=place.operator_siret,
                phone=place.phone,
                email=place.email,
                website=place.website,
                description=place.description,
                opening_hours_osm=hours.osm_opening_hours(
                    weekly_of(weekly.get(place.id or 0, [])), place.closed_on_public_holidays
                ),
                updated_on=place.updated_at.date(),
                equipment_kinds=frozenset(kinds.get(place.id or 0, [])),
                base_url=base_url,
            )
            for place in places
        ]

    # opening hours ---------------------------------------------------------
    async def set_opening_hours(
        self, actor: Actor, place_id: int, data: OpeningHoursUpdate
    ) -> PlaceRead:
        """Replace a place's weekly schedule after checking it is coherent."""
        place = await self.managed_place(actor, place_id)
        weekly = [WeeklyOpening(s.weekday, s.opens, s.closes) for s in data.spans]
        try:
            hours.validate_weekly(weekly)
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="spans", code="invalid_opening_hours") from exc
        await self.repo.replace_opening_hours(
            place_id,
            [
                OpeningHour(place_id=place_id, weekday=w.weekday, opens=w.opens, closes=w.closes)
                for w in weekly
            ],
        )
        place.updated_at = utcnow()
        await self.repo.add(place)
        return await self._read(place, include_inactive=True)

    async def list_exceptions(
        self, place_id: int, start: date, end: date
    ) -> list[PlaceExceptionRead]:
        """Closures and special openings of a place between two dates."""
        await self.require_place(place_id)
        rows = await self.repo.exceptions(place_id, start, end)
        return [self._exception_read(row) for row in rows]

    @staticmethod
    def _exception_read(row: PlaceException) -> PlaceExceptionRead:
        spans = [LocalSpan(opens=_parse_hhmm(a), closes=_parse_hhmm(b)) for a, b in row.spans]
        return PlaceExceptionRead(day=row.day, closed=row.closed, spans=spans, reason=row.reason)

    async def set_exception(
        self, actor: Actor, place_id: int, day: date, data: PlaceExceptionWrite
    ) -> PlaceExceptionRead:
        """Create or replace the exception of one day."""
        place = await self.managed_place(actor, place_id)
        spans = [(s.opens, s.closes) for s in data.spans]
        try:
            hours.validate_weekly([WeeklyOpening(day.weekday(), a, b) for a, b in spans])
        except ValueError as exc:
            raise InvalidInputError(str(exc), field="spans", code="invalid_opening_hours") from exc
        row = await self.repo.exception_on(place_id, day)
        if row is None:
            row = PlaceException(place_id=place_id, day=day, closed=data.closed)
        row.closed = data.closed
        row.spans = [[_hhmm(a), _hhmm(b)] for a, b in spans]
        row.reason = data.reason
        await self.repo.add(row)
        place.updated_at = utcnow()
        await self.repo.add(place)
        return self._exception_read(row)

    async def delete_exception(self, actor: Actor, place_id: int, day: date) -> None:
        """Go back to the weekly hours on ``day``."""
        await self.managed_place(actor, place_id)
        row = await self.repo.exception_on(place_id, day)
        if row is None:
            raise NotFoundError(f"No exception on {day.isoformat()}.", code="exception_not_found")
        await self.repo.delete(row)

    async def open_spans(self, place_id: int, start: date, end: date) -> list[OpenSpanRead]:
        """When the place is open between two local dates (holidays and exceptions applied)."""
        place = await self.require_place(place_id)
        check_date_range(start, end)
        weekly = weekly_of((await self.repo.opening_hours([place_id])).get(place_id, []))
        exceptions = [exception_of(r) for r in await self.repo.exceptions(place_id, start, end)]
        spans = hours.open_spans(
            weekly,
            exceptions,
            ZoneInfo(place.timezone),
            start,
            end,
            public_holidays=hours.french_public_holidays(start, end, place.holiday_subdivision),
            closed_on_public_holidays=place.closed_on_public_holidays,
        )
        return [OpenSpanRead(starts_at=s.start, ends_at=s.end) for s in spans]

    async def holidays(self, place_id: int, start: date, end: date) -> list[HolidayRead]:
        """Public holidays that apply to a place between two dates."""
        place = await self.require_place(place_id)
        check_date_range(start, end)
        names = hours.french_public_holiday_names(start, end, place.holiday_subdivision)
        return [HolidayRead(day=day, name=name) for day, name in sorted(names.items())]

    # resources ---------------------------------------------------------------
    async def require_resource(self, resource_id: int) -> Resource:
        """A resource, or ``not_found``."""
        resource = await self.repo.get_resource(resource_id)
        if resource is None:
            raise NotFoundError(f"No resource with id {resource_id}.", code="resource_not_found")
        return resource

    async def list_resources(
        self, criteria: ResourceFilter, limit: int, offset: int
    ) -> Page[ResourceRead]:
        """A page of resources."""
        rows, total = await self.repo.list_resources(criteria, limit, offset)
        return Page[ResourceRead](
            items=[resource_read(r) for r in rows], total=total, limit=limit, offset=offset
        )

    async def resource_detail(self, resource_id: int) -> ResourceRead:
        """One active resource of an active place."""
        resource = await self.require_resource(resource_id)
        place = await self.require_place(resource.place_id)
        if not (resource.active and place.active):
            raise NotFoundError(f"No resource with id {resource_id}.", code="resource_not_found")
        return resource_read(resource)

    async def create_resource(
        self, actor: Actor, place_id: int, data: ResourceCreate
    ) -> ResourceRead:
        """Add a resource and its units to a place."""
        await self.managed_place(actor, place_id)
        await self._check_training(place_id, data.required_training_id)
        values = data.model_dump(mode="json")
        resource = Resource(place_id=place_id, **values)
        await self.repo.add(resource)
        await self.repo.sync_units(resource)
        return resource_read(resource)

    async def update_resource(
        self, actor: Actor, resource_id: int, data: ResourceUpdate
    ) -> ResourceRead:
        """Change a resource; a new capacity adds or retires units."""
        resource = await self.managed_resource(actor, resource_id)
        changes = changes_of(data, RESOURCE_NULLABLE)
        if "required_training_id" in changes:
            await self._check_training(resource.place_id, data.required_training_id)
        merged = {**resource.model_dump(), **changes}
        try:
            check_durations(merged["slot_minutes"], merged["min_minutes"], merged["max_minutes"])
        except ValueError as exc:
            raise InvalidInputError(
                str(exc), field="min_minutes", code="invalid_durations"
            ) from exc
        for field, value in changes.items():
            setattr(resource, field, value)
        await self.repo.add(resource)
        if "capacity" in changes:
            await self.repo.sync_units(resource)
        return resource_read(resource)

    async def _check_training(self, place_id: int, training_id: int | None) -> None:
        if training_id is not None and not await self.repo.training_of_place(training_id, place_id):
            raise InvalidInputError(
                "The required training must be one of this place's trainings.",
                field="required_training_id",
                code="unknown_training",
            )

    # blackouts ---------------------------------------------------------------
    async def list_blackouts(self, resource_id: int) -> list[BlackoutRead]:
        """Maintenance windows of a resource."""
        await self.require_resource(resource_id)
        return [
            BlackoutRead.model_validate(b, from_attributes=True)
            for b in await self.repo.blackouts(resource_id)
        ]

    async def add_blackout(
        self, actor: Actor, resource_id: int, data: BlackoutCreate
    ) -> BlackoutRead:
        """Block a resource for maintenance."""
        await self.managed_resource(actor, resource_id)
        blackout = Blackout(resource_id=resource_id, **data.model_dump())
        await self.repo.add(blackout)
        return BlackoutRead.model_validate(blackout, from_attributes=True)

    async def delete_blackout(self, actor: Actor, resource_id: int, blackout_id: int) -> None:
        """Lift a maintenance window (published: its units may go to a waitlist)."""
        resource = await self.managed_resource(actor, resource_id)
        blackout = await self.repo.get_blackout(resource_id, blackout_id)
        if blackout is None:
            raise NotFoundError(f"No blackout with id {blackout_id}.", code="blackout_not_found")
        lifted = {
            "place_id": resource.place_id,
            "resource_id": resource_id,
            "starts_at": blackout.starts_at.isoformat(),
            "ends_at": blackout.ends_at.isoformat(),
        }
        await self.repo.delete(blackout)
        await events.publish(
            self.repo.session, "blackout.lifted", lifted, key=f"blackout.{blackout_id}.lifted"
        )

    # for the booking domain (it calls this service, never the repository) -------
    async def bookable_resources(self, resource_ids: Sequence[int]) -> list[Resource]:
        """Active resources of active places, in the order asked; ``resource_not_found`` else."""
        return (await self.bookable(resource_ids))[0]

    async def bookable(
        self, resource_ids: Sequence[int]
    ) -> tuple[list[Resource], dict[int, Place]]:
        """:meth:`bookable_resources` and their places by id (all active)."""
        resources = await self.repo.resources_by_ids(resource_ids)
        places = await self.repo.places_by_ids([r.place_id for r in resources.values()])
        found: list[Resource] = []
        for resource_id in resource_ids:
            resource = resources.get(resource_id)
            place = places.get(resource.place_id) if resource is not None else None
            if resource is None or place is None or not (resource.active and place.active):
                raise NotFoundError(
                    f"No resource with id {resource_id}.", code="resource_not_found"
                )
            found.append(resource)
        return found, places

    async def active_place(self, place_id: int) -> Place:
        """An active place, or ``place_not_found``."""
        place = await self.place_if_active(place_id)
        if place is None:
            raise NotFoundError(f"No place with id {place_id}.", code="place_not_found")
        return place

    async def place_if_active(self, place_id: int) -> Place | None:
        """The place if it exists and is active, else None."""
        place = await self.repo.get_place(place_id)
        return place if place is not None and place.active else None

    async def no_show_release(self) -> dict[int, int]:
        """Places that release bookings nobody checked in: id -> minutes after the start."""
        return await self.repo.no_show_release()

    async def places_by_ids(self, place_ids: Sequence[int]) -> dict[int, Place]:
        """Places by id (active or not)."""
        return await self.repo.places_by_ids(place_ids)

    async def resources_by_ids(self, resource_ids: Sequence[int]) -> dict[int, Resource]:
        """Resources by id (active or not), e.g. to name the resources of old bookings."""
        return await self.repo.resources_by_ids(resource_ids)

    async def active_resources_of(self, place_id: int) -> list[Resource]:
        """The active resources of a place, by name."""
        return (await self.repo.resources_of([place_id], include_inactive=False)).get(place_id, [])

    async def find_resources(
        self, town: str | None, kind: str | None, limit: int
    ) -> list[tuple[Resource, Place]]:
        """Active resources of active places matching a town and a kind, with their place."""
        rows, _ = await self.repo.list_resources(
            ResourceFilter(town=town, kind=kind), limit=limit, offset=0
        )
        places = await self.repo.places_by_ids([r.place_id for r in rows])
        return [(row, places[row.place_id]) for row in rows if row.place_id in places]

    async def locate(self, where: Where) -> Located:
        """Where distances count from and how far to look: the person's position, else the
        middle of the places of the town or postcode typed, else the French commune typed;
        a commune with no place and no radius asked gets DEFAULT_RADIUS_KM around it."""
        if where.latitude is not None and where.longitude is not None:
            return Located(centre=(where.latitude, where.longitude), radius_km=where.radius_km)
        if where.radius_km:
            centre = await self.repo.centre_of(where)
            if centre is not None:
                return Located(centre=centre, radius_km=where.radius_km)
        elif not (where.text or "").strip() or await self.repo.any_place_in(where):
            return Located()
        commune = await self.repo.commune_of(where)
        if commune is None or commune.latitude is None or commune.longitude is None:
            return Located()
        return Located(
            centre=(commune.latitude, commune.longitude),
            radius_km=where.radius_km or DEFAULT_RADIUS_KM,
            town=commune.name,
            postcode=where.postcode or (commune.postcodes[0] if commune.postcodes else None),
            widened=not where.radius_km,
        )

    async def search_places(
        self,
        where: Where,
        kind: str | None,
        limit: int,
        offset: int,
        located: Located | None = None,
    ) -> Page[PlaceSummary]:
        """Active places where the person looks (town typed loosely, postcode, radius)."""
        located = located or await self.locate(where)
        rows, total = await self.repo.search_places(where, located, kind, limit, offset)
        return await self._summaries(rows, total, limit, offset)

    async def search_resources(
        self, where: Where, kind: str | None, text: str | None, limit: int
    ) -> list[FoundResource]:
        """Active resources where the person looks, of a kind or holding a word, with their
        place and distance (nearest first when there is a centre)."""
        if not where.has_point and not where.radius_km and (where.text or "").strip():
            # A town typed: its places' resources, found without first asking whether it has
            # places (the commune's surroundings are searched only when it has none).
            found = await self.repo.search_resources(where, Located(), kind, text, limit)
            if found or await self.repo.any_place_in(where):
                return found
        located = await self.locate(where)
        return await self.repo.search_resources(where, located, kind, text, limit)

    async def open_spans_utc(self, place: Place, start: date, end: date) -> list[Span]:
        """When ``place`` is open on local dates [start, end), as UTC spans (no range cap)."""
        assert place.id is not None
        weekly = weekly_of((await self.repo.opening_hours([place.id])).get(place.id, []))
        exceptions = [exception_of(r) for r in await self.repo.exceptions(place.id, start, end)]
        return open_spans_of(place, weekly, exceptions, start, end)

    async def schedule_of(self, place_id: int) -> tuple[list[WeeklyOpening], list[DayException]]:
        """A place's weekly hours and all its dated exceptions, as schedule values."""
        weekly = weekly_of((await self.repo.opening_hours([place_id])).get(place_id, []))
        exceptions = await self.repo.exceptions(place_id, date.min, date.max)
        return weekly, [exception_of(row) for row in exceptions]

    async def blackout_spans(
        self,
        resource_ids: Sequence[int],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[int, list[Span]]:
        """Maintenance windows of several resources overlapping [start, end) (all of them
        without bounds), by start."""
        return await self.repo.blackout_ranges(resource_ids, start, end)

    async def units_of(self, resource_ids: Sequence[int]) -> dict[int, list[ResourceUnit]]:
        """Active units of each resource by position."""
        return await self.repo.active_units_of(resource_ids)

    async def revision(self) -> int | None:
        """The catalogue's change counter, moved by every change a booking checks (None if
        its row is missing)."""
        return await self.repo.catalogue_revision()

    async def units_by_ids(self, unit_ids: Sequence[int]) -> dict[int, ResourceUnit]:
        """Units by id, e.g. for their labels."""
        return await self.repo.units_by_ids(unit_ids)


def check_date_range(start: date, end: date) -> None:
    """A date range must be ordered and bounded, so no request can ask for everything."""
    if end <= start:
        raise InvalidInputError("'to' must be after 'from'.", field="to", code="invalid_range")
    if end - start > timedelta(days=MAX_SPAN_QUERY_DAYS):
        raise InvalidInputError(
            f"Ask for at most {MAX_SPAN_QUERY_DAYS} days at once.",
            field="to",
            code="range_too_long",
        )
