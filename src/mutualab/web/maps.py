"""Maps of places: Leaflet from npm when installed, tiles from a configurable server.

A map is an enhancement: every place is also shown as its address with an OpenStreetMap
link, which is all a browser without JavaScript, without Leaflet, or without access to the
tile server gets.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from kernel.auth.rules import PUBLIC
from mutualab.photo_store import photo_origin

LEAFLET_PATH = "/static/leaflet"
# The repository's node_modules (`npm ci` from the Makefile); absent: no maps, links only.
LEAFLET_DIR = Path(__file__).resolve().parents[3] / "node_modules" / "leaflet" / "dist"
OSM_ZOOM = 17


def leaflet_installed() -> bool:
    """Whether Leaflet's files are there to serve."""
    return (LEAFLET_DIR / "leaflet.js").is_file()


def leaflet_files() -> Router:
    """Leaflet's script, style and marker images, served as our own files."""
    return create_static_files_router(
        path=LEAFLET_PATH,
        directories=[LEAFLET_DIR],
        name="leaflet",
        include_in_schema=False,
        opt=PUBLIC,
        cache_control=CacheControlHeader(max_age=24 * 3600, public=True),
    )


def osm_link(latitude: float, longitude: float) -> str:
    """The place on openstreetmap.org, with a marker."""
    query = urlencode({"mlat": f"{latitude:.5f}", "mlon": f"{longitude:.5f}"})
    return f"https://www.openstreetmap.org/?{query}#map={OSM_ZOOM}/{latitude:.5f}/{longitude:.5f}"


def map_points(places: Iterable[Any]) -> list[dict[str, Any]]:
    """Places with coordinates as the map script reads them (id, name, link, position)."""
    points = []
    for place in places:
        get = place.get if isinstance(place, dict) else lambda name, p=place: getattr(p, name)
        latitude, longitude = get("latitude"), get("longitude")
        if latitude is None or longitude is None:
            continue
        points.append(
            {
                "id": get("id"),
                "name": get("name"),
                "href": f"/places/{get('id')}",
                "lat": latitude,
                "lon": longitude,
                "osm": osm_link(latitude, longitude),
            }
        )
    return points


def tiles_origin(url: str) -> str:
    """The scheme and host of the tile server, as a CSP source."""
    parts = urlsplit(url.replace("{s}", "a"))
    host = parts.netloc
    if "{s}" in url:  # a.tile..., b.tile...: every subdomain
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def map_policy(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The CSP directives a page with a map needs: our scripts, and the tiles' images."""
    settings = request.app.state.settings
    photos = photo_origin(settings)
    return {
        "script-src": "'self'",
        "img-src": f"'self' data: {tiles_origin(settings.map_tiles_url)}"
        + (f" {photos}" if photos else ""),
    }


def map_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """What the map partial needs: whether Leaflet is served, the tiles and their credit."""
    settings = request.app.state.settings
    return {
        "map_enabled": leaflet_installed(),
        "map_tiles_url": settings.map_tiles_url,
        "map_attribution": settings.map_attribution,
    }
