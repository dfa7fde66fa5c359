"""The FEC (fichier des écritures comptables, LPF art. A47 A-1) of a place from its ledger (no I/O).

Sales journal ``VE``: one entry per invoice (customer debited incl. VAT, sales and VAT per rate
credited) and per credit note (the reverse), dated on its issue day. Receipts journals, one per
means: ``BQ`` (card, card terminal, transfer: the bank), ``CA`` (cash), ``CH`` (cheques): one
entry per amount received (bank or cash debited, customer credited) or given back (the
reverse), dated on the day the money moved; a wallet top-up paid by card is a bank receipt
credited to customers' advances (4191), not to the customer's account. Miscellaneous journal
``OD``: the wallet's other movements — spent on a booking (advances debited, customer credited),
given back or credited by a refund (the reverse), credited by the place as a gift (an expense
debited, advances credited). Each entry balances; entries are numbered 1, 2, …
per journal in date order, with no gap; the file lists them in chronological order. The
customers' account carries an auxiliary account per buyer (an organisation, else a person), so
the accountant can letter invoices with receipts.

Format: the 18 legal columns in order under a header line, separated by tabs, dates
``YYYYMMDD``, amounts with a comma and two decimals and no thousands separator, one side of
each line ``0,00``; text fields lose tabs and line breaks. The file is encoded in ISO 8859-15
(one of the encodings the administration names; it covers French, with ``€`` and ``œ``), a
character outside it written ``?``. Its name is ``<SIREN>FEC<closing day>.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
SEPARATOR = "\t"
ENCODING = "iso8859_15"
SALES = ("VE", "Ventes")
TRANSFERS = ("OD", "Opérations diverses")
JOURNALS = {"bank": ("BQ", "Banque"), "cash": ("CA", "Caisse"), "cheque": ("CH", "Chèques")}
# How each way of paying reaches the accounts: which receipts journal and account.
MEANS_JOURNAL = {
    "card": "bank",
    "card_terminal": "bank",
    "transfer": "bank",
    "cash": "cash",
    "cheque": "cheque",
}
ACCOUNT_KEYS = ("sales", "customers", "bank", "cash", "cheque", "vat", "wallet", "wallet_gifts")
# Accounts that carry the buyer's auxiliary account.
CUSTOMER_ACCOUNTS = ("customers", "wallet")
DEFAULT_ACCOUNTS: dict[str, str] = {
    "sales": "706",
    "customers": "411",
    "bank": "512",
    "cash": "530",
    "cheque": "5112",
    # VAT collected at a rate not listed in ``vat_rates``.
    "vat": "4457",
    # Wallets: money held for customers (advances received), and what places give.
    "wallet": "4191",
    "wallet_gifts": "6718",
}
DEFAULT_VAT_RATES: dict[str, str] = {
    "20.00": "445710",
    "10.00": "445712",
    "5.50": "445713",
    "2.10": "445714",
}
ACCOUNT_LABELS = {
    "sales": "Prestations de services",
    "customers": "Clients",
    "bank": "Banque",
    "cash": "Caisse",
    "cheque": "Chèques à encaisser",
    "vat": "TVA collectée",
    "wallet": "Clients - avances reçues (porte-monnaie)",
    "wallet_gifts": "Crédits de porte-monnaie offerts",
}
ACCOUNT_RE = re.compile(r"[0-9][0-9A-Z]{2,19}")
_UNSAFE_TEXT = re.compile(r"[\t\r\n|]+")


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """The account numbers a place books to (the defaults of the French chart of accounts)."""

    accounts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ACCOUNTS))
    vat_rates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VAT_RATES))

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> AccountPlan:
        """The plan from a place's stored mapping, the defaults filling what it leaves out."""
        stored = stored or {}
        accounts = {**DEFAULT_ACCOUNTS, **dict(stored.get("accounts") or {})}
        rates = {**DEFAULT_VAT_RATES, **dict(stored.get("vat_rates") or {})}
        return cls(accounts, rates)

    def vat_account(self, rate: str) -> str:
        """The VAT collected account of a rate (``"20.00"``)."""
        return self.vat_rates.get(rate, self.accounts["vat"])


@dataclass(frozen=True, slots=True)
class Customer:
    """A buyer as the customers' auxiliary ledger names it."""

    code: str
    name: str


