"""Validated French and EU legal identifiers (SIRET, SIREN, intra-EU VAT) for pydantic models.

Checksums and country rules come from python-stdnum, never from code of ours: it knows the
special cases (La Poste establishments, whose SIRET does not follow the Luhn rule; Belgian VAT
numbers padded to ten digits; "EL" for Greece).

The plain ``normalize_*`` functions raise :class:`InvalidIdentifierError` (a ``ValueError``);
the annotated types raise a pydantic error with a stable ``type`` (``siret_invalid``, ...)
so API clients can tell which rule failed without parsing the message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from stdnum.eu import vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.fr import siren, siret

__all__ = [
    "EuVatNumber",
    "InvalidIdentifierError",
    "Siren",
    "Siret",
    "normalize_eu_vat",
    "normalize_siren",
    "normalize_siret",
]


class InvalidIdentifierError(ValueError):
    """A legal identifier that does not pass its official check."""

    def __init__(self, kind: str, label: str, reason: str) -> None:
        self.kind = kind
        self.label = label
        self.reason = reason
        super().__init__(f"not a valid {label}: {reason}")


def _reason(error: ValidationError, length_rule: str, format_rule: str) -> str:
    """Say in plain English which rule the number broke."""
    # InvalidLength subclasses InvalidFormat in stdnum, so it must be tested first.
    if isinstance(error, InvalidLength):
        return length_rule
    if isinstance(error, InvalidFormat):
        return format_rule
    if isinstance(error, InvalidChecksum):
        return "checksum does not match"
    if isinstance(error, InvalidComponent):
        return "unknown or missing country code"
    return "rejected by the official check"


def normalize_siret(value: str) -> str:
    """Return the SIRET without separators, or raise InvalidIdentifierError."""
    try:
        return siret.validate(value)
    except ValidationError as error:
        reason = _reason(error, "must have 14 digits", "must contain only digits")
        raise InvalidIdentifierError("siret", "SIRET number", reason) from None


def normalize_siren(value: str) -> str:
    """Return the SIREN without separators, or raise InvalidIdentifierError."""
    try:
        return siren.validate(value)
    except ValidationError as error:
        reason = _reason(error, "must have 9 digits", "must contain only digits")
        raise InvalidIdentifierError("siren", "SIREN number", reason) from None


def normalize_eu_vat(value: str) -> str:
    """Return the intra-EU VAT number compacted and upper-cased, or raise InvalidIdentifierError."""
    try:
        return vat.validate(value)
    except ValidationError as error:
        reason = _reason(
            error,
            "wrong number of characters for its country",
            "wrong characters for its country",
        )
        raise InvalidIdentifierError("eu_vat", "intra-EU VAT number", reason) from None


def _pydantic(normalize: Callable[[str], str]) -> Callable[[str], str]:
    """Turn a normalize_* function into an AfterValidator body with a stable error type."""

    def validate(value: str) -> str:
        try:
            return normalize(value)
        except InvalidIdentifierError as error:
            # A custom error keeps the message free of pydantic's "Value error, " prefix
            # and gives clients a machine-readable type.
            raise PydanticCustomError(
                f"{error.kind}_invalid",
                "not a valid {label}: {reason}",
                {"label": error.label, "reason": error.reason},
            ) from None

    return validate


Siret = Annotated[
    str,
    AfterValidator(_pydantic(normalize_siret)),
    Field(
        description="SIRET (14 digits; spaces and dots are ignored)", examples=["73282932000074"]
    ),
]
Siren = Annotated[
    str,
    AfterValidator(_pydantic(normalize_siren)),
    Field(description="SIREN (9 digits; spaces and dots are ignored)", examples=["732829320"]),
]
EuVatNumber = Annotated[
    str,
    AfterValidator(_pydantic(normalize_eu_vat)),
    Field(
        description="Intra-EU VAT number with its country prefix, e.g. FR40303265045",
        examples=["FR40303265045"],
    ),
]
