"""Export of our places to France's national open-data schema of digital-inclusion places.

Schema followed: "Lieux de médiation numérique", LaMednum/standard-mediation-num, version 1.0.1,
as published on schema.data.gouv.fr (LaMednum/standard-mediation-num/1.0.1/documentation.md,
rendered from that version's frictionless table schema ``schema.json``). Field order, required
flags, value vocabularies and patterns below are copied from it; the patterns are kept verbatim
in :data:`SCHEMA_PATTERNS` so the tests check our output against the schema's own rules.

Points where the published material disagrees with itself, and what we do:

- Multi-valued cells: the 1.0.x README still says ";" but every field description and every
  pattern of 1.0.0/1.0.1 uses "|". Validators run the patterns, so we write "|".
- ``services``: required in 1.0.0, shown optional in the 1.0.1 rendering. We always fill it;
  a place that offers nothing in the vocabulary is left out of the export (see
  :func:`services_for`) rather than published with an invented service.
- ``pivot`` is required; when the SIRET is unknown we publish fourteen zeros, the placeholder
  the national data set uses for that case (it matches the schema's pattern).

The schema only defines a CSV form; :func:`to_json` therefore keeps the CSV's cell values
(multi-valued fields stay "|"-joined strings) and only drops unknown optional fields. Only the
CSV makes text that would read as a spreadsheet formula inert (a leading apostrophe).

No I/O here: the shell reads places from the database and serves what these functions return.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from kernel.legal_ids import InvalidIdentifierError, normalize_siret
from kernel.spreadsheets import inert

__all__ = [
    "EQUIPMENT_KINDS",
    "EQUIPMENT_SERVICES",
    "MULTI_VALUE_SEPARATOR",
    "PLACE_PAGE_PATH",
    "REQUIRED_FIELDS",
    "SCHEMA_FIELDS",
    "SCHEMA_PATTERNS",
    "SCHEMA_VERSION",
    "SERVICES_VOCABULARY",
    "UNKNOWN_PIVOT",
    "PlaceRecord",
    "Row",
    "place_schema_id",
    "schema_id",
    "services_for",
    "to_csv",
    "to_json",
    "to_schema_rows",
]

SCHEMA_NAME = "LaMednum/standard-mediation-num"
SCHEMA_VERSION = "1.0.1"

SCHEMA_FIELDS: tuple[str, ...] = (
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "latitude",
    "longitude",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "itinerance",
    "structure_parente",
    "date_maj",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "autres_formations_labels",
    "modalites_acces",
    "modalites_accompagnement",
    "fiche_acces_libre",
    "prise_rdv",
)
REQUIRED_FIELDS: tuple[str, ...] = (
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "adresse",
    "date_maj",
    "services",
)
MULTI_VALUE_SEPARATOR = "|"
UNKNOWN_PIVOT = "00000000000000"
PRESENTATION_RESUME_MAX_LENGTH = 280

# The 1.0.1 "services" vocabulary, in the schema's order. The field description spells
# "Comprehension" without its accent; the pattern, which is what validators check, has it.
SERVICES_VOCABULARY: tuple[str, ...] = (
    "Aide aux démarches administratives",
    "Maîtrise des outils numériques du quotidien",
    "Insertion professionnelle via le numérique",
    "Utilisation sécurisée du numérique",
    "Parentalité et éducation avec le numérique",
    "Loisirs et créations numériques",
    "Compréhension du monde numérique",
    "Accès internet et matériel informatique",
    "Acquisition de matériel informatique à prix solidaire",
)
ACCESS_BOOK_ONLINE = "Prendre un RDV en ligne"  # from the modalites_acces vocabulary

# Patterns copied verbatim from schema 1.0.1 for every constrained field we fill.
SCHEMA_PATTERNS: Mapping[str, str] = {
    "pivot": r"^[a-zA-Z0-9]{9,14}$",
    "code_postal": r"^\d{5}$",
    "telephone": r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)(\d){6,9}$",
    "services": (
        r"(?:(?:^|\|)(Aide aux démarches administratives|Maîtrise des outils numériques du"
        r" quotidien|Insertion professionnelle via le numérique|Utilisation sécurisée du"
        r" numérique|Parentalité et éducation avec le numérique|Loisirs et créations"
        r" numériques|Compréhension du monde numérique|Accès internet et matériel"
        r" informatique|Acquisition de matériel informatique à prix solidaire))+$"
    ),
    "modalites_acces": (
        r"(?:(?:^|\|)(Se présenter|Téléphoner|Contacter par mail|Prendre un RDV en ligne|Ce"
        r" lieu n'accueille pas de public|Envoyer un mail avec une fiche de prescription))+$"
    ),
}

EQUIPMENT_KINDS: frozenset[str] = frozenset(
    {"machine", "space", "software_seats", "network_access", "other"}
)
# What each kind of bookable resource lets the public do, in the schema's words.
# Fab machines (3D printers, laser cutters, ...) are both equipment put at people's disposal
# and a means of digital making; computer seats and network access are plain access to
# equipment. Rooms and uncategorised resources are not a digital-inclusion service by
# themselves, so they add nothing.
EQUIPMENT_SERVICES: Mapping[str, tuple[str, ...]] = {
    "machine": ("Accès internet et matériel informatique", "Loisirs et créations numériques"),
    "software_seats": ("Accès internet et matériel informatique",),
    "network_access": ("Accès internet et matériel informatique",),
    "space": (),
    "other": (),
}

# Where the shell serves a place's public page; used for the prise_rdv link back.
PLACE_PAGE_PATH = "/places/{id}"

# Overseas numbers keep their own country code: the schema lists them beside +33.
_OVERSEAS_PREFIXES: Mapping[str, str] = {
    "0590": "+590",
    "0690": "+590",
    "0691": "+590",
    "0594": "+594",
    "0694": "+594",
    "0262": "+262",
    "0263": "+262",
    "0692": "+262",
    "0693": "+262",
    "0269": "+262",
    "0639": "+262",
    "0596": "+596",
    "0696": "+596",
    "0697": "+596",
}
# Saint-Pierre-et-Miquelon has a six-digit plan we do not convert; guessing would publish a
# wrong number.
_UNCONVERTED_PREFIXES = ("0508",)

Row = dict[str, str | float | None]


@dataclass(frozen=True)
class PlaceRecord:
    """What the catalogue knows about a place, as the shell reads it from the database."""

    id: int
    name: str
    address: str
    postcode: str
    town: str
    latitude: float | None
    longitude: float | None
    siret: str | None
    phone: str | None
    email: str | None
    website: str | None
    description: str
    opening_hours_osm: str
    updated_on: date
    equipment_kinds: frozenset[str]
    base_url: str = ""


def services_for(equipment_kinds: Iterable[str]) -> tuple[str, ...]:
    """Return the schema services offered by these kinds of equipment, in vocabulary order."""
    kinds = set(equipment_kinds)
    unknown = kinds - EQUIPMENT_KINDS
    if unknown:
        raise ValueError(f"unknown equipment kinds: {', '.join(sorted(unknown))}")
    offered = {service for kind in kinds for service in EQUIPMENT_SERVICES[kind]}
    return tuple(service for service in SERVICES_VOCABULARY if service in offered)


def schema_id(place: PlaceRecord) -> str:
    """Return the place's id in the national data set: ``mutualab-<instance>-<id>``."""
    return place_schema_id(place.id, place.base_url)


