"""Photos for the pages: the service of a request, and their files served as static files."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader, State
from litestar.di import NamedDependency, Provide
from litestar.static_files import create_static_files_router
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.rules import PUBLIC
from mutualab.photo_store import photo_store
from resources.photo_service import PhotoService
from resources.repository import CatalogueRepository
from resources.service import CatalogueService


def provide_photos(db_session: NamedDependency[AsyncSession], state: State) -> PhotoService:
    """The photo service of this request, its files in the configured store."""
    repository = CatalogueRepository(db_session)
    return PhotoService(repository, CatalogueService(repository), photo_store(state.settings))


PHOTOS = {"photos": Provide(provide_photos, sync_to_thread=False)}


def photo_files(directory: Path) -> Router:
    """The resized photos of places and resources (resources.photos); new keys, new names."""
    directory.mkdir(parents=True, exist_ok=True)
    return create_static_files_router(
        path="/static/photos",
        directories=[directory],
        name="photos",
        include_in_schema=False,
        opt=PUBLIC,
        cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True),
    )
