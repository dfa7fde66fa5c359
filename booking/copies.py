"""The catalogue of a place as booking checks it: the worker's kept copy while the catalogue
counter has not moved, loaded afresh (and kept) otherwise. :mod:`booking.snapshots` explains
the copies; this is the one place that reads and keeps them."""

from __future__ import annotations

from collections.abc import Sequence

from booking.repository import BookingRepository
from booking.snapshots import PlaceSnapshot, SlotMemo, SnapshotCache, detached
from kernel.errors import InvalidInputError
from resources.models import Place
from resources.place_search import Where
from resources.repository import FoundResource
from resources.service import CatalogueService


def mixed_places() -> InvalidInputError:
    """The refusal of resources from more than one place in one request."""
    return InvalidInputError(
        "All the resources of a booking must belong to the same place.",
        field="items",
        code="mixed_places",
    )


class CatalogueCopies:
    """Place catalogues from the worker's copies (``cache``), or from the database.

    Without a cache (``None``) every request reads the catalogue, as a one-off command does.
    """

    def __init__(
        self,
        catalogue: CatalogueService,
        repository: BookingRepository,
        cache: SnapshotCache | None,
    ) -> None:
        self.catalogue = catalogue
        self.repo = repository
        self.cache = cache

    @property
    def slots(self) -> SlotMemo | None:
        """The computed availability kept beside the copies (None without a cache)."""
        return None if self.cache is None else self.cache.slots

    def latest(self, resource_ids: Sequence[int]) -> PlaceSnapshot | None:
        """The kept copy holding these resources, whatever its revision: its user confirms the
        revision under the unit locks (``book_units()``) or starts over from a fresh copy."""
        return None if self.cache is None else self.cache.latest(resource_ids)

    def latest_of_place(self, place_id: int) -> PlaceSnapshot | None:
        """The kept copy of a place, whatever its revision (its user confirms the revision)."""
        return None if self.cache is None else self.cache.latest_of_place(place_id)

    async def revision(self) -> int | None:
        """The catalogue counter, when copies are kept and the row is there."""
        return None if self.cache is None else await self.catalogue.revision()

    async def of_resources(self, resource_ids: Sequence[int]) -> PlaceSnapshot:
        """The place of these bookable resources (``resource_not_found``, ``mixed_places``)."""
        revision = await self.revision()
        if self.cache is None or revision is None:
            return await self._load_place_of(resource_ids, revision)
        found = self.cache.find(resource_ids, revision)
        if found is not None:
            return found
        if self.cache.latest(resource_ids) is not None:
            # Kept, but older than the catalogue (it changed): each request checks its
            # resources again, and the place's copy is read once however many requests want
            # it (SnapshotCache.load_once).
            return await self._load_place_of(resource_ids, revision)
        # Resources of no kept copy: a worker's first reads of a place come at once, each for
        # other resources of it. Finding their place one request at a time, the first reads
        # the copy and the others find it kept: each finding it on its own took a connection
        # of its own, which the pool then opened (bench/growth.py: 18 at once, the reads' p99
        # at 7 to 11 times the median).
        async with self.cache.finding():
            found = self.cache.find(resource_ids, revision)
            return found if found is not None else await self._load_place_of(resource_ids, revision)

    async def _load_place_of(
        self, resource_ids: Sequence[int], revision: int | None
    ) -> PlaceSnapshot:
        _, places = await self.catalogue.bookable(resource_ids)
        if len(places) > 1:
            raise mixed_places()
        [place] = places.values()
        return await self._load(place, revision)

    async def of_place(self, place_id: int) -> PlaceSnapshot:
        """An active place's catalogue (``place_not_found``)."""
        revision = await self.revision()
        if self.cache is not None and revision is not None:
            found = self.cache.find_place(place_id, revision)
            if found is not None:
                return found
        return await self._load(await self.catalogue.active_place(place_id), revision)

    async def search(
        self, where: Where, kind: str | None, text: str | None, limit: int
    ) -> tuple[int | None, list[FoundResource]]:
        """The counter, then the resources a search finds (``CatalogueService.search_resources``)
        as kept at that counter, or read and kept: a term's opening asks the same towns again
        and again, and the query, built and run, cost a town search half its time."""
        revision = await self.revision()
        if self.cache is None or revision is None:
            return revision, await self.catalogue.search_resources(where, kind, text, limit)
        key = (where, kind, text, limit)
        kept = self.cache.found.find(revision, key)
        if kept is None:
            read = await self.catalogue.search_resources(where, kind, text, limit)
            self.cache.found.keep(revision, key, read)
            return revision, read
        return revision, list(kept)

    async def of_places(
        self, place_ids: Sequence[int], revision: int | None
    ) -> dict[int, PlaceSnapshot]:
        """The catalogues of these places that are still active, at the ``revision`` the
        caller read (a search spans the places of a town)."""
        found: dict[int, PlaceSnapshot] = {}
        for place_id in place_ids:
            kept = (
                self.cache.find_place(place_id, revision)
                if self.cache is not None and revision is not None
                else None
            )
            if kept is None:
                place = await self.catalogue.place_if_active(place_id)
                if place is None:
                    continue  # closed since the search found it
                kept = await self._load(place, revision)
            found[place_id] = kept
        return found

    async def _load(self, place: Place, revision: int | None) -> PlaceSnapshot:
        """A place as it is now: all its active resources, their units, rules and hours.

        Kept for the next requests when ``revision`` was read before loading it (and read
        once for all the requests that want it at the same time).
        """
        assert place.id is not None
        if self.cache is not None and revision is not None:
            return await self.cache.load_once(
                place.id, revision, lambda: self._read(place, revision)
            )
        return await self._read(place, revision)

    async def _read(self, place: Place, revision: int | None) -> PlaceSnapshot:
        assert place.id is not None
        everything = await self.catalogue.active_resources_of(place.id)
        by_id = {r.id: detached(r) for r in everything if r.id is not None}
        units = await self.catalogue.units_of(list(by_id))
        weekly, exceptions = await self.catalogue.schedule_of(place.id)
        snapshot = PlaceSnapshot(
            revision=-1 if revision is None else revision,
            place=detached(place),
            resources=by_id,
            units={rid: [detached(u) for u in found] for rid, found in units.items()},
            policies=[detached(p) for p in await self.repo.policies_of(place.id)],
            weekly=weekly,
            exceptions=exceptions,
            blackouts=await self.catalogue.blackout_spans(list(by_id)),
        )
        return snapshot
