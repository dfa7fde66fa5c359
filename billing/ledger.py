"""Tamper-evident ledger of invoices and credit notes: canonical content, SHA-256 chain (no I/O).

French invoicing rules: one continuous chronological numbering per series (a place and a year,
``FLT-2026-000042``), documents immutable once issued, corrections only by credit note. On top
of that, every document of a series is chained::

    hash = sha256(previous_hash as 64 ASCII hex digits + canonical_json(content)).hexdigest()

where the first document of a series uses :data:`GENESIS_HASH` (or, to chain the years, the last
hash of the previous year's series, given to :func:`verify_chain` as ``previous_hash``). An
auditor can recompute any link with ``sha256sum`` and this page.

Canonical content (:func:`canonical_json`): JSON, keys sorted, no insignificant whitespace,
UTF-8 (not ``\\u`` escapes), money as integer cents, aware datetimes as ISO-8601 UTC with
microseconds (``2026-03-29T08:00:00.000000Z``), dates as ``YYYY-MM-DD``, ``Decimal`` as its
fixed-point string *keeping its written scale*: ``Decimal("1.10")`` and ``Decimal("1.1")`` are
different content. They are equal numbers, but a document whose text changed is a changed
document; amounts are integer cents so no amount depends on it, and issuers format rates with a
fixed scale (see ``billing.pricing``). Floats are refused (``TypeError``): no binary float may
ever reach an invoice. Strings are hashed as given (no Unicode normalisation) for the same reason.

The content of a document must carry its own number under ``"number"``, so that renumbering the
stored row is caught; if it carries an issue date under ``"issued_on"``, that date's year must be
the number's year.

Limit of any hash chain: whoever can rewrite *every* document from some point on and recompute
all hashes, or delete the newest documents, is only caught against a copy of a hash kept
elsewhere (the next year's genesis, a periodic closing, an archive). Keep such anchors.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64
"""The previous hash of the first document of a chain."""

NUMBER_KEY = "number"
ISSUED_ON_KEY = "issued_on"
MAX_SEQUENCE = 999_999

_HASH_RE = re.compile(r"[0-9a-f]{64}")
# Each prefix segment starts with a letter so a prefix can never be mistaken for a year.
_PREFIX_RE = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z][A-Z0-9]*)*")
_MAX_PREFIX_LENGTH = 20
_NUMBER_RE = re.compile(r"(?P<prefix>.+)-(?P<year>[0-9]{4})-(?P<sequence>[0-9]{6})")
_MIN_YEAR = 1900


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The deterministic UTF-8 JSON bytes of a document (refuses floats and unknown types)."""
    if not isinstance(document, Mapping):
        raise TypeError(f"a document must be a mapping, got {type(document).__name__}")
    return json.dumps(
        _plain(document, "$"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def _plain(value: Any, path: str) -> Any:
    """The JSON-native form of a value, refusing anything that has no single canonical text."""
    # bool before int (bool is an int) and datetime before date (datetime is a date).
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        raise TypeError(f"float at {path}: amounts are integer cents, rates are Decimal")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite Decimal at {path}: {value}")
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime at {path}: {value.isoformat()}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"non-string key {key!r} at {path}")
            plain[key] = _plain(item, f"{path}.{key}")
        return plain
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise TypeError(f"unsupported type {type(value).__name__} at {path}")


def chain_hash(previous_hash: str | None, document: Mapping[str, Any]) -> str:
    """The hex SHA-256 of a document chained to its predecessor (None: the genesis hash)."""
    previous = GENESIS_HASH if previous_hash is None else previous_hash
    if not is_hash(previous):
        raise ValueError(f"previous hash must be 64 lowercase hex digits, got {previous!r}")
    return hashlib.sha256(previous.encode("ascii") + canonical_json(document)).hexdigest()


def is_hash(value: object) -> bool:
    """Whether a value is a well-formed chain hash (64 lowercase hex digits)."""
    return isinstance(value, str) and _HASH_RE.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class DocumentNumber:
    """A parsed document number: series prefix, year and sequence within that year."""

    prefix: str
    year: int
    sequence: int

    def __str__(self) -> str:
        return format_number(self.prefix, self.year, self.sequence)


def format_number(prefix: str, year: int, sequence: int) -> str:
    """The document number ``PREFIX-YYYY-NNNNNN`` (e.g. ``FLT-2026-000042``)."""
    _check_prefix(prefix)
    if isinstance(year, bool) or not isinstance(year, int) or not _MIN_YEAR <= year <= 9999:
        raise ValueError(f"year must be an integer in {_MIN_YEAR}..9999, got {year!r}")
    if (
        isinstance(sequence, bool)
        or not isinstance(sequence, int)
        or not 1 <= sequence <= MAX_SEQUENCE
    ):
        raise ValueError(f"sequence must be an integer in 1..{MAX_SEQUENCE}, got {sequence!r}")
    return f"{prefix}-{year:04d}-{sequence:06d}"


def parse_number(number: str) -> DocumentNumber:
    """Parse a number made by :func:`format_number`; ValueError on anything else."""
    match = _NUMBER_RE.fullmatch(number) if isinstance(number, str) else None
    if match is None:
        raise ValueError(f"malformed document number {number!r}, expected PREFIX-YYYY-NNNNNN")
    parsed = DocumentNumber(match["prefix"], int(match["year"]), int(match["sequence"]))
    # Round-trip so that only the one canonical spelling of a number is accepted.
    try:
        canonical = format_number(parsed.prefix, parsed.year, parsed.sequence)
    except ValueError as error:
        raise ValueError(f"malformed document number {number!r}: {error}") from None
    if canonical != number:
        raise ValueError(f"malformed document number {number!r}")
    return parsed


def _check_prefix(prefix: str) -> None:
    if (
        not isinstance(prefix, str)
        or len(prefix) > _MAX_PREFIX_LENGTH
        or _PREFIX_RE.fullmatch(prefix) is None
    ):
        raise ValueError(
            f"prefix must be up to {_MAX_PREFIX_LENGTH} characters of A-Z and 0-9, "
            f"segments starting with a letter and joined by '-', got {prefix!r}"
        )


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """An issued invoice or credit note as stored: number, content and its two chain hashes."""

    number: str
    content: Mapping[str, Any]
    previous_hash: str
    hash: str


def seal(content: Mapping[str, Any], previous: StoredDocument | None) -> StoredDocument:
    """Chain new content after ``previous`` (None: first of its series) into a stored document."""
    number = content.get(NUMBER_KEY)
    if not isinstance(number, str):
        raise ValueError(f"content must carry its document number under {NUMBER_KEY!r}")
    parse_number(number)
    previous_hash = GENESIS_HASH if previous is None else previous.hash
    return StoredDocument(number, content, previous_hash, chain_hash(previous_hash, content))


class ChainProblemCode(StrEnum):
    """Stable codes of what :func:`verify_chain` finds wrong."""

    HASH_MISMATCH = "hash_mismatch"
    BROKEN_LINK = "broken_link"
    NUMBER_GAP = "number_gap"
    NUMBER_DUPLICATE = "number_duplicate"
    NUMBER_OUT_OF_ORDER = "number_out_of_order"
    YEAR_MISMATCH = "year_mismatch"
    SERIES_MISMATCH = "series_mismatch"
    NUMBER_MISMATCH = "number_mismatch"
    MALFORMED_NUMBER = "malformed_number"
    UNREADABLE_CONTENT = "unreadable_content"


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One problem found at one document (``index`` is its position in the given sequence)."""

    number: str
    code: ChainProblemCode
    detail: str
    index: int


def verify_chain(
    documents: Sequence[StoredDocument],
    *,
    prefix: str | None = None,
    year: int | None = None,
    previous_hash: str = GENESIS_HASH,
    first_sequence: int = 1,
) -> list[ChainProblem]:
    """Every problem of one series given in issue order; an empty list means the chain is intact."""
    # The series defaults to that of the first well-formed number. To verify a window of a series
    # (from a checkpoint, or a year chained to the previous one), pass what precedes it.
    if not is_hash(previous_hash):
        raise ValueError(f"previous hash must be 64 lowercase hex digits, got {previous_hash!r}")
    problems: list[ChainProblem] = []

    def report(index: int, code: ChainProblemCode, detail: str) -> None:
        problems.append(ChainProblem(documents[index].number, code, detail, index))

    parsed: list[DocumentNumber | None] = []
    for document in documents:
        try:
            parsed.append(parse_number(document.number))
        except ValueError:
            parsed.append(None)
    known = [number for number in parsed if number is not None]
    series_prefix = prefix if prefix is not None else (known[0].prefix if known else None)
    series_year = year if year is not None else (known[0].year if known else None)

    expected_previous = previous_hash
    seen: set[int] = set()
    highest = first_sequence - 1
    for index, (document, number) in enumerate(zip(documents, parsed, strict=True)):
        if document.previous_hash != expected_previous:
            report(
                index,
                ChainProblemCode.BROKEN_LINK,
                f"previous_hash {document.previous_hash!r} is not the hash before it "
                f"{expected_previous!r}",
            )
        try:
            recomputed: str | None = chain_hash(document.previous_hash, document.content)
        except (TypeError, ValueError) as error:
            recomputed = None
            report(index, ChainProblemCode.UNREADABLE_CONTENT, str(error))
        if recomputed is not None and recomputed != document.hash:
            report(
                index,
                ChainProblemCode.HASH_MISMATCH,
                f"stored hash {document.hash!r} does not match its content ({recomputed})",
            )
        # The next link must point at what is stored, so one bad row does not flag every later one.
        expected_previous = document.hash

        content_number = _get(document.content, NUMBER_KEY)
        if content_number != document.number:
            report(
                index,
                ChainProblemCode.NUMBER_MISMATCH,
                f"content says number {content_number!r}, the row says {document.number!r}",
            )
        if number is None:
            report(index, ChainProblemCode.MALFORMED_NUMBER, f"cannot parse {document.number!r}")
            continue
        if number.prefix != series_prefix:
            report(
                index,
                ChainProblemCode.SERIES_MISMATCH,
                f"prefix {number.prefix!r} in series {series_prefix!r}",
            )
        if number.year != series_year:
            report(
                index,
                ChainProblemCode.YEAR_MISMATCH,
                f"year {number.year} in the series of {series_year}",
            )
        issued_year = _issued_year(_get(document.content, ISSUED_ON_KEY))
        if issued_year is not None and issued_year != number.year:
            report(
                index,
                ChainProblemCode.YEAR_MISMATCH,
                f"issued in {issued_year} but numbered in {number.year}",
            )
        if number.sequence in seen:
            report(index, ChainProblemCode.NUMBER_DUPLICATE, f"sequence {number.sequence} again")
        elif number.sequence < highest:
            report(
                index,
                ChainProblemCode.NUMBER_OUT_OF_ORDER,
                f"sequence {number.sequence} issued after {highest}",
            )
        seen.add(number.sequence)
        highest = max(highest, number.sequence)

    # Gaps are computed once everything is seen, so that a swap is "out of order", not a gap.
    missing = sorted(set(range(first_sequence, highest + 1)) - seen)
    for run_start, run_end in _runs(missing):
        for index, number in enumerate(parsed):
            if number is not None and number.sequence > run_end:
                span = str(run_start) if run_start == run_end else f"{run_start}..{run_end}"
                report(index, ChainProblemCode.NUMBER_GAP, f"sequence {span} missing before it")
                break
    problems.sort(key=lambda problem: problem.index)
    return problems


def _get(content: Mapping[str, Any], key: str) -> Any:
    return content.get(key) if isinstance(content, Mapping) else None


def _issued_year(value: Any) -> int | None:
    """The year of an ``issued_on`` value (date or ``YYYY-MM-DD``), None if absent or unreadable."""
    if isinstance(value, date):
        return value.year
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).year
        except ValueError:
            return None
    return None


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted integers as (first, last) pairs."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs
