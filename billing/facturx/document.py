"""A sealed invoice or credit note as Factur-X: its PDF/A-3B with the CII XML attached as
``factur-x.xml`` (profile EN 16931), embedded with its XMP by the ``factur-x`` library.

Both functions read the document's sealed content only, so the same document gives the same
XML at any later time (archives, exports, downloads).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from facturx import generate_from_binary

from billing.facturx.cii import facturx_xml
from billing.render import invoice_pdf

FILENAME = "factur-x.xml"
MEDIA_TYPE = "application/pdf"

# The library logs every generation at INFO; it is not news here.
logging.getLogger("factur-x").setLevel(logging.WARNING)


def facturx_pdf(content: Mapping[str, Any], document_hash: str) -> bytes:
    """The Factur-X PDF/A-3 of a sealed document (its content and its chain hash)."""
    xml = facturx_xml(content)
    pdf = invoice_pdf(dict(content), document_hash, archival=True)
    buyer = content["buyer"]["name"]
    metadata = {
        "author": str(content["seller"]["name"]),
        "keywords": "Factur-X, facture" if content["type"] == "invoice" else "Factur-X, avoir",
        "title": f"{content['title']} {content['number']}",
        "subject": f"{content['title']} {content['number']} — {buyer}",
    }
    # The XML was built to the EN 16931 XSD (the tests check it); the library need not parse it
    # again. PDF/A wants the XMP stream uncompressed. "Data": the XML is the invoice's data.
    result = generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
        pdf_metadata=metadata,
        lang="fr-FR",
        afrelationship="data",
        xmp_compression=False,
    )
    return bytes(result)


__all__ = ["FILENAME", "MEDIA_TYPE", "facturx_pdf", "facturx_xml"]