def place_schema_id(place_id: int, base_url: str) -> str:
    """A place's id in the national data set, from its database id and our public URL (other
    data sets, such as the programme's, name the place by it)."""
    # The instance slug (host and path of our public URL) keeps two Mutualab instances from
    # publishing the same id once aggregators merge their files; the database id keeps it
    # stable across exports. Without a base URL it is only unique within this instance.
    instance = _instance_slug(base_url)
    return f"mutualab-{instance}-{place_id}" if instance else f"mutualab-{place_id}"


def to_schema_rows(places: Iterable[PlaceRecord], source: str = "Mutualab") -> list[Row]:
    """Map places to schema rows: every field in schema order, None where we know nothing."""
    # A missing required value (name, street, town, five-digit postcode) raises ValueError
    # naming the place: publishing the row would make the whole file invalid.
    rows: list[Row] = []
    seen: set[str] = set()
    for place in places:
        services = services_for(place.equipment_kinds)
        if not services:
            # Rooms-only places are not digital-inclusion places; inventing a service would
            # mislead the people the national map directs to us.
            continue
        row = _row(place, services, source)
        identifier = str(row["id"])
        if identifier in seen:
            raise ValueError(f"place {place.id} appears twice (id {identifier})")
        seen.add(identifier)
        rows.append(row)
    return rows


def to_csv(places: Iterable[PlaceRecord], source: str = "Mutualab") -> str:
    """Return the CSV file (header in schema order, RFC 4180 quoting, CRLF); encode it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SCHEMA_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in to_schema_rows(places, source):
        writer.writerow({field: _cell(row[field]) for field in SCHEMA_FIELDS})
    return buffer.getvalue()


def to_json(places: Iterable[PlaceRecord], source: str = "Mutualab") -> list[Row]:
    """Return JSON-ready rows with the CSV's values, unknown optional fields left out."""
    return [
        {field: value for field, value in row.items() if value is not None}
        for row in to_schema_rows(places, source)
    ]


