"""Any French town as the centre of a search: the commune table from the npm packages, and
the search around a town with no place (Perros-Guirec, about 9 km north of Lannion)."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from kernel.db import Database
from mutualab.geo import SOURCES, load_communes
from resources.commune_data import build
from resources.models import Commune
from resources.place_search import DEFAULT_RADIUS_KM, Where, kilometres
from resources.repository import CatalogueRepository
from resources.service import CatalogueService
from tests.factories import make_place, make_resource
from tests.support import communes

Client = httpx.AsyncClient


@pytest.fixture
async def lannion(client: Client, admin_headers: dict[str, str]) -> int:
    """One place, in Lannion (its centre, as the demo's), with a laser cutter."""
    place = await make_place(client, admin_headers, latitude=48.7326, longitude=-3.4566)
    await make_resource(client, admin_headers, place["id"], name="Découpeuse laser")
    return int(place["id"])


async def _towns(database: Database, where: Where) -> list[str]:
    async with database.reader() as session:
        found = await CatalogueService(CatalogueRepository(session)).search_places(
            where, None, 50, 0
        )
    return [place.town for place in found.items]


async def test_the_packages_give_every_commune_with_its_postcodes_and_centre(
    database: Database,
) -> None:
    communes.required()
    async with database.reader() as session:
        perros = await session.get(Commune, "22168")
        lannion = await session.get(Commune, "22113")
        paris_1 = await session.get(Commune, "75101")
        with_centre = (
            await session.exec(select(Commune.code).where(Commune.latitude.is_not(None)))  # type: ignore[union-attr]
        ).all()
        total = (await session.exec(select(Commune.code))).all()
    assert perros is not None and lannion is not None and paris_1 is not None
    assert (perros.name, perros.postcodes, perros.department) == ("Perros-Guirec", ["22700"], "22")
    assert perros.search_name == "perros guirec" and not perros.centre_approximate
    assert perros.latitude is not None and perros.longitude is not None
    assert lannion.latitude is not None and lannion.longitude is not None
    assert (
        8
        < kilometres((perros.latitude, perros.longitude), (lannion.latitude, lannion.longitude))
        < 10
    )
    assert paris_1.postcodes == ["75001"]
    # Nearly all have a centre, their own or their neighbours'.
    assert len(total) > 34_000 and len(with_centre) / len(total) > 0.95


async def catalogue_counter(database: Database) -> int | None:
    async with database.reader() as session:
        return await CatalogueService(CatalogueRepository(session)).revision()


async def test_loading_again_costs_nothing_until_forced(database: Database) -> None:
    communes.required()
    before = await catalogue_counter(database)
    again = await load_communes(database)
    assert again.count == 0 and "up to date" in again.message
    assert await catalogue_counter(database) == before
    forced = await load_communes(database, force=True)
    assert forced.count > 34_000
    # What searches around a town find may change: the workers' kept findings are dropped.
    assert await catalogue_counter(database) > before
    async with database.reader() as session:
        perros = await session.get(Commune, "22168")
    assert perros is not None and perros.search_name == "perros guirec"


def test_a_commune_the_gazetteer_lacks_takes_its_neighbours_middle() -> None:
    communes = [
        {"code": "22001", "nom": "Bourg", "type": "commune-actuelle", "departement": "22",
         "codesPostaux": ["22100"], "population": 5000},
        {"code": "22002", "nom": "Hameau", "type": "commune-actuelle", "departement": "22",
         "codesPostaux": ["22100"], "population": 200},
        {"code": "22003", "nom": "Écart", "type": "commune-actuelle", "departement": "22",
         "codesPostaux": ["22999"], "population": 50},
        {"code": "22004", "nom": "Nulle-Part", "type": "commune-actuelle", "departement": "22",
         "codesPostaux": ["22998"]},
        {"code": "22005", "nom": "Ancienne", "type": "commune-deleguee", "departement": "22"},
        {"code": "97411", "nom": "Saint-Denis", "type": "commune-actuelle", "departement": "974",
         "codesPostaux": ["97400"], "population": 150000},
    ]  # fmt: skip
    groups = [{"code": "200", "membres": [{"code": "22001"}, {"code": "22003"}]}]
    cities = [
        {"name": "Bourg", "lat": "48.5", "lng": "-3.0", "country": "FR", "admin2": "22"},
        {"name": "Bourg", "lat": "45.0", "lng": "5.0", "country": "FR", "admin2": "01"},
        {"name": "Saint-Denis", "lat": "-20.88", "lng": "55.45", "country": "RE", "admin2": ""},
    ]
    rows = {row.code: row for row in build(communes, groups, cities)}
    assert set(rows) == {"22001", "22002", "22003", "22004", "97411"}
    assert (rows["22001"].latitude, rows["22001"].centre_approximate) == (48.5, False)
    # Same postcode as Bourg; same intercommunality as Bourg; neither.
    assert (rows["22002"].latitude, rows["22002"].centre_approximate) == (48.5, True)
    assert (rows["22003"].longitude, rows["22003"].centre_approximate) == (-3.0, True)
    assert (rows["22004"].latitude, rows["22004"].centre_approximate) == (None, False)
    assert rows["97411"].latitude == -20.88
    assert rows["22004"].population == 0


@pytest.mark.parametrize("typed", ["Perros-Guirec", "perros guirec", "Perros-Guirrec", "22700"])
async def test_a_town_without_a_place_centres_a_radius(
    database: Database, lannion: int, typed: str
) -> None:
    communes.required()
    assert await _towns(database, Where(text=typed, radius_km=10)) == ["Lannion"]
    # Lannion is about 9 km away: 5 km is too short.
    assert await _towns(database, Where(text=typed, radius_km=5)) == []


async def test_with_no_radius_a_town_without_a_place_shows_the_nearest_places(
    database: Database, lannion: int
) -> None:
    communes.required()
    async with database.reader() as session:
        catalogue = CatalogueService(CatalogueRepository(session))
        located = await catalogue.locate(Where(text="Perros-Guirrec"))
        in_lannion = await catalogue.locate(Where(text="Lannion"))
        brest = await catalogue.locate(Where(text="Brest"))
    assert (located.town, located.postcode, located.widened) == ("Perros-Guirec", "22700", True)
    assert located.radius_km == DEFAULT_RADIUS_KM
    # A town with a place is searched as before: its places, no distance.
    assert in_lannion.centre is None and not in_lannion.widened
    assert await _towns(database, Where(text="Perros-Guirec")) == ["Lannion"]
    # Brest is 80 km away: nothing within the default radius, and a centre all the same.
    assert brest.town == "Brest" and await _towns(database, Where(text="Brest")) == []
    # Words that are no town, and the start of a postcode, find nothing new.
    assert await _towns(database, Where(text="Zzyzx")) == []
    assert await _towns(database, Where(text="227")) == []


def test_the_sources_name_their_versions() -> None:
    communes.required()
    assert SOURCES.installed()
    assert SOURCES.version().startswith("@etalab/decoupage-administratif@6.")
