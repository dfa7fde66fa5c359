"""What a PDF draws, read back for assertions: its pages' content streams, decompressed."""

from __future__ import annotations

import io

import pikepdf


def pdf_text(pdf: bytes) -> str:
    """The drawing operators of every page, text included (fpdf2's core fonts write Latin-1)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        drawn = []
        for page in document.pages:
            page.contents_coalesce()
            drawn.append(page.Contents.read_bytes())
    return b"".join(drawn).decode("latin-1")
