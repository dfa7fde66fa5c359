"""The tests' PDF reader finds every drawn text, whatever bytes its compressed stream ends on."""

from __future__ import annotations

import hashlib
import itertools
import re

from fpdf import FPDF

from tests.support.pdf import pdf_text


def _pdf_drawing(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    pdf.cell(text=text)
    return bytes(pdf.output())


def _page_stream(pdf: bytes) -> bytes:
    length = re.search(rb"/Length (\d+)\s*>>\s*stream\n", pdf)
    assert length is not None
    return pdf[length.end() : length.end() + int(length.group(1))]


def test_a_stream_compressed_to_end_on_a_carriage_return_is_read_whole() -> None:
    # An invoice's chained hash changes each run, and so do its compressed page's last bytes
    # (the Adler-32 checksum). About one hash in 256 makes the stream end on b"\r", which a
    # reader that strips an optional "\r\n" before "endstream" cut off: the page read as empty.
    for attempt in itertools.count():
        chained = hashlib.sha256(str(attempt).encode()).hexdigest()
        text = f"Empreinte SHA-256 chaînée : {chained}"
        pdf = _pdf_drawing(text)
        if _page_stream(pdf).endswith(b"\r"):
            break
        assert attempt < 20_000, "no hash made the stream end on a carriage return"

    assert f"({text}) Tj" in pdf_text(pdf)
