"""The files of photos, served as our own static files (resources.photos writes them)."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from kernel.auth.rules import PUBLIC


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
