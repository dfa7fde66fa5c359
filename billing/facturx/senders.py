"""Where a place's Factur-X invoices to public buyers go: the provider seam.

Today the only sender is :class:`DownloadSender`: a ZIP the manager downloads and deposits on
Chorus Pro by hand (no network call). A sender that deposits through Chorus Pro's API, or
through a certified platform (PDP) of the 2026 reform, implements :class:`EInvoiceSender` and
reports what it did in the same :class:`Delivery`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Fixed timestamps inside the ZIP: the same documents give the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class EInvoice:
    """One document ready to send: its Factur-X PDF and what a deposit form asks."""

    number: str
    kind: str  # invoice, credit_note
    issued_on: str
    buyer: str
    buyer_siret: str | None
    service_code: str | None
    engagement: str | None
    total_incl_vat_cents: int
    pdf: bytes

    @property
    def filename(self) -> str:
        """The file's name in a batch."""
        return f"{self.number}.pdf"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a sender did: the file it hands back (the batch itself, or a deposit receipt) and
    how many documents it carried."""

    sender: str
    count: int
    filename: str
    media_type: str
    content: bytes


class EInvoiceSender(Protocol):
    """Sends a batch of Factur-X documents (in issue order) and says what it did.

    It must be idempotent per document number (a batch may be sent again after a failure), and
    it is called outside any database transaction when it talks to the network.
    """

    name: str

    def send(self, documents: Sequence[EInvoice], label: str) -> Delivery:
        """Send the documents; ``label`` names the batch (place and period)."""
        ...


class DownloadSender:
    """A ZIP of the Factur-X PDFs with a slip (``bordereau.csv``) and their SHA-256 sums."""

    name = "download"

    def send(self, documents: Sequence[EInvoice], label: str) -> Delivery:
        """The ZIP to download, named after ``label``."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for document in documents:
                archive.writestr(zipfile.ZipInfo(document.filename, _ZIP_TIME), document.pdf)
            archive.writestr(zipfile.ZipInfo("bordereau.csv", _ZIP_TIME), _slip(documents))
            sums = "".join(
                f"{hashlib.sha256(d.pdf).hexdigest()}  {d.filename}\n" for d in documents
            )
            archive.writestr(zipfile.ZipInfo("SHA256SUMS", _ZIP_TIME), sums)
        return Delivery(
            sender=self.name,
            count=len(documents),
            filename=f"{label}.zip",
            media_type="application/zip",
            content=buffer.getvalue(),
        )


def _slip(documents: Sequence[EInvoice]) -> bytes:
    """One row per document, in French, for the person who deposits them (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "fichier",
            "numéro",
            "type",
            "date",
            "acheteur",
            "SIRET acheteur",
            "code service",
            "numéro d'engagement",
            "montant TTC",
        ]
    )
    for d in documents:
        writer.writerow(
            [
                d.filename,
                d.number,
                "facture" if d.kind == "invoice" else "avoir",
                d.issued_on,
                d.buyer,
                d.buyer_siret or "",
                d.service_code or "",
                d.engagement or "",
                f"{d.total_incl_vat_cents // 100},{d.total_incl_vat_cents % 100:02d}",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