def customer(organisation_id: int | None, user_id: int, name: str) -> Customer:
    """The auxiliary account of a buyer: ``O`` + organisation id, else ``P`` + person id."""
    if organisation_id is not None:
        return Customer(f"O{organisation_id:06d}", name)
    return Customer(f"P{user_id:06d}", name)


@dataclass(frozen=True, slots=True)
class VatShare:
    """What a document bills at one VAT rate."""

    rate: str
    base_cents: int
    vat_cents: int


@dataclass(frozen=True, slots=True)
class SaleDocument:
    """An issued invoice or credit note, as the sales journal books it."""

    number: str
    kind: str  # invoice | credit_note
    issued_on: date
    customer: Customer
    shares: tuple[VatShare, ...]
    total_incl_vat_cents: int


@dataclass(frozen=True, slots=True)
class MoneyMove:
    """Money received (positive) or given back (negative) for a customer, by one means."""

    means: str
    day: date
    amount_cents: int
    customer: Customer
    reference: str
    label: str
    order: int = 0  # ties on one day keep the order the money was recorded in
    # The account the money settles: the customer's, or their advances (a wallet top-up).
    counter: str = "customers"


@dataclass(frozen=True, slots=True)
class Transfer:
    """A movement between accounts with no money moving (a wallet spent, given back, given):
    ``debit`` and ``credit`` are account keys."""

    day: date
    debit: str
    credit: str
    amount_cents: int
    customer: Customer
    reference: str
    label: str
    order: int = 0


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the FEC."""

    journal: str
    journal_label: str
    entry: int
    day: date
    account: str
    account_label: str
    aux: str
    aux_label: str
    piece: str
    piece_day: date
    label: str
    debit_cents: int
    credit_cents: int

    def cells(self) -> tuple[str, ...]:
        """The 18 columns as written."""
        return (
            self.journal,
            self.journal_label,
            f"{self.journal}{self.entry:06d}",
            ymd(self.day),
            self.account,
            self.account_label,
            self.aux,
            self.aux_label,
            self.piece,
            ymd(self.piece_day),
            self.label,
            amount(self.debit_cents),
            amount(self.credit_cents),
            "",
            "",
            ymd(self.day),
            "",
            "",
        )


def ymd(day: date) -> str:
    """A date as the FEC writes it (``20270301``)."""
    return f"{day:%Y%m%d}"


def amount(cents: int) -> str:
    """Cents as the FEC writes them: ``123456`` -> ``1234,56``."""
    if cents < 0:
        raise ValueError("a FEC amount is never negative: the other side is used")
    euros, rest = divmod(cents, 100)
    return f"{euros},{rest:02d}"


def clean(text: str) -> str:
    """A text cell: no separator, tab or line break inside it, spaces collapsed."""
    return " ".join(_UNSAFE_TEXT.sub(" ", text).split())


def file_name(siren: str, closing_day: date) -> str:
    """``<SIREN>FEC<YYYYMMDD>.txt``, the day being the last of the period."""
    if not re.fullmatch(r"[0-9]{9}", siren):
        raise ValueError(f"a SIREN is nine digits, got {siren!r}")
    return f"{siren}FEC{ymd(closing_day)}.txt"


def _sale_lines(document: SaleDocument, plan: AccountPlan, entry: int) -> list[Line]:
    credit_note = document.kind == "credit_note"
    title = "Avoir" if credit_note else "Facture"
    label = clean(f"{title} {document.number} {document.customer.name}")[:200]

    def line(account: str, account_label: str, cents: int, *, debit: bool, aux: bool) -> Line:
        # A credit note books every line on the other side.
        on_debit = debit != credit_note
        return Line(
            SALES[0],
            SALES[1],
            entry,
            document.issued_on,
            account,
            account_label,
            document.customer.code if aux else "",
            clean(document.customer.name) if aux else "",
            document.number,
            document.issued_on,
            label,
            cents if on_debit else 0,
            0 if on_debit else cents,
        )

    total = sum(share.base_cents + share.vat_cents for share in document.shares)
    if total != document.total_incl_vat_cents:
        raise ValueError(
            f"{document.number}: its VAT breakdown sums to {total} cents, its total is "
            f"{document.total_incl_vat_cents}"
        )
    accounts = plan.accounts
    lines = [line(accounts["customers"], ACCOUNT_LABELS["customers"], total, debit=True, aux=True)]
    sales: dict[str, int] = {}
    for share in document.shares:
        sales[share.rate] = sales.get(share.rate, 0) + share.base_cents
    for rate, base in sorted(sales.items()):
        if base:
            lines.append(
                line(
                    accounts["sales"],
                    f"{ACCOUNT_LABELS['sales']} {_rate_text(rate)}",
                    base,
                    debit=False,
                    aux=False,
                )
            )
    vat: dict[str, int] = {}
    for share in document.shares:
        if share.vat_cents:
            account = plan.vat_account(share.rate)
            vat[account] = vat.get(account, 0) + share.vat_cents
    for account, cents in sorted(vat.items()):
        lines.append(line(account, ACCOUNT_LABELS["vat"], cents, debit=False, aux=False))
    return lines


def _rate_text(rate: str) -> str:
    value = Decimal(rate).normalize()
    return f"TVA {value:f} %".replace(".", ",") if value else "sans TVA"


def _money_lines(move: MoneyMove, plan: AccountPlan, entry: int) -> list[Line]:
    journal = MEANS_JOURNAL[move.means]
    code, journal_label = JOURNALS[journal]
    received = move.amount_cents > 0
    cents = abs(move.amount_cents)
    label = clean(move.label)[:200]
    treasury = Line(
        code,
        journal_label,
        entry,
        move.day,
        plan.accounts[journal],
        ACCOUNT_LABELS[journal],
        "",
        "",
        clean(move.reference),
        move.day,
        label,
        cents if received else 0,
        0 if received else cents,
    )
    customers = Line(
        code,
        journal_label,
        entry,
        move.day,
        plan.accounts[move.counter],
        ACCOUNT_LABELS[move.counter],
        move.customer.code,
        clean(move.customer.name),
        clean(move.reference),
        move.day,
        label,
        0 if received else cents,
        cents if received else 0,
    )
    return [treasury, customers]


def _transfer_lines(move: Transfer, plan: AccountPlan, entry: int) -> list[Line]:
    if move.amount_cents <= 0:
        raise ValueError("a transfer moves a positive amount from its credit to its debit")
    label = clean(move.label)[:200]

    def line(key: str, debit: bool) -> Line:
        aux = key in CUSTOMER_ACCOUNTS
        return Line(
            TRANSFERS[0],
            TRANSFERS[1],
            entry,
            move.day,
            plan.accounts[key],
            ACCOUNT_LABELS[key],
            move.customer.code if aux else "",
            clean(move.customer.name) if aux else "",
            clean(move.reference),
            move.day,
            label,
            move.amount_cents if debit else 0,
            0 if debit else move.amount_cents,
        )

    return [line(move.debit, True), line(move.credit, False)]


def entries(
    documents: Iterable[SaleDocument],
    moves: Iterable[MoneyMove],
    plan: AccountPlan,
    transfers: Iterable[Transfer] = (),
) -> list[Line]:
    """Every line of the period in chronological order (of validation, which is the entry's
    day), each journal's entries numbered from 1 in that order."""
    lines: list[Line] = []
    ordered = sorted(documents, key=lambda d: (d.issued_on, d.kind, d.number))
    for entry, document in enumerate(ordered, start=1):
        lines += _sale_lines(document, plan, entry)
    by_journal: dict[str, list[MoneyMove]] = {}
    for move in moves:
        if move.amount_cents:
            by_journal.setdefault(MEANS_JOURNAL[move.means], []).append(move)
    for journal in JOURNALS:
        chosen = sorted(by_journal.get(journal, []), key=lambda m: (m.day, m.order))
        for entry, move in enumerate(chosen, start=1):
            lines += _money_lines(move, plan, entry)
    chosen_transfers = sorted(transfers, key=lambda t: (t.day, t.order))
    for entry, transfer in enumerate(chosen_transfers, start=1):
        lines += _transfer_lines(transfer, plan, entry)
    # Stable: the lines of an entry stay together and in their order.
    order = [SALES[0], *(code for code, _ in JOURNALS.values()), TRANSFERS[0]]
    return sorted(lines, key=lambda line: (line.day, order.index(line.journal), line.entry))


def render(lines: Sequence[Line]) -> bytes:
    """The FEC file: the header line, then one line per booking line, CRLF-terminated."""
    rows = [SEPARATOR.join(COLUMNS)]
    rows += [SEPARATOR.join(line.cells()) for line in lines]
    return ("\r\n".join(rows) + "\r\n").encode(ENCODING, errors="replace")
