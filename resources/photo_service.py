"""Photos of places and resources: managers upload them, pages show them.

A replaced or removed photo's files are deleted by a job queued in the same transaction
(:data:`DELETE_JOB`): only once the change is committed, and again until the store obeys.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import anyio

from kernel.auth.actor import Actor
from kernel.errors import InvalidInputError, NotFoundError
from kernel.jobs import JobRegistry, enqueue
from resources.models import Photo
from resources.photos import LARGE, THUMB, PhotoStore, prepare
from resources.repository import CatalogueRepository
from resources.service import CatalogueService

MAX_ALT = 300
DELETE_JOB = "photos.delete"


@dataclass(frozen=True, slots=True)
class PhotoView:
    """A photo as a page shows it."""

    url: str
    thumb_url: str
    alt: str
    width: int
    height: int


class PhotoService:
    """Upload and read the photos of places and their resources."""

    def __init__(
        self, repository: CatalogueRepository, catalogue: CatalogueService, store: PhotoStore
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.store = store

    def view(self, photo: Photo) -> PhotoView:
        """The addresses and text of a stored photo."""
        return PhotoView(
            url=self.store.url(photo.key, LARGE),
            thumb_url=self.store.url(photo.key, THUMB),
            alt=photo.alt,
            width=photo.width,
            height=photo.height,
        )

    async def upload(
        self,
        actor: Actor,
        place_id: int,
        resource_id: int | None,
        data: bytes,
        alt: str,
        max_bytes: int,
    ) -> PhotoView:
        """Replace the photo of a place (no resource) or of one of its resources."""
        await self._check(actor, place_id, resource_id)
        alt = " ".join(alt.split())
        if not alt or len(alt) > MAX_ALT:
            raise InvalidInputError(
                f"Describe the photo in 1 to {MAX_ALT} characters.",
                field="alt",
                code="photo_alt_required",
            )
        # Decoding, resizing and writing take a while: off the event loop.
        prepared = await anyio.to_thread.run_sync(prepare, data, max_bytes)
        # A new key for every upload: addresses never serve a stale copy from a cache.
        key = uuid.uuid4().hex
        await anyio.to_thread.run_sync(self.store.save, key, prepared)
        photo = Photo(
            place_id=place_id,
            resource_id=resource_id,
            key=key,
            alt=alt,
            width=prepared.width,
            height=prepared.height,
        )
        await self._forget(await self.repo.replace_photo(photo))
        return self.view(photo)

    async def remove(self, actor: Actor, place_id: int, resource_id: int | None) -> bool:
        """Remove the photo of a place or of one of its resources (False: it had none)."""
        await self._check(actor, place_id, resource_id)
        removed = await self.repo.remove_photo(place_id, resource_id)
        await self._forget(removed)
        return removed is not None

    async def _check(self, actor: Actor, place_id: int, resource_id: int | None) -> None:
        await self.catalogue.managed_place(actor, place_id)
        if resource_id is not None:
            resource = await self.catalogue.require_resource(resource_id)
            if resource.place_id != place_id:
                raise NotFoundError(
                    f"No resource with id {resource_id}.", code="resource_not_found"
                )

    async def _forget(self, key: str | None) -> None:
        """Queue the deletion of a former photo's files, run after this transaction commits."""
        if key is not None:
            await enqueue(self.repo.session, DELETE_JOB, {"key": key}, dedupe_key=f"photo:{key}")

    async def of_place(self, place_id: int) -> tuple[PhotoView | None, dict[int, PhotoView]]:
        """The photo of a place and those of its resources, by resource."""
        place: PhotoView | None = None
        resources: dict[int, PhotoView] = {}
        for photo in await self.repo.photos_of(place_id):
            if photo.resource_id is None:
                place = self.view(photo)
            else:
                resources[photo.resource_id] = self.view(photo)
        return place, resources

    async def of_resources(self, resource_ids: list[int]) -> dict[int, PhotoView]:
        """The photos of these resources, by resource."""
        found = await self.repo.photos_of_resources(resource_ids)
        return {rid: self.view(photo) for rid, photo in found.items()}


def register(registry: JobRegistry, store: PhotoStore) -> None:
    """The job deleting the files of replaced and removed photos (in a worker thread)."""

    async def delete_files(payload: dict[str, object]) -> None:
        await anyio.to_thread.run_sync(store.delete, str(payload["key"]))

    registry.job(DELETE_JOB, delete_files)
