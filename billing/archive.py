"""The archive of a closed period: a ZIP with its manifest of SHA-256 sums, and its check (no I/O).

The manifest, ``SHA256SUMS``, lists every other file with its SHA-256 in the format of
``sha256sum`` (``<hex>  <name>``), so an auditor can check an unpacked archive with
``sha256sum -c SHA256SUMS``. The service keeps the SHA-256 of the whole archive beside it: a
file altered inside the archive is caught by the manifest, a manifest rewritten to match is
caught by the archive's own sum.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MANIFEST = "SHA256SUMS"
_LINE_RE = re.compile(r"([0-9a-f]{64})  (\S.*)")


def sha256(data: bytes) -> str:
    """The hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def manifest(files: Sequence[tuple[str, bytes]]) -> bytes:
    """The ``SHA256SUMS`` text of files, by name."""
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files)).encode("utf-8")


def build(files: Sequence[tuple[str, bytes]], when: datetime) -> bytes:
    """A ZIP of the files and their manifest; every entry dated ``when`` (local time)."""
    names = [name for name, _ in files]
    if len(set(names)) != len(names) or MANIFEST in names:
        raise ValueError("archive file names must be unique and not the manifest's")
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [*sorted(files), (MANIFEST, manifest(files))]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class ArchiveProblem:
    """Something wrong in an archive, naming the file when there is one."""

    code: str
    name: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.code}: {self.name}: {self.detail}"
            if self.name
            else f"{self.code}: {self.detail}"
        )


def verify(data: bytes, expected_sha256: str | None = None) -> list[ArchiveProblem]:
    """Every problem of an archive's bytes: its own sum (when known), then each file against
    the manifest; [] means intact."""
    problems: list[ArchiveProblem] = []
    if expected_sha256 is not None and sha256(data) != expected_sha256:
        problems.append(
            ArchiveProblem(
                "archive_altered", "", f"its SHA-256 is {sha256(data)}, not {expected_sha256}"
            )
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        return [*problems, ArchiveProblem("unreadable_archive", "", str(error))]
    with archive:
        contents: dict[str, bytes] = {}
        for name in archive.namelist():
            try:
                contents[name] = archive.read(name)
            except (zipfile.BadZipFile, OSError, ValueError, zlib.error) as error:
                # A changed byte in a stored file fails its CRC-32 before any manifest check,
                # or breaks its deflated stream.
                problems.append(ArchiveProblem("file_altered", name, str(error)))
    listed = contents.pop(MANIFEST, None)
    if listed is None:
        return [*problems, ArchiveProblem("manifest_missing", MANIFEST, "no manifest")]
    sums: dict[str, str] = {}
    for line in listed.decode("utf-8", errors="replace").splitlines():
        found = _LINE_RE.fullmatch(line)
        if found is None:
            problems.append(ArchiveProblem("manifest_unreadable", MANIFEST, repr(line)))
            continue
        sums[found[2]] = found[1]
    altered = {p.name for p in problems}
    for name, expected in sorted(sums.items()):
        if name not in contents:
            if name not in altered:
                problems.append(ArchiveProblem("file_missing", name, "listed, not in the archive"))
        elif sha256(contents[name]) != expected:
            problems.append(
                ArchiveProblem(
                    "file_altered", name, f"SHA-256 {sha256(contents[name])}, listed {expected}"
                )
            )
    for name in sorted(set(contents) - set(sums)):
        problems.append(ArchiveProblem("file_unlisted", name, "in the archive, not listed"))
    return problems
