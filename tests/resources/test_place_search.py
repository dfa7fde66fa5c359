"""Where a person looks, in SQL on PostgreSQL: towns typed loosely, postcodes, radii, words."""

from __future__ import annotations

import httpx
import pytest

from kernel.db import Database
from resources.place_search import Where
from resources.repository import CatalogueRepository
from resources.service import CatalogueService
from tests.factories import make_place, make_resource

Client = httpx.AsyncClient


@pytest.fixture
async def towns(client: Client, admin_headers: dict[str, str]) -> dict[str, int]:
    """Places in Lannion, Perros-Guirec (about 10 km north), Saint-Étienne and Metz."""
    lannion = await make_place(client, admin_headers)
    await make_resource(client, admin_headers, lannion["id"], name="Découpeuse laser")
    await make_resource(client, admin_headers, lannion["id"], name="Salle de réunion", kind="space")
    perros = await make_place(
        client,
        admin_headers,
        slug="perros",
        name="Médiathèque de Perros",
        town="Perros-Guirec",
        postcode="22700",
        latitude=48.8147,
        longitude=-3.4420,
    )
    await make_resource(client, admin_headers, perros["id"], name="Imprimante 3D")
    etienne = await make_place(
        client,
        admin_headers,
        slug="st-etienne",
        name="Fablab stéphanois",
        town="Saint-Étienne",
        postcode="42000",
        latitude=45.4397,
        longitude=4.3872,
    )
    await make_resource(client, admin_headers, etienne["id"], name="Fraiseuse")
    metz = await make_place(
        client,
        admin_headers,
        slug="metz",
        name="Tiers-lieu de Metz",
        town="Metz",
        postcode="57000",
        latitude=49.1193,
        longitude=6.1757,
    )
    await make_resource(client, admin_headers, metz["id"], name="Imprimante 3D")
    return {
        "Lannion": lannion["id"],
        "Perros-Guirec": perros["id"],
        "Saint-Étienne": etienne["id"],
        "Metz": metz["id"],
    }


async def _towns(database: Database, where: Where, kind: str | None = None) -> list[str]:
    async with database.reader() as session:
        found = await CatalogueService(CatalogueRepository(session)).search_places(
            where, kind, 50, 0
        )
    return [place.town for place in found.items]


async def _resources(database: Database, where: Where, text: str | None = None) -> list[str]:
    async with database.reader() as session:
        found = await CatalogueService(CatalogueRepository(session)).search_resources(
            where, None, text, 50
        )
    return [f"{resource.name} @ {resource.town}" for resource in found]


@pytest.mark.parametrize(
    ("typed", "town"),
    [
        ("Lannion", "Lannion"),
        ("lannion", "Lannion"),
        ("Lanion", "Lannion"),  # a letter left out
        ("Lanio", "Lannion"),  # ... and only the start
        ("Lann", "Lannion"),  # the start
        ("LANNION ", "Lannion"),
        ("perros guirec", "Perros-Guirec"),
        ("Perros", "Perros-Guirec"),
        ("saint etienne", "Saint-Étienne"),  # no accent, no hyphen
        ("St-Étienne", "Saint-Étienne"),
        ("Mets", "Metz"),
    ],
)
async def test_a_town_is_found_however_it_is_typed(
    database: Database, towns: dict[str, int], typed: str, town: str
) -> None:
    assert await _towns(database, Where(text=typed)) == [town]


async def test_unrelated_words_find_no_town(database: Database, towns: dict[str, int]) -> None:
    assert await _towns(database, Where(text="Brest")) == []
    assert await _towns(database, Where(text="%")) == []
    assert await _towns(database, Where(text="Lyon_")) == []


async def test_a_postcode_or_its_start_finds_the_places_there(
    database: Database, towns: dict[str, int]
) -> None:
    assert await _towns(database, Where(text="22300")) == ["Lannion"]
    assert await _towns(database, Where(text="22 300")) == ["Lannion"]
    assert sorted(await _towns(database, Where(text="22"))) == ["Lannion", "Perros-Guirec"]
    assert await _towns(database, Where(text="29200")) == []


async def test_a_radius_around_a_town_finds_its_neighbours_nearest_first(
    database: Database, towns: dict[str, int]
) -> None:
    assert await _towns(database, Where(text="Perros-Guirec")) == ["Perros-Guirec"]
    assert await _towns(database, Where(text="Perros-Guirec", radius_km=15)) == [
        "Perros-Guirec",
        "Lannion",
    ]
    # Lannion is about 9 km from Perros-Guirec: 5 km is too short.
    assert await _towns(database, Where(text="Perros-Guirec", radius_km=5)) == ["Perros-Guirec"]
    # A typo in the town still centres the radius on it.
    assert await _towns(database, Where(text="Peros Guirec", radius_km=15)) == [
        "Perros-Guirec",
        "Lannion",
    ]


async def test_near_me_counts_from_the_persons_position(
    database: Database, towns: dict[str, int]
) -> None:
    # Trégastel, about 6 km west of Perros-Guirec and 11 km from Lannion: no place there.
    trégastel = Where(latitude=48.8167, longitude=-3.5167, radius_km=15)
    assert await _towns(database, trégastel) == ["Perros-Guirec", "Lannion"]
    assert await _towns(database, Where(latitude=48.8167, longitude=-3.5167, radius_km=2)) == []
    # Far from Brittany.
    assert await _towns(database, Where(latitude=49.12, longitude=6.18, radius_km=10)) == ["Metz"]


async def test_a_word_finds_resources_accents_left_out(
    database: Database, towns: dict[str, int]
) -> None:
    assert await _resources(database, Where(text="Lanion"), "decoupeuse") == [
        "Découpeuse laser @ Lannion"
    ]
    assert await _resources(database, Where(text="Lannion"), "REUNION") == [
        "Salle de réunion @ Lannion"
    ]
    # The place's name counts too: every resource of the "Médiathèque" in Perros-Guirec.
    assert await _resources(database, Where(), "mediatheque") == ["Imprimante 3D @ Perros-Guirec"]
    assert await _resources(database, Where(text="Perros", radius_km=15), "imprimante") == [
        "Imprimante 3D @ Perros-Guirec"
    ]
