"""Factur-X (EN 16931) invoices and credit notes: the CII XML and the PDF/A-3 that carries it."""

from billing.facturx.cii import facturx_xml
from billing.facturx.document import facturx_pdf

__all__ = ["facturx_pdf", "facturx_xml"]
