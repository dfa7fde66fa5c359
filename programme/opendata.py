"""The places' public programmes as an open data set of their own ("séances"), CSV and JSON.

Why not in the national export: the place list follows "Lieux de médiation numérique"
(LaMednum/standard-mediation-num 1.0.1, :mod:`resources.opendata`), a schema of *places*: one
row per place, no field for a dated event, its seats or its registrations. We found no
national schema for events of public places on schema.data.gouv.fr (DATAtourisme's ontology
describes tourist "fêtes et manifestations" in RDF, for tourist offices' feeds; it is not a
table schema local authorities publish on their own). So the sessions are a second data set,
documented here and in the README, whose rows name their place by the id it has in the
national export (``lieu_id``), so the two files join.

Columns (every session of an active place from now on, cancelled ones kept with their
status, so a reuser removes them; soonest first):

- ``id``: ``mutualab-<instance>-seance-<id>``, stable across exports;
- ``titre``, ``description``, ``type`` (``atelier``, ``formation``, ``evenement``);
- ``debut``, ``fin``: ISO 8601 with the place's UTC offset; ``fuseau_horaire`` (IANA);
- ``lieu_id``, ``lieu_nom``, ``adresse``, ``code_postal``, ``commune``, ``latitude``,
  ``longitude``: the place, as in the national export;
- ``places``, ``places_restantes``; ``statut`` (``programmee``, ``annulee``);
- ``url``: the session's page, where people register; ``date_maj``: the export's day (UTC).

No price column yet: tickets are not priced (issue 22, "prices" comes later). The CSV makes
text that would read as a formula inert (a leading apostrophe); the JSON keeps values as they
are (numbers as numbers). No I/O here: the controller reads the sessions and serves these.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypedDict
from zoneinfo import ZoneInfo

from kernel.spreadsheets import inert
from programme.schemas import SessionRead
from resources.opendata import place_schema_id

FIELDS: tuple[str, ...] = (
    "id",
    "titre",
    "description",
    "type",
    "debut",
    "fin",
    "fuseau_horaire",
    "lieu_id",
    "lieu_nom",
    "adresse",
    "code_postal",
    "commune",
    "latitude",
    "longitude",
    "places",
    "places_restantes",
    "statut",
    "url",
    "date_maj",
)
KINDS = {"workshop": "atelier", "training": "formation", "event": "evenement"}
STATUSES = {"scheduled": "programmee", "cancelled": "annulee"}
TEXT_FIELDS = frozenset({"titre", "description", "lieu_nom", "adresse", "commune"})


class SessionRow(TypedDict):
    """One session of the data set (the CSV's columns, typed as the JSON gives them)."""

    id: str
    titre: str
    description: str
    type: str
    debut: str
    fin: str
    fuseau_horaire: str
    lieu_id: str
    lieu_nom: str
    adresse: str
    code_postal: str
    commune: str
    latitude: float | None
    longitude: float | None
    places: int
    places_restantes: int
    statut: str
    url: str
    date_maj: str


@dataclass(frozen=True)
class PlaceFacts:
    """What the data set says of a session's place."""

    id: int
    name: str
    address: str
    postcode: str
    town: str
    latitude: float | None
    longitude: float | None


def rows(
    sessions: Iterable[SessionRead],
    places: dict[int, PlaceFacts],
    base_url: str,
    today: date,
) -> list[SessionRow]:
    """One row per session, every column in :data:`FIELDS` order."""
    base = base_url.strip().rstrip("/")
    instance = place_schema_id(0, base_url).removesuffix("-0")
    made: list[SessionRow] = []
    for s in sessions:
        place = places[s.place_id]
        zone = ZoneInfo(s.timezone)
        made.append(
            {
                "id": f"{instance}-seance-{s.id}",
                "titre": s.title,
                "description": s.description,
                "type": KINDS[s.kind],
                "debut": s.starts_at.astimezone(zone).isoformat(),
                "fin": s.ends_at.astimezone(zone).isoformat(),
                "fuseau_horaire": s.timezone,
                "lieu_id": place_schema_id(place.id, base_url),
                "lieu_nom": place.name,
                "adresse": place.address,
                "code_postal": place.postcode,
                "commune": place.town,
                "latitude": place.latitude,
                "longitude": place.longitude,
                "places": s.seats,
                "places_restantes": s.seats_left,
                "statut": STATUSES[s.status],
                "url": f"{base}/sessions/{s.id}" if base else f"/sessions/{s.id}",
                "date_maj": today.isoformat(),
            }
        )
    return made


def to_csv(table: Iterable[SessionRow]) -> str:
    """The CSV file (header in :data:`FIELDS` order, RFC 4180 quoting, CRLF), formula-safe."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in table:
        writer.writerow(
            {
                name: inert(str(value)) if name in TEXT_FIELDS and value is not None else value
                for name, value in row.items()
            }
        )
    return buffer.getvalue()
