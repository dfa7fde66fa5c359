"""The EN 16931 codes of Mutualab's VAT regimes and payment methods (no I/O).

VAT categories (UNCL 5305): ``S`` standard rate, ``E`` exempt (with its VATEX reason code where
the mention is one we know, and the mention as the reason text), ``O`` outside the scope of VAT.
A VAT franchise (art. 293 B du CGI) is ``E`` with ``VATEX-FR-FRANCHISE``.

An invoice whose only regime is out of scope is ``O``; EN 16931 forbids mixing ``O`` with any
other category (BR-O-11 to BR-O-14), so in a mixed invoice the out-of-scope lines are stated as
``E`` with the same legal mention as reason text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing.pricing import BARE_PREMISES_MENTION, FRANCHISE_MENTION, PUBLIC_BODY_MENTION

# The mentions billing writes by default, and their VATEX codes (CEF VATEX code list).
_VATEX_OF_MENTION = {
    BARE_PREMISES_MENTION: "VATEX-FR-CGI261D-2",
    FRANCHISE_MENTION: "VATEX-FR-FRANCHISE",
    PUBLIC_BODY_MENTION: "VATEX-EU-O",
}

# UNCL 4461. No bank account is recorded for a place, so a transfer (30, 58) cannot be named:
# EN 16931 then requires the account (BR-61). "1" is "instrument not defined".
PAYMENT_MEANS = {"card": "48", "on_site": "1", "invoice": "1", "free": "1"}


@dataclass(frozen=True, slots=True)
class Category:
    """The VAT category of a line or breakdown entry, with its exemption reason."""

    code: str
    percent: str | None  # "20.00"; "0" for E; None for O, which states no rate (BR-O-05)
    reason_code: str | None = None
    reason_text: str | None = None


def document_is_out_of_scope(kinds: Iterable[str]) -> bool:
    """Whether every regime of a document is out of scope (category O for the whole invoice)."""
    seen = set(kinds)
    return seen == {"out_of_scope"}


def category(kind: str, rate: str, mention: str | None, *, all_out_of_scope: bool) -> Category:
    """The category of a VAT regime as stored on an invoice line or breakdown entry."""
    if kind == "taxable":
        return Category("S", rate)
    if kind == "out_of_scope" and all_out_of_scope:
        return Category("O", None, "VATEX-EU-O", mention or PUBLIC_BODY_MENTION)
    default = {
        "exempt": BARE_PREMISES_MENTION,
        "franchise": FRANCHISE_MENTION,
        "out_of_scope": PUBLIC_BODY_MENTION,
    }[kind]
    text = mention or default
    code = _VATEX_OF_MENTION.get(text)
    if kind == "franchise":
        code = "VATEX-FR-FRANCHISE"
    if code == "VATEX-EU-O":
        code = None  # an out-of-scope line in a mixed invoice: the text says why
    return Category("E", "0", code, text)