def _row(place: PlaceRecord, services: tuple[str, ...], source: str) -> Row:
    """Build one complete row for a place that offers at least one service."""
    latitude, longitude = _coordinates(place.latitude, place.longitude)
    resume, detail = _presentation(place.description)
    booking_url = _place_url(place)
    values: Row = {
        "id": schema_id(place),
        "pivot": _pivot(place.siret),
        "nom": _required(place, "nom", place.name),
        "commune": _required(place, "commune", place.town),
        "code_postal": _postcode(place),
        "adresse": _required(place, "adresse", place.address),
        "latitude": latitude,
        "longitude": longitude,
        "telephone": _phone(place.phone),
        "courriels": _single_value(place.email),
        "site_web": _url(place.website),
        "horaires": place.opening_hours_osm.strip() or None,
        "presentation_resume": resume,
        "presentation_detail": detail,
        "source": source.strip() or None,
        "date_maj": place.updated_on.isoformat()[:10],
        "services": MULTI_VALUE_SEPARATOR.join(services),
        "modalites_acces": ACCESS_BOOK_ONLINE if booking_url else None,
        "prise_rdv": booking_url,
    }
    return {field: values.get(field) for field in SCHEMA_FIELDS}


def _required(place: PlaceRecord, field: str, value: str) -> str:
    """Return a required text value, or raise ValueError naming the place and the field."""
    text = value.strip()
    if not text:
        raise ValueError(f"place {place.id}: {field} is required by the schema but is empty")
    return text


def _postcode(place: PlaceRecord) -> str:
    """Return the five-digit postcode the schema requires."""
    postcode = place.postcode.strip()
    if not re.fullmatch(SCHEMA_PATTERNS["code_postal"], postcode):
        raise ValueError(f"place {place.id}: code_postal must have five digits, got {postcode!r}")
    return postcode


def _pivot(siret: str | None) -> str:
    """Return the SIRET, or the schema's 'unknown' placeholder when we have no valid one."""
    if not siret:
        return UNKNOWN_PIVOT
    try:
        return normalize_siret(siret)
    except InvalidIdentifierError:
        # Publishing a wrong SIRET would tie the place to somebody else's establishment.
        return UNKNOWN_PIVOT


def _coordinates(
    latitude: float | None, longitude: float | None
) -> tuple[float | None, float | None]:
    """Return WGS84 coordinates rounded to ~10 cm, or neither when one is missing or absurd."""
    if latitude is None or longitude is None:
        return None, None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    return round(latitude, 6), round(longitude, 6)


def _phone(phone: str | None) -> str | None:
    """Return the number in the schema's international form (+33..., no spaces), or None."""
    if not phone:
        return None
    number = re.sub(r"[\s.\-()/]", "", phone)
    if number.startswith("00"):
        number = "+" + number[2:]
    elif re.fullmatch(r"0\d{9}", number):
        if number.startswith(_UNCONVERTED_PREFIXES):
            return None
        country = _OVERSEAS_PREFIXES.get(number[:4], "+33")
        number = country + number[1:]
    return number if re.fullmatch(SCHEMA_PATTERNS["telephone"], number) else None


def _single_value(value: str | None) -> str | None:
    """Return one value of a multi-valued field, or None if it would read as several."""
    if value is None:
        return None
    text = value.strip()
    if not text or MULTI_VALUE_SEPARATOR in text:
        return None
    return text


def _url(value: str | None) -> str | None:
    """Return a URL safe for a multi-valued cell: a literal '|' would split it in two."""
    if value is None or not value.strip():
        return None
    return value.strip().replace(MULTI_VALUE_SEPARATOR, "%7C")


def _presentation(description: str) -> tuple[str | None, str | None]:
    """Split the description into the short summary (280 characters) and the full text."""
    text = description.strip()
    if not text:
        return None, None
    if len(text) <= PRESENTATION_RESUME_MAX_LENGTH:
        return text, None
    cut = text[: PRESENTATION_RESUME_MAX_LENGTH - 1]
    # Cut at a word boundary when there is one in the second half, so the summary reads well.
    boundary = cut.rfind(" ")
    if boundary > PRESENTATION_RESUME_MAX_LENGTH // 2:
        cut = cut[:boundary]
    return cut.rstrip() + "…", text


def _instance_slug(base_url: str) -> str:
    """Return host[-port][-path] of the public URL, lower-cased, as an identifier fragment."""
    if not base_url.strip():
        return ""
    parts = urlsplit(base_url.strip())
    if not parts.netloc:
        # A bare host such as "reserver.lannion.fr" parses as a path.
        parts = urlsplit("//" + base_url.strip())
    host = parts.netloc.rpartition("@")[2]  # credentials never belong in a public id
    raw = f"{host}{parts.path}".lower()
    return re.sub(r"[^a-z0-9.]+", "-", raw).strip("-.")


def _place_url(place: PlaceRecord) -> str | None:
    """Return the place's page on our service, where it can be booked online."""
    base = place.base_url.strip().rstrip("/")
    if not base:
        return None
    return base + PLACE_PAGE_PATH.format(id=place.id)


def _cell(value: str | float | None) -> str:
    """Write one CSV cell: empty for unknown, plain decimals (never exponents) for numbers, text
    that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, float):
        # repr() may give "1e-05" near the Greenwich meridian, which crosses France; the
        # schema's README wants a decimal point even on whole numbers ("0.0").
        text = format(value + 0.0, ".6f").rstrip("0")
        return text + "0" if text.endswith(".") else text
    return inert(value)
