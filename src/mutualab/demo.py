"""Demo data: two places in two towns, each with the five kinds of equipment the brief names.

Names, addresses and SIRET numbers are fictitious (the SIRETs only pass the checksum).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor
from resources.repository import CatalogueRepository
from resources.schemas import (
    BlackoutCreate,
    OpeningHoursUpdate,
    OpeningSpan,
    PlaceCreate,
    PlaceExceptionWrite,
    ResourceCreate,
)
from resources.service import CatalogueService

PLACES: list[dict[str, Any]] = [
    {
        "slug": "fablab-tregor-lannion",
        "name": "Fablab du Trégor",
        "address": "3 rue de la Mairie",
        "postcode": "22300",
        "town": "Lannion",
        "latitude": 48.7326,
        "longitude": -3.4566,
        "timezone": "Europe/Paris",
        "phone": "02 96 00 00 00",
        "email": "fablab@lannion.example",
        "website": "https://fablab.lannion.example/",
        "description": (
            "Atelier de fabrication numérique ouvert aux habitants, écoles et entreprises."
        ),
        "operator_name": "Commune de Lannion (démo)",
        "operator_siret": "21220113100001",
        "on_site_payment": "À l'accueil du fablab, avant la séance : carte, espèces ou chèque.",
    },
    {
        "slug": "tiers-lieu-la-fabrique-metz",
        "name": "Tiers-lieu La Fabrique",
        "address": "12 place du Marché",
        "postcode": "57000",
        "town": "Metz",
        "latitude": 49.1193,
        "longitude": 6.1757,
        "timezone": "Europe/Paris",
        "email": "contact@lafabrique.example",
        "description": "Tiers-lieu numérique : atelier, salles équipées, postes de conception.",
        "operator_name": "Association La Fabrique (démo)",
        "operator_siret": "21570463600004",
        "on_site_payment": "Au comptoir de La Fabrique, le jour même : carte ou espèces.",
        # Moselle keeps Alsace-Moselle's extra public holidays (Good Friday, 26 December).
        "holiday_subdivision": "57",
    },
]

RESOURCES: list[dict[str, Any]] = [
    {
        "name": "Imprimante 3D Prusa MK4",
        "kind": "machine",
        "slot_minutes": 30,
        "min_minutes": 60,
        "max_minutes": 480,
        "description": "Impression FDM, plateau 25 x 21 cm.",
    },
    {
        "name": "Découpeuse laser 60 W",
        "kind": "machine",
        "slot_minutes": 30,
        "min_minutes": 30,
        "max_minutes": 240,
        "buffer_minutes": 15,
        "description": "Découpe et gravure bois, acrylique, carton. Formation sécurité requise.",
    },
    {
        "name": "Postes de conception (logiciels 3D et PAO)",
        "kind": "software_seats",
        "capacity": 12,
        "slot_minutes": 60,
        "min_minutes": 60,
        "max_minutes": 480,
        "description": "12 postes avec suite de conception 3D et de mise en page.",
    },
    {
        "name": "Salle connectée fibre",
        "kind": "network_access",
        "slot_minutes": 60,
        "min_minutes": 60,
        "max_minutes": 600,
        "description": "Salle de 20 places, fibre 1 Gb/s, visioconférence.",
    },
    {
        "name": "Salle de réunion",
        "kind": "space",
        "slot_minutes": 30,
        "min_minutes": 30,
        "max_minutes": 480,
        "description": "10 places, écran, tableau blanc.",
    },
]

# The seeding runs as the platform itself.
SYSTEM = Actor(is_admin=True, via="system")

WEEKDAY_HOURS = [(time(9), time(12, 30)), (time(13, 30), time(18))]
SATURDAY_HOURS = [(time(10), time(17))]


def _weekly() -> OpeningHoursUpdate:
    # Tuesday to Friday, then Saturday; closed on Sunday and Monday.
    spans = [
        OpeningSpan(weekday=day, opens=opens, closes=closes)
        for day in range(1, 5)
        for opens, closes in WEEKDAY_HOURS
    ]
    spans += [OpeningSpan(weekday=5, opens=o, closes=c) for o, c in SATURDAY_HOURS]
    return OpeningHoursUpdate(spans=spans)


async def seed_demo(session: AsyncSession, today: date | None = None) -> list[str]:
    """Create the demo places if they are missing; return the slugs created."""
    today = today or datetime.now(UTC).date()
    repository = CatalogueRepository(session)
    catalogue = CatalogueService(repository)
    created: list[str] = []
    for place_data in PLACES:
        if await repository.slug_taken(place_data["slug"]):
            continue
        place = await catalogue.create_place(PlaceCreate.model_validate(place_data))
        await catalogue.set_opening_hours(SYSTEM, place.id, _weekly())
        closure = today + timedelta(days=(2 - today.weekday()) % 7 + 7)  # a Wednesday, next week
        await catalogue.set_exception(
            SYSTEM, place.id, closure, PlaceExceptionWrite(closed=True, reason="Inventaire annuel")
        )
        resource_ids = []
        for resource_data in RESOURCES:
            resource = await catalogue.create_resource(
                SYSTEM, place.id, ResourceCreate.model_validate(resource_data)
            )
            resource_ids.append(resource.id)
        start = datetime.combine(
            closure + timedelta(days=1), time(9), tzinfo=ZoneInfo(place.timezone)
        )
        await catalogue.add_blackout(
            SYSTEM,
            resource_ids[1],
            BlackoutCreate(starts_at=start, ends_at=start + timedelta(hours=3), reason="Entretien"),
        )
        created.append(place_data["slug"])
    return created


async def demo_place_ids(session: AsyncSession) -> list[int]:
    """Ids of the demo places, in the order of ``PLACES``."""
    repository = CatalogueRepository(session)
    ids = []
    for place_data in PLACES:
        place = await repository.place_by_slug(place_data["slug"])
        if place is not None and place.id is not None:
            ids.append(place.id)
    return ids
