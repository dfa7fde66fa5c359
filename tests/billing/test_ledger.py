"""Ledger: canonical JSON, chained SHA-256, numbering, and every kind of tampering we could find."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.ledger import (
    GENESIS_HASH,
    ChainProblem,
    ChainProblemCode,
    DocumentNumber,
    StoredDocument,
    canonical_json,
    chain_hash,
    format_number,
    parse_number,
    seal,
    verify_chain,
)

PARIS = ZoneInfo("Europe/Paris")
Code = ChainProblemCode


def invoice(sequence: int, *, year: int = 2026, prefix: str = "FLT") -> dict[str, Any]:
    """The content of an issued invoice as the invoicing service would store it."""
    issued_on = date(year, 1, 1) + timedelta(days=sequence % 360)
    return {
        "number": format_number(prefix, year, sequence),
        "kind": "invoice",
        "issued_on": issued_on,
        "issued_at": datetime.combine(issued_on, datetime.min.time(), tzinfo=PARIS),
        "seller": {"name": "Fablab de Lannion", "siret": "21220113900015"},
        "buyer": {"name": f"Collège Le Goffic {sequence}", "type": "school"},
        "lines": [
            {
                "label": "Découpeuse laser",
                "quantity": 1,
                "minutes": 90,
                "unit_price_cents": 1200 + sequence,
                "total_excl_vat_cents": 1800 + sequence,
                "vat_rate": "20.00",
                "vat_cents": 360,
            }
        ],
        "total_excl_vat_cents": 1800 + sequence,
        "total_vat_cents": 360,
        "total_incl_vat_cents": 2160 + sequence,
        "mentions": [],
    }


def chain(count: int = 50, **kwargs: Any) -> list[StoredDocument]:
    """``count`` documents sealed one after the other."""
    documents: list[StoredDocument] = []
    for sequence in range(1, count + 1):
        documents.append(seal(invoice(sequence, **kwargs), documents[-1] if documents else None))
    return documents


def codes(problems: list[ChainProblem]) -> list[tuple[int, Code]]:
    """(position, code) of each problem, the shape most tests assert on."""
    return [(problem.index, problem.code) for problem in problems]


def edited(document: StoredDocument, path: tuple[str | int, ...], value: Any) -> StoredDocument:
    """The document with one field of its stored content changed, hashes left as they were."""
    content = copy.deepcopy(dict(document.content))
    target: Any = content
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return dataclasses.replace(document, content=content)


CHAIN = chain()


# --- an intact chain ---------------------------------------------------------------------------


def test_a_chain_of_fifty_documents_verifies() -> None:
    assert verify_chain(CHAIN) == []
    assert CHAIN[0].previous_hash == GENESIS_HASH
    assert all(doc.previous_hash == before.hash for before, doc in pairwise(CHAIN))


def test_an_empty_series_verifies() -> None:
    assert verify_chain([]) == []


def test_a_window_of_a_series_verifies_from_the_hash_before_it() -> None:
    window = CHAIN[10:]
    assert verify_chain(window, previous_hash=CHAIN[9].hash, first_sequence=11) == []
    assert codes(verify_chain(window)) == [(0, Code.BROKEN_LINK), (0, Code.NUMBER_GAP)]


# --- tampering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 17, 49])
@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("total_incl_vat_cents",), 1),
        (("lines", 0, "unit_price_cents"), 1),
        (("buyer", "name"), "Collège Le Goffig"),
        (("issued_on",), date(2026, 2, 2)),
        (("issued_at",), datetime(2026, 2, 2, tzinfo=UTC)),
        (("lines", 0, "vat_rate"), "5.50"),
    ],
)
def test_altering_any_field_is_detected_at_that_document(
    position: int, path: tuple[str | int, ...], value: Any
) -> None:
    documents = list(CHAIN)
    documents[position] = edited(documents[position], path, value)
    assert codes(verify_chain(documents)) == [(position, Code.HASH_MISMATCH)]
    assert verify_chain(documents)[0].number == CHAIN[position].number


def _leaf_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in _leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _leaf_paths(item, (*path, i))]
    return [path]


# No deadline: one example may take 250 ms on a busy shared machine; we assert behaviour, not time.
@settings(deadline=None)
@given(st.data())
def test_any_single_edit_anywhere_is_detected_there(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(CHAIN) - 1))
    paths = [p for p in _leaf_paths(CHAIN[position].content) if p != ("number",)]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(st.integers(0, 10**9) | st.text(max_size=20) | st.none() | st.booleans())
    document = edited(CHAIN[position], path, value)
    if canonical_json(document.content) == canonical_json(CHAIN[position].content):
        return  # drew the value already there
    documents = [*CHAIN[:position], document, *CHAIN[position + 1 :]]
    assert codes(verify_chain(documents)) == [(position, Code.HASH_MISMATCH)]


def test_altered_content_with_a_recomputed_hash_breaks_the_next_link() -> None:
    documents = list(CHAIN)
    forged = edited(documents[20], ("total_incl_vat_cents",), 1)
    documents[20] = dataclasses.replace(
        forged, hash=chain_hash(forged.previous_hash, forged.content)
    )
    assert codes(verify_chain(documents)) == [(21, Code.BROKEN_LINK)]


def test_deleting_a_document_is_a_gap_and_a_broken_link() -> None:
    documents = CHAIN[:20] + CHAIN[21:]
    problems = verify_chain(documents)
    assert codes(problems) == [(20, Code.BROKEN_LINK), (20, Code.NUMBER_GAP)]
    assert problems[1].number == "FLT-2026-000022"
    assert "21" in problems[1].detail


def test_deleting_the_first_document_is_detected() -> None:
    assert codes(verify_chain(CHAIN[1:])) == [(0, Code.BROKEN_LINK), (0, Code.NUMBER_GAP)]


def test_deleting_several_documents_reports_one_gap_with_its_range() -> None:
    problems = verify_chain(CHAIN[:5] + CHAIN[9:])
    assert codes(problems) == [(5, Code.BROKEN_LINK), (5, Code.NUMBER_GAP)]
    assert "6..9" in problems[1].detail


def test_truncating_the_newest_documents_needs_an_anchor_kept_elsewhere() -> None:
    # A chain cannot see its own missing tail: that is what an external anchor is for.
    truncated = CHAIN[:45]
    assert verify_chain(truncated) == []
    # Chaining the next year's series to this year's last hash makes that year the anchor.
    next_year = [seal(invoice(1, year=2027), CHAIN[-1])]
    assert verify_chain(next_year, previous_hash=CHAIN[-1].hash) == []
    assert codes(verify_chain(next_year, previous_hash=truncated[-1].hash)) == [
        (0, Code.BROKEN_LINK)
    ]


@pytest.mark.parametrize(("first", "second"), [(10, 11), (3, 40)])
def test_swapping_two_documents_is_detected(first: int, second: int) -> None:
    documents = list(CHAIN)
    documents[first], documents[second] = documents[second], documents[first]
    found = codes(verify_chain(documents))
    assert (first, Code.BROKEN_LINK) in found
    assert (second, Code.BROKEN_LINK) in found
    assert (second, Code.NUMBER_OUT_OF_ORDER) in found
    assert Code.NUMBER_GAP not in {code for _, code in found}
    assert Code.HASH_MISMATCH not in {code for _, code in found}


def test_inserting_a_forged_document_is_detected_at_the_next_link() -> None:
    forged_content = invoice(31)
    forged_content["buyer"] = {"name": "Fausse Société", "type": "company"}
    forged = seal(forged_content, CHAIN[29])  # a perfectly valid hash for its own link
    documents = [*CHAIN[:30], forged, *CHAIN[30:]]
    found = codes(verify_chain(documents))
    assert (31, Code.BROKEN_LINK) in found
    assert (31, Code.NUMBER_DUPLICATE) in found
    assert (30, Code.BROKEN_LINK) not in found
    assert (30, Code.HASH_MISMATCH) not in found


def test_renumbering_the_stored_row_is_detected() -> None:
    documents = list(CHAIN)
    documents[7] = dataclasses.replace(documents[7], number="FLT-2026-000099")
    found = codes(verify_chain(documents))
    assert (7, Code.NUMBER_MISMATCH) in found


def test_duplicate_and_out_of_order_numbers() -> None:
    documents = chain(5)
    duplicated = [*documents, seal(invoice(5), documents[-1])]
    assert codes(verify_chain(duplicated)) == [(5, Code.NUMBER_DUPLICATE)]
    backwards = [*documents, seal(invoice(3), documents[-1])]
    assert codes(verify_chain(backwards)) == [(5, Code.NUMBER_DUPLICATE)]
    skipped = chain(2)
    skipped.append(seal(invoice(4), skipped[-1]))
    skipped.append(seal(invoice(3), skipped[-1]))
    assert codes(verify_chain(skipped)) == [(3, Code.NUMBER_OUT_OF_ORDER)]


def test_year_mismatch_in_the_number_and_against_the_issue_date() -> None:
    documents = chain(3)
    documents.append(seal(invoice(4, year=2025), documents[-1]))
    assert codes(verify_chain(documents)) == [(3, Code.YEAR_MISMATCH)]

    late = invoice(4)
    late["issued_on"] = "2027-01-02"
    documents = [*chain(3), seal(late, chain(3)[-1])]
    problems = verify_chain(documents)
    assert codes(problems) == [(3, Code.YEAR_MISMATCH)]
    assert "2027" in problems[0].detail


def test_series_is_taken_from_the_caller_when_given() -> None:
    assert codes(verify_chain(chain(2), year=2025)) == [
        (0, Code.YEAR_MISMATCH),
        (1, Code.YEAR_MISMATCH),
    ]
    assert codes(verify_chain(chain(1), prefix="MDT")) == [(0, Code.SERIES_MISMATCH)]


def test_a_document_of_another_series_is_detected() -> None:
    documents = chain(2)
    documents.append(seal(invoice(3, prefix="MDT"), documents[-1]))
    assert codes(verify_chain(documents)) == [(2, Code.SERIES_MISMATCH)]


def test_unreadable_content_and_malformed_numbers_are_reported_not_raised() -> None:
    documents = list(chain(3))
    documents[1] = edited(documents[1], ("total_incl_vat_cents",), 21.6)
    documents[2] = dataclasses.replace(documents[2], number="FLT-2026-3")
    found = codes(verify_chain(documents))
    assert (1, Code.UNREADABLE_CONTENT) in found
    assert (2, Code.MALFORMED_NUMBER) in found


# --- canonical JSON ----------------------------------------------------------------------------


def test_canonical_json_exact_bytes() -> None:
    document = {
        "z": 1,
        "a": {"é": "Médiathèque", "b": [True, None, Decimal("20.00")]},
        "on": date(2026, 3, 29),
        "at": datetime(2026, 3, 29, 3, 30, tzinfo=PARIS),
    }
    assert (
        canonical_json(document)
        == (
            '{"a":{"b":[true,null,"20.00"],"é":"Médiathèque"},'
            '"at":"2026-03-29T01:30:00.000000Z","on":"2026-03-29","z":1}'
        ).encode()
    )


def test_canonical_json_ignores_key_order_and_zone_of_an_instant() -> None:
    instant = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    one = {"a": 1, "b": {"x": instant, "y": [1, 2]}}
    two = {"b": {"y": [1, 2], "x": instant.astimezone(PARIS)}, "a": 1}
    assert canonical_json(one) == canonical_json(two)


def test_decimals_keep_their_scale_and_lists_keep_their_order() -> None:
    # Equal numbers, different text: a changed document, never silently equal.
    assert canonical_json({"r": Decimal("1.10")}) != canonical_json({"r": Decimal("1.1")})
    assert canonical_json({"r": Decimal("1E+2")}) == b'{"r":"100"}'
    assert canonical_json({"l": [1, 2]}) != canonical_json({"l": [2, 1]})
    assert canonical_json({"t": (1, 2)}) == canonical_json({"t": [1, 2]})


@pytest.mark.parametrize(
    "document",
    [
        {"amount": 21.6},
        {"lines": [{"total": 0.0}]},
        {"nested": {"deep": (1, 2.5)}},
    ],
)
def test_floats_are_refused_anywhere(document: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_json(document)


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"at": datetime(2026, 1, 1)}, ValueError),  # noqa: DTZ001 - naive on purpose
        ({"r": Decimal("NaN")}, ValueError),
        ({"r": Decimal("Infinity")}, ValueError),
        ({1: "x"}, TypeError),
        ({"s": {1, 2}}, TypeError),
        ({"b": b"bytes"}, TypeError),
    ],
)
def test_values_without_one_canonical_text_are_refused(
    document: dict[Any, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        canonical_json(document)


def test_canonical_json_refuses_a_non_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        canonical_json([1, 2])  # type: ignore[arg-type]


# --- chain hash --------------------------------------------------------------------------------


def test_chain_hash_is_sha256_of_the_previous_hash_and_the_canonical_bytes() -> None:
    expected = hashlib.sha256(("0" * 64 + '{"a":1}').encode()).hexdigest()
    assert chain_hash(None, {"a": 1}) == expected
    assert chain_hash(GENESIS_HASH, {"a": 1}) == expected
    assert chain_hash(expected, {"a": 1}) != expected


@pytest.mark.parametrize("previous", ["", "0" * 63, "A" * 64, "g" * 64])
def test_chain_hash_refuses_a_malformed_previous_hash(previous: str) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        chain_hash(previous, {"a": 1})


def test_seal_needs_a_number_in_the_content() -> None:
    with pytest.raises(ValueError, match="number"):
        seal({"kind": "invoice"}, None)
    with pytest.raises(ValueError, match="malformed"):
        seal({"number": "FLT-26-1"}, None)


# --- numbers -----------------------------------------------------------------------------------


def test_format_and_parse_a_number() -> None:
    assert format_number("FLT", 2026, 42) == "FLT-2026-000042"
    assert parse_number("FLT-2026-000042") == DocumentNumber("FLT", 2026, 42)
    assert str(DocumentNumber("AV-FLT", 2026, 7)) == "AV-FLT-2026-000007"
    assert parse_number("AV-FLT-2026-000007") == DocumentNumber("AV-FLT", 2026, 7)


@pytest.mark.parametrize(
    "number",
    [
        "FLT-2026-42",
        "flt-2026-000042",
        "FLT-26-000042",
        "FLT-2026-0000042",
        "FLT-2026-000000",
        "2026-000042",
        "FLT 2026 000042",
        "FLT-2026-000042 ",
        "F_T-2026-000042",
        "FLT--X-2026-000001",
    ],
)
def test_malformed_numbers_are_refused(number: str) -> None:
    with pytest.raises(ValueError, match=r"malformed|prefix"):
        parse_number(number)


@pytest.mark.parametrize(
    ("prefix", "year", "sequence"),
    [("flt", 2026, 1), ("", 2026, 1), ("2026", 2026, 1), ("FLT", 26, 1), ("FLT", 2026, 0)],
)
def test_bad_number_parts_are_refused(prefix: str, year: int, sequence: int) -> None:
    with pytest.raises(ValueError):
        format_number(prefix, year, sequence)


def test_a_series_ends_at_its_six_digit_capacity() -> None:
    assert format_number("FLT", 2026, 999_999) == "FLT-2026-999999"
    with pytest.raises(ValueError, match="sequence"):
        format_number("FLT", 2026, 1_000_000)


@given(
    st.from_regex(r"[A-Z][A-Z0-9]{0,5}(-[A-Z][A-Z0-9]{0,5})?", fullmatch=True),
    st.integers(1900, 9999),
    st.integers(1, 999_999),
)
def test_numbers_round_trip(prefix: str, year: int, sequence: int) -> None:
    number = format_number(prefix, year, sequence)
    assert parse_number(number) == DocumentNumber(prefix, year, sequence)
    assert str(parse_number(number)) == number
