"""Statistics of a place (its managers) or of every place (the platform's administrators)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.repository import AccountRepository
from kernel.auth.actor import Actor
from kernel.clock import Clock, system_clock
from kernel.errors import ForbiddenError
from mutualab.reports.facts import Facts, ResourceFact
from mutualab.reports.figures import Statistics, compute
from mutualab.reports.occupancy import open_minutes
from mutualab.reports.periods import Period
from resources.models import Place
from resources.repository import CatalogueRepository
from resources.service import CatalogueService

# How payment methods are named in the figures (the pages translate them).
METHOD_LABELS = {
    "card": "Carte bancaire",
    "on_site": "Sur place",
    "invoice": "Sur facture",
    "free": "Gratuit",
    "wallet": "Porte-monnaie",
}


class StatisticsService:
    """Counts a period's activity from the bookings, payments and the catalogue."""

    def __init__(self, session: AsyncSession, clock: Clock = system_clock) -> None:
        self.clock = clock
        self.facts = Facts(session)
        self.catalogue = CatalogueService(CatalogueRepository(session))
        self.accounts = AccountRepository(session)

    async def managed_place(self, actor: Actor, place_id: int) -> Place:
        """A place the actor manages (``not_found``, ``forbidden`` otherwise): its exports'."""
        return await self.catalogue.managed_place(actor, place_id)

    async def for_place(self, actor: Actor, place_id: int, period: Period) -> Statistics:
        """A place's figures over ``period``: its managers' and the administrators'."""
        await self.catalogue.managed_place(actor, place_id)
        return await self._compute("place", place_id, [place_id], period)

    async def platform(self, actor: Actor, period: Period) -> Statistics:
        """Every place's figures together over ``period``: administrators only."""
        if not actor.is_admin:
            raise ForbiddenError("Only platform administrators may do this.", code="not_an_admin")
        return await self._compute("platform", None, None, period)

    async def user_type_labels(self, place_id: int | None = None) -> dict[str, str]:
        """French names of the user types (the API's figures carry them)."""
        return {t.code: t.label_fr for t in await self.accounts.user_types(place_id)}

    async def _compute(
        self, scope: str, place_id: int | None, place_ids: Sequence[int] | None, period: Period
    ) -> Statistics:
        bookings = await self.facts.bookings(place_ids, period.start, period.end)
        resources = await self.facts.resources(place_ids)
        people = [b.booker_user_id for b in bookings]
        return compute(
            scope="place" if scope == "place" else "platform",
            place_id=place_id,
            period=period,
            bookings=bookings,
            payments=await self.facts.payments(place_ids, period.start, period.end),
            resources=resources,
            open_minutes=await self._open_minutes(resources, period),
            first_days=await self.facts.first_days(place_ids, people),
            user_type_labels=await self.user_type_labels(place_id),
            method_labels=METHOD_LABELS,
            sessions=await self.facts.sessions(place_ids, period.start, period.end),
            now=self.clock(),
        )

    async def _open_minutes(
        self, resources: Sequence[ResourceFact], period: Period
    ) -> Mapping[int, int]:
        """Open minutes of each resource (one unit) over the period, in its place's zone."""
        places = await self.catalogue.places_by_ids(sorted({r.place_id for r in resources}))
        result: dict[int, int] = {}
        for place_id, place in places.items():
            spans = await self.catalogue.open_spans_utc(place, period.start, period.end)
            ids = [r.id for r in resources if r.place_id == place_id]
            if not spans:
                result.update(dict.fromkeys(ids, 0))
                continue
            blackouts = await self.catalogue.blackout_spans(
                ids, spans[0].start.astimezone(UTC), spans[-1].end.astimezone(UTC)
            )
            for resource_id in ids:
                result[resource_id] = open_minutes(spans, blackouts.get(resource_id, []))
        return result
