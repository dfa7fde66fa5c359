"""Where a person looks: SQL conditions for a town typed loosely, a postcode, or a radius.

A town matches when its name, accents and punctuation left out, starts with what was typed, or
is close to it by trigrams (``pg_trgm``: "Lanion" finds Lannion, "perros guirec" finds
Perros-Guirec). Digits are a postcode or its start ("22" is the Côtes-d'Armor). A radius counts
great-circle kilometres from a point: the person's own position ("near me"), else the middle of
the places of the town they typed, else the centre of the French commune they typed (a town
with no place, "Perros-Guirec" or "22700": resources.communes). A town with no place and no
radius asked looks :data:`DEFAULT_RADIUS_KM` around it rather than answer nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, cast, false, func, literal, or_

# Below these, two names share too few trigrams to be the same town misspelt.
SIMILARITY = 0.4
PREFIX_SIMILARITY = 0.6
PREFIX_MIN_LENGTH = 4
EARTH_RADIUS_KM = 6371.0
MAX_RADIUS_KM = 200
# A town typed with no place in it, and no radius asked: the places this close to it.
DEFAULT_RADIUS_KM = 20
_POSTCODE = re.compile(r"\d{2,5}")
_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True)
class Where:
    """A town or postcode as typed, and optionally a point and a radius around it."""

    text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None

    @property
    def postcode(self) -> str | None:
        """The digits typed, when they are a postcode or its start."""
        text = (self.text or "").replace(" ", "")
        return text if _POSTCODE.fullmatch(text) else None

    @property
    def has_point(self) -> bool:
        """Whether the person gave their own position."""
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True, slots=True)
class Located:
    """Where a search counts distances from and how far it looks, once what was typed is
    read: the person's position, the middle of the places of the town typed, or the centre
    of the commune typed (``town``) when no place is there."""

    centre: tuple[float, float] | None = None
    radius_km: float | None = None
    town: str | None = None
    postcode: str | None = None
    # No place in the town typed and no radius asked: the places within DEFAULT_RADIUS_KM.
    widened: bool = False


def kilometres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in kilometres between two points (haversine, as in SQL)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    half = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, half)))


def normalised(value: Any) -> ColumnElement[str]:
    """Lower case, accents removed, every run of other characters one space (SQL)."""
    bare = func.regexp_replace(func.lower(func.unaccent(value)), "[^a-z0-9]+", " ", "g")
    return func.btrim(bare)


def town_matches(town: Any, typed: str) -> ColumnElement[bool]:
    """Whether the town column matches what was typed, loosely (see the module)."""
    if not _WORD.search(typed):
        return false()  # only punctuation: it would be the start of every name
    name = normalised(town)
    wanted = normalised(literal(typed))
    conditions = [
        name.startswith(wanted, autoescape=False),
        func.similarity(name, wanted) >= SIMILARITY,
    ]
    if len(typed.strip()) >= PREFIX_MIN_LENGTH:
        # A misspelt start of a name ("Lanio" for Lannion): the typed text against as much of
        # the name, and a letter more (a letter left out).
        start = func.left(name, func.length(wanted) + 1)
        conditions.append(func.similarity(start, wanted) >= PREFIX_SIMILARITY)
    return or_(*conditions)


def text_contains(column: Any, typed: str) -> ColumnElement[bool]:
    """Whether the column holds the typed word, accents and case left out."""
    if not _WORD.search(typed):
        return false()
    # After normalisation neither side has a LIKE wildcard: only letters, digits, spaces.
    return normalised(column).contains(normalised(literal(typed)), autoescape=False)


def distance_km(
    latitude: Any, longitude: Any, from_latitude: float, from_longitude: float
) -> ColumnElement[float]:
    """Great-circle distance in kilometres between a row's coordinates and a point (haversine)."""
    lat1, lon1 = func.radians(latitude), func.radians(longitude)
    lat2, lon2 = func.radians(cast(from_latitude, Float)), func.radians(cast(from_longitude, Float))
    half = func.power(func.sin((lat2 - lat1) / 2), 2) + func.cos(lat1) * func.cos(
        lat2
    ) * func.power(func.sin((lon2 - lon1) / 2), 2)
    return cast(2 * EARTH_RADIUS_KM * func.asin(func.sqrt(func.least(1.0, half))), Float)


def place_matches(
    town: Any,
    postcode: Any,
    where: Where,
) -> ColumnElement[bool] | None:
    """The condition of what was typed on the town and postcode columns (None: nothing typed)."""
    if where.postcode:
        matched: ColumnElement[bool] = postcode.startswith(where.postcode, autoescape=True)
        return matched
    if where.text and where.text.strip():
        return town_matches(town, where.text)
    return None


def within(
    latitude: Any, longitude: Any, centre: tuple[float, float], radius_km: float
) -> ColumnElement[bool]:
    """Whether a row with coordinates lies within the radius of the centre."""
    return and_(
        latitude.is_not(None),
        longitude.is_not(None),
        distance_km(latitude, longitude, *centre) <= radius_km,
    )
