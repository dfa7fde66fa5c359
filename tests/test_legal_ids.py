"""Legal identifiers: valid numbers normalised, invalid ones refused with a clear, located error."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from kernel.legal_ids import (
    EuVatNumber,
    InvalidIdentifierError,
    Siren,
    Siret,
    normalize_eu_vat,
    normalize_siren,
    normalize_siret,
)

# Valid numbers come from python-stdnum's own doctests (fr/siret.py, fr/siren.py, eu/vat.py);
# 35600000000048 is La Poste's head office, named in stdnum's fr/siret.py.
VALID_SIRET = "73282932000074"
VALID_SIREN = "732829320"
VALID_VAT = "FR40303265045"


class Organisation(BaseModel):
    """A request body as the API would declare it."""

    siret: Siret
    siren: Siren | None = None
    vat_number: EuVatNumber | None = None


def only_error(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, object]:
    errors = excinfo.value.errors()
    assert len(errors) == 1
    return dict(errors[0])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("732.829.320.00074", "73282932000074"),
        ("  73282932000074 ", "73282932000074"),
        ("35600000000048", "35600000000048"),
    ],
)
def test_siret_is_compacted(raw: str, expected: str) -> None:
    assert normalize_siret(raw) == expected
    assert Organisation(siret=raw).siret == expected


def test_la_poste_establishments_follow_their_own_rule() -> None:
    # Made up to exercise stdnum's La Poste branch: Luhn does not apply, the digit sum must be
    # a multiple of 5 (sum 45 passes, sum 46 fails).
    assert normalize_siret("35600000049837") == "35600000049837"
    with pytest.raises(InvalidIdentifierError, match="checksum does not match"):
        normalize_siret("35600000049838")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("73282932000079", "not a valid SIRET number: checksum does not match"),
        ("7328293200007", "not a valid SIRET number: must have 14 digits"),
        ("732829320000740", "not a valid SIRET number: must have 14 digits"),
        ("7328293200007A", "not a valid SIRET number: must contain only digits"),
        ("", "not a valid SIRET number: must contain only digits"),
    ],
)
def test_invalid_siret_is_refused_on_its_field(raw: str, message: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Organisation(siret=raw)
    error = only_error(excinfo)
    assert error["loc"] == ("siret",)
    assert error["type"] == "siret_invalid"
    assert error["msg"] == message

    with pytest.raises(InvalidIdentifierError) as plain:
        normalize_siret(raw)
    assert str(plain.value) == message
    assert isinstance(plain.value, ValueError)


def test_siret_whose_siren_part_fails_is_refused() -> None:
    # Luhn over all 14 digits passes, but the first 9 (the SIREN) do not pass their own check.
    with pytest.raises(InvalidIdentifierError, match="checksum does not match"):
        normalize_siret("73282932100072")


@pytest.mark.parametrize("raw", ["732829320", "732 829 320", "404833048"])
def test_valid_siren(raw: str) -> None:
    expected = raw.replace(" ", "")
    assert normalize_siren(raw) == expected
    assert Organisation(siret=VALID_SIRET, siren=raw).siren == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("404833047", "not a valid SIREN number: checksum does not match"),
        ("73282932", "not a valid SIREN number: must have 9 digits"),
        ("73282932000074", "not a valid SIREN number: must have 9 digits"),
        ("73282932O", "not a valid SIREN number: must contain only digits"),
    ],
)
def test_invalid_siren_is_refused_on_its_field(raw: str, message: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Organisation(siret=VALID_SIRET, siren=raw)
    error = only_error(excinfo)
    assert error["loc"] == ("siren",)
    assert error["type"] == "siren_invalid"
    assert error["msg"] == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("FR40303265045", "FR40303265045"),
        ("fr40303265045", "FR40303265045"),
        ("FR 40 303 265 045", "FR40303265045"),
        ("FR 61 954 506 077", "FR61954506077"),
        ("BE697449992", "BE0697449992"),
        ("ATU 57194903", "ATU57194903"),
    ],
)
def test_vat_number_is_compacted_and_upper_cased(raw: str, expected: str) -> None:
    assert normalize_eu_vat(raw) == expected
    assert Organisation(siret=VALID_SIRET, vat_number=raw).vat_number == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("FR40303265046", "not a valid intra-EU VAT number: checksum does not match"),
        (
            "FR4030326504",
            "not a valid intra-EU VAT number: wrong number of characters for its country",
        ),
        ("40303265045", "not a valid intra-EU VAT number: unknown or missing country code"),
        ("US40303265045", "not a valid intra-EU VAT number: unknown or missing country code"),
    ],
)
def test_invalid_vat_number_is_refused_on_its_field(raw: str, message: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Organisation(siret=VALID_SIRET, vat_number=raw)
    error = only_error(excinfo)
    assert error["loc"] == ("vat_number",)
    assert error["type"] == "eu_vat_invalid"
    assert error["msg"] == message


def test_errors_on_several_fields_are_all_reported() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Organisation(siret="73282932000079", siren="404833047", vat_number="FR40303265046")
    assert [error["loc"] for error in excinfo.value.errors()] == [
        ("siret",),
        ("siren",),
        ("vat_number",),
    ]


def test_json_schema_stays_a_documented_string() -> None:
    properties = Organisation.model_json_schema()["properties"]
    assert properties["siret"]["type"] == "string"
    assert properties["siret"]["examples"] == [VALID_SIRET]
    vat_branch = properties["vat_number"]["anyOf"][0]
    assert vat_branch["type"] == "string"
    assert vat_branch["examples"] == [VALID_VAT]


def test_valid_constants_really_are_valid() -> None:
    assert normalize_siret(VALID_SIRET) == VALID_SIRET
    assert normalize_siren(VALID_SIREN) == VALID_SIREN
    assert normalize_siret(VALID_SIRET)[:9] == VALID_SIREN
    assert normalize_eu_vat(VALID_VAT) == VALID_VAT
