"""Invoices and credit notes: gap-free numbers, French mentions, the SHA-256 chain, verification.

Issuing happens inside the transaction that confirms (or pays, or cancels) the booking: the
series counter row is locked (``FOR UPDATE``), the next number is taken, the content is built
with that number and sealed after the series' last hash (:mod:`billing.ledger`), and the
counter moves on. A rolled-back
transaction takes its number back with it, so numbers never have gaps. Documents are never
updated (triggers refuse it); a correction is a credit note.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from accounts.models import Organisation, User
from billing.accounting_repository import AccountingRepository
from billing.events import document_issued
from billing.invoice_periods import Period, french_date, hours_text, session_text
from billing.ledger import (
    GENESIS_HASH,
    StoredDocument,
    chain_hash,
    format_number,
    parse_number,
    verify_chain,
)
from billing.models import BillingDocument, DocumentSeries, Payment, PlaceBilling, PlanCharge
from billing.open_periods import ensure_open
from billing.pricing import VatBreakdownLine, VatKind, credit_breakdown
from billing.providers.base import METHODS
from billing.repository import BillingRepository
from booking.schemas import BookingRead
from resources.models import Place

TITLES = {"invoice": "Facture", "credit_note": "Avoir"}
LATE_PENALTIES = (
    "Pénalités de retard : trois fois le taux d'intérêt légal, exigibles dès le lendemain de "
    "la date d'échéance. Pas d'escompte pour paiement anticipé."
)
RECOVERY_INDEMNITY = (
    "Indemnité forfaitaire pour frais de recouvrement due par un professionnel en cas de "
    "retard de paiement : 40 € (art. L441-10 et D441-5 du code de commerce)."
)


def utc_text(instant: datetime) -> str:
    """An instant as canonical content writes it."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def credit_prefix(prefix: str) -> str:
    """The series prefix of credit notes (``F12`` -> ``F12-AV``)."""
    return f"{prefix}-AV"


def seller_of(place: Place, settings: PlaceBilling) -> dict[str, Any]:
    """The seller's identity as an invoice must state it."""
    siret = place.operator_siret
    return {
        "name": place.operator_name,
        "trade_name": place.name,
        "address": place.address,
        "postcode": place.postcode,
        "town": place.town,
        "siret": siret,
        "siren": siret[:9] if siret else None,
        "vat_number": settings.seller_vat_number,
        "legal_mention": settings.seller_legal_mention or None,
        "email": place.email,
    }


def buyer_of(user: User, organisation: Organisation | None) -> dict[str, Any]:
    """The buyer's identity: the organisation booked for, else the person."""
    if organisation is not None:
        return {
            "kind": "organisation",
            "name": organisation.name,
            "address": organisation.billing_address,
            "postcode": organisation.billing_postcode,
            "town": organisation.billing_town,
            "siret": organisation.siret,
            "siren": organisation.siren or (organisation.siret[:9] if organisation.siret else None),
            "vat_number": organisation.vat_number,
            "email": organisation.billing_email,
            "contact": user.display_name,
            # Chorus Pro's "code service" (EN 16931 BT-10), for a public buyer that has one.
            "service_code": organisation.chorus_service_code,
        }
    return {
        "kind": "person",
        "name": user.display_name,
        "address": None,
        "postcode": None,
        "town": None,
        "siret": None,
        "siren": None,
        "vat_number": None,
        "email": user.email,
        "contact": None,
    }


def _french_day(day: date | None) -> str:
    return f"{day:%d/%m/%Y}" if day is not None else ""


def _euros(cents: int) -> str:
    """``1234`` -> ``12,34 €`` (as terms are printed)."""
    return f"{cents // 100},{cents % 100:02d} €"


def _wallet_terms(wallet_cents: int, amount_cents: int, method_label: str) -> str:
    """What the wallet paid, said with the terms (a means of payment, not a discount)."""
    if not wallet_cents:
        return ""
    return f" Réglé par le porte-monnaie : {_euros(wallet_cents)}" + (
        f" ; par {method_label.lower()} : {_euros(amount_cents)}." if amount_cents else "."
    )


def _hours(minutes: int) -> str:
    value = Decimal(minutes) / 60
    return f"{value.quantize(Decimal('0.01'))}"


def lacks_vat_number(settings: PlaceBilling, vat_cents: int) -> bool:
    """Whether an invoice charging ``vat_cents`` of VAT would lack the seller's VAT number,
    which it must state (CGI art. 242 nonies A): a grouped invoice is not issued then."""
    return vat_cents > 0 and not settings.seller_vat_number


def breakdown_of(quote: dict[str, Any]) -> list[VatBreakdownLine]:
    """The stored quote's VAT breakdown as pure values."""
    return [
        VatBreakdownLine(VatKind(b["kind"]), Decimal(b["rate"]), b["base_cents"], b["vat_cents"])
        for b in quote["breakdown"]
    ]


def _breakdown_json(lines: list[VatBreakdownLine] | tuple[VatBreakdownLine, ...]) -> list[Any]:
    return [
        {
            "kind": b.kind.value,
            "rate": f"{b.rate:.2f}",
            "base_cents": b.base_cents,
            "vat_cents": b.vat_cents,
        }
        for b in lines
    ]


# How an invoice line says the time something other than money paid (its coverage).
COVERED = {"included": "incluse(s) dans l'adhésion", "pack": "prépayée(s)"}


def _covered_label(quote: dict[str, Any], index: int, label: str) -> str:
    """A line's label with the time its coverage paid: ``Imprimante 3D (dont 1 h incluse(s)
    dans l'adhésion)`` (the line's total is the rest's price)."""
    notes = [
        f"dont {hours_text(int(c['minutes']))} {COVERED.get(c['source'], c['source'])}"
        for c in quote.get("coverage", [])
        if c["line"] == index
    ]
    return f"{label} ({', '.join(notes)})" if notes else label


def invoice_lines(quote: dict[str, Any]) -> list[dict[str, Any]]:
    """Invoice lines from the quote that was charged."""
    return [
        {
            "label": _covered_label(quote, index, line["label"]),
            "quantity": line["quantity"],
            "minutes": line["minutes"],
            "hours": _hours(line["minutes"]),
            "hours_text": hours_text(line["minutes"]),
            "unit_price_excl_vat_cents": line["unit_price_cents"],
            "per_unit": line["per_unit"],
            "flat_fee_excl_vat_cents": line["flat_fee_cents"],
            "minimum_applied": line["minimum_applied"],
            "free": line["free"],
            "total_excl_vat_cents": line["total_excl_vat_cents"],
            "vat_kind": line["vat_kind"],
            "vat_rate": line["vat_rate"],
            "vat_cents": line["vat_cents"],
            "total_incl_vat_cents": line["total_incl_vat_cents"],
            "mention": line["mention"],
        }
        for index, line in enumerate(quote["lines"])
    ] + [
        # A discount (member, coupon) reduces the base of its VAT rate: a line of its own.
        {
            "label": adjustment["label"],
            "quantity": 1,
            "minutes": 0,
            "hours": "0.00",
            "hours_text": "-",
            "unit_price_excl_vat_cents": adjustment["total_excl_vat_cents"],
            "per_unit": False,
            "flat_fee_excl_vat_cents": 0,
            "minimum_applied": False,
            "free": False,
            "total_excl_vat_cents": adjustment["total_excl_vat_cents"],
            "vat_kind": adjustment["vat_kind"],
            "vat_rate": adjustment["vat_rate"],
            "vat_cents": adjustment["vat_cents"],
            "total_incl_vat_cents": adjustment["total_incl_vat_cents"],
            "mention": None,
            "adjustment": adjustment["kind"],
        }
        for adjustment in quote.get("adjustments", [])
    ]


def credit_lines(
    basis: dict[str, Any],
    credited: list[VatBreakdownLine] | tuple[VatBreakdownLine, ...],
    label: str,
    *,
    whole: bool,
) -> list[dict[str, Any]]:
    """A credit note's lines: the credited invoice's (or session's) own when all of it is
    credited, else one line per VAT regime and rate of the share credited."""
    if whole:
        return list(basis["lines"])
    return [
        {
            "label": label,
            "quantity": 1,
            "minutes": 0,
            "hours": "0.00",
            "hours_text": "",
            "unit_price_excl_vat_cents": entry.base_cents,
            "per_unit": False,
            "flat_fee_excl_vat_cents": 0,
            "minimum_applied": False,
            "free": False,
            "total_excl_vat_cents": entry.base_cents,
            "vat_kind": entry.kind.value,
            "vat_rate": f"{entry.rate:.2f}",
            "vat_cents": entry.vat_cents,
            "total_incl_vat_cents": entry.base_cents + entry.vat_cents,
            "mention": None,
        }
        for entry in credited
        if entry.base_cents + entry.vat_cents
    ]


@dataclass(frozen=True, slots=True)
class Subject:
    """What a document bills: a booking's payment, or a membership's plan charge."""

    booking_id: int | None = None
    payment_id: int | None = None
    plan_charge_id: int | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """Who sells and who buys, with the booking the document is about."""

    place: Place
    settings: PlaceBilling
    buyer: User
    organisation: Organisation | None
    booking: BookingRead


class DocumentService:
    """Issues, reads and verifies invoices and credit notes."""

    def __init__(self, repository: BillingRepository) -> None:
        self.repo = repository

    async def _issue(
        self,
        *,
        kind: str,
        party: Party,
        payment: Payment,
        now: datetime,
        body: dict[str, Any],
        corrects: BillingDocument | None = None,
    ) -> BillingDocument:
        assert payment.id is not None
        tz = ZoneInfo(party.place.timezone)
        booking = party.booking
        local_start = booking.starts_at.astimezone(tz)
        local_end = booking.ends_at.astimezone(tz)
        booking_block: dict[str, Any] | None = {
            "id": booking.id,
            "reference": booking.reference,
            "starts_at": utc_text(booking.starts_at),
            "ends_at": utc_text(booking.ends_at),
            "local_start": local_start.strftime("%Y-%m-%d %H:%M"),
            "local_end": local_end.strftime("%Y-%m-%d %H:%M"),
            "timezone": tz.key,
        }
        service_date: str | None = local_start.date().isoformat()
        if "sessions" in body:
            # A grouped invoice: its sessions and period say what and when, not one booking.
            booking_block = service_date = None
        return await self._seal(
            kind=kind,
            seller=(party.place, party.settings),
            buyer=(party.buyer, party.organisation),
            subject=Subject(booking_id=booking.id, payment_id=payment.id),
            currency=payment.currency,
            about={"booking": booking_block, "service_date": service_date},
            now=now,
            body=body,
            corrects=corrects,
        )

    async def _seal(
        self,
        *,
        kind: str,
        seller: tuple[Place, PlaceBilling],
        buyer: tuple[User, Organisation | None],
        subject: Subject,
        currency: str,
        about: dict[str, Any],
        now: datetime,
        body: dict[str, Any],
        corrects: BillingDocument | None = None,
    ) -> BillingDocument:
        """Number ``body`` in the place's series of ``kind``, seal it after the series' last
        hash and store it: the one way every document is issued."""
        place, settings = seller
        user, organisation = buyer
        assert place.id is not None
        tz = ZoneInfo(place.timezone)
        issued_on = now.astimezone(tz).date()
        prefix = settings.invoice_prefix
        if kind == "credit_note":
            prefix = credit_prefix(prefix)
        previous_year = await self.repo.last_series_before(place.id, kind, issued_on.year)
        genesis = previous_year.last_hash if previous_year is not None else GENESIS_HASH
        series = await self.repo.lock_series(place.id, kind, issued_on.year, prefix, genesis)
        assert series.id is not None
        # Every issuing path (invoices, grouped invoices, credit notes, memberships) passes here.
        await ensure_open(AccountingRepository(self.repo.session), place.id, issued_on)
        sequence = series.last_sequence + 1
        number = format_number(series.prefix, series.year, sequence)
        content: dict[str, Any] = {
            "type": kind,
            "title": TITLES[kind],
            "number": number,
            "issued_on": issued_on.isoformat(),
            "issued_at": utc_text(now),
            "currency": currency,
            "operation_category": "Prestation de services",
            "seller": seller_of(place, settings),
            "buyer": buyer_of(user, organisation),
            **about,
            "corrects": (
                {
                    "number": corrects.number,
                    "issued_on": corrects.content.get("issued_on"),
                }
                if corrects is not None
                else None
            ),
            **body,
        }
        document_hash = chain_hash(series.last_hash, content)
        document = BillingDocument(
            series_id=series.id,
            place_id=place.id,
            kind=kind,
            number=number,
            sequence=sequence,
            issued_at=now,
            booking_id=subject.booking_id,
            payment_id=subject.payment_id,
            plan_charge_id=subject.plan_charge_id,
            buyer_user_id=user.id or 0,
            organisation_id=organisation.id if organisation is not None else None,
            corrects_id=corrects.id if corrects is not None else None,
            total_incl_vat_cents=int(body["total_incl_vat_cents"]),
            content=content,
            previous_hash=series.last_hash,
            hash=document_hash,
        )
        series.last_sequence = sequence
        series.last_hash = document_hash
        await self.repo.add(document, series)
        await document_issued(self.repo.session, document)
        return document

    async def issue_plan_invoice(
        self,
        seller: tuple[Place, PlaceBilling],
        buyer: tuple[User, Organisation | None],
        charge: PlanCharge,
        membership: dict[str, Any],
        now: datetime,
        *,
        what: str = "membership",
    ) -> BillingDocument:
        """Invoice one period of a membership (or, ``what`` "pack", a pack of prepaid hours:
        ``membership`` then describes the pack) at the price its charge recorded."""
        about = {"booking": None, what: membership, "service_date": membership["first_day"]}
        return await self.issue_charge_invoice(seller, buyer, charge, about, now)

    async def issue_charge_invoice(
        self,
        seller: tuple[Place, PlaceBilling],
        buyer: tuple[User, Organisation | None],
        charge: PlanCharge,
        about: dict[str, Any],
        now: datetime,
    ) -> BillingDocument:
        """Invoice a charge (a membership's period, a session's ticket) at the price it
        recorded; ``about`` says what it is for."""
        assert charge.id is not None
        place = seller[0]
        tz = ZoneInfo(place.timezone)
        quote = charge.quote
        method = METHODS[charge.method]
        terms = (
            f"Payée le {charge.paid_at.astimezone(tz):%d/%m/%Y} ({method.label_fr})."
            if charge.paid_at is not None
            else f"À payer au plus tard le {_french_day(charge.due_on)} ({method.label_fr})."
        ) + _wallet_terms(charge.wallet_cents, charge.amount_cents, method.label_fr)
        body = {
            "lines": invoice_lines(quote),
            "vat_breakdown": quote["breakdown"],
            "total_excl_vat_cents": quote["total_excl_vat_cents"],
            "total_vat_cents": quote["total_vat_cents"],
            "total_incl_vat_cents": quote["total_incl_vat_cents"],
            "mentions": quote.get("mentions", []),
            "payment": {
                "method": charge.method,
                "method_label": method.label_fr,
                "status": "paid" if charge.paid_at is not None else "due",
                "paid_on": (
                    charge.paid_at.astimezone(tz).date().isoformat()
                    if charge.paid_at is not None
                    else None
                ),
                "due_on": charge.due_on.isoformat() if charge.due_on is not None else None,
                "purchase_order": charge.purchase_order,
                "wallet_cents": charge.wallet_cents,
                "terms": terms,
                "late_penalties": LATE_PENALTIES,
                "recovery_indemnity": RECOVERY_INDEMNITY if buyer[1] is not None else None,
            },
            "reason": None,
        }
        return await self._seal(
            kind="invoice",
            seller=seller,
            buyer=buyer,
            subject=Subject(plan_charge_id=charge.id),
            currency=charge.currency,
            about=about,
            now=now,
            body=body,
        )

    async def issue_charge_credit_note(
        self,
        seller: tuple[Place, PlaceBilling],
        buyer: tuple[User, Organisation | None],
        charge: PlanCharge,
        invoice: BillingDocument,
        amount_incl_cents: int,
        reason: str,
        now: datetime,
    ) -> BillingDocument:
        """Credit ``amount_incl_cents`` of a charge's invoice (all of it, or a share per rate)."""
        basis = invoice.content
        credited = credit_breakdown(
            breakdown_of({"breakdown": basis["vat_breakdown"]}), amount_incl_cents
        )
        whole = amount_incl_cents == int(basis["total_incl_vat_cents"])
        lines = credit_lines(
            basis, credited, f"Remboursement partiel de la facture {invoice.number}", whole=whole
        )
        body = {
            "lines": lines,
            "vat_breakdown": _breakdown_json(credited),
            "total_excl_vat_cents": sum(b.base_cents for b in credited),
            "total_vat_cents": sum(b.vat_cents for b in credited),
            "total_incl_vat_cents": amount_incl_cents,
            "mentions": basis.get("mentions", []),
            "payment": {
                "method": charge.method,
                "method_label": METHODS[charge.method].label_fr,
                "status": "credit",
                "paid_on": None,
                "due_on": None,
                "purchase_order": charge.purchase_order,
                "terms": (
                    "Remboursé sur la carte de paiement."
                    if charge.method == "card"
                    else "Vient en déduction du montant dû, ou remboursé par le lieu."
                ),
                "late_penalties": None,
                "recovery_indemnity": None,
            },
            "reason": reason,
        }
        about = {
            key: basis.get(key)
            for key in ("booking", "membership", "pack", "ticket", "service_date")
        }
        return await self._seal(
            kind="credit_note",
            seller=seller,
            buyer=buyer,
            subject=Subject(plan_charge_id=charge.id),
            currency=charge.currency,
            about={k: v for k, v in about.items() if v is not None or k == "booking"},
            now=now,
            body=body,
            corrects=invoice,
        )

    async def issue_invoice(self, party: Party, payment: Payment, now: datetime) -> BillingDocument:
        """Invoice a booking at the price of its payment's quote."""
        quote = payment.quote
        method = METHODS[payment.method]
        paid = payment.paid_at is not None
        # Dates in French format (05/01/2027): the terms are prose, stored as printed.
        terms = (
            f"Payée le {payment.paid_at.astimezone(ZoneInfo(party.place.timezone)):%d/%m/%Y} "
            f"({method.label_fr})."
            if payment.paid_at is not None
            else f"À payer au plus tard le {_french_day(payment.due_on)} ({method.label_fr})."
        )
        terms += _wallet_terms(payment.wallet_cents, payment.amount_cents, method.label_fr)
        body = {
            "lines": invoice_lines(quote),
            "vat_breakdown": quote["breakdown"],
            "total_excl_vat_cents": quote["total_excl_vat_cents"],
            "total_vat_cents": quote["total_vat_cents"],
            "total_incl_vat_cents": quote["total_incl_vat_cents"],
            "mentions": quote.get("mentions", []),
            "payment": {
                "method": payment.method,
                "method_label": method.label_fr,
                "status": "paid" if paid else "due",
                "paid_on": (
                    payment.paid_at.astimezone(ZoneInfo(party.place.timezone)).date().isoformat()
                    if payment.paid_at is not None
                    else None
                ),
                "due_on": payment.due_on.isoformat() if payment.due_on is not None else None,
                "purchase_order": payment.purchase_order,
                "wallet_cents": payment.wallet_cents,
                "terms": terms,
                "late_penalties": LATE_PENALTIES,
                "recovery_indemnity": (
                    RECOVERY_INDEMNITY if party.organisation is not None else None
                ),
            },
            "reason": None,
        }
        return await self._issue(kind="invoice", party=party, payment=payment, now=now, body=body)

    async def issue_grouped_invoice(
        self,
        party: Party,
        billed: list[tuple[Payment, BookingRead]],
        period: Period,
        now: datetime,
        due_on: date,
    ) -> BillingDocument:
        """One invoice for several sessions of one buyer and purchase order over ``period``:
        a block of lines per session, named by its French date, the VAT summed per rate."""
        tz = ZoneInfo(party.place.timezone)
        sessions: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        vat: dict[tuple[str, str], list[int]] = {}
        for payment, booking in billed:
            quote = payment.quote
            text = session_text(booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz))
            own = [
                {**line, "label": f"{text} — {line['label']}", "session": len(sessions)}
                for line in invoice_lines(quote)
            ]
            lines += own
            for entry in quote["breakdown"]:
                sums = vat.setdefault((entry["kind"], entry["rate"]), [0, 0])
                sums[0] += int(entry["base_cents"])
                sums[1] += int(entry["vat_cents"])
            sessions.append(
                {
                    "booking_id": booking.id,
                    "reference": booking.reference,
                    "payment_id": payment.id,
                    "starts_at": utc_text(booking.starts_at),
                    "ends_at": utc_text(booking.ends_at),
                    "text": text,
                    "lines": own,
                    "vat_breakdown": quote["breakdown"],
                    "total_excl_vat_cents": quote["total_excl_vat_cents"],
                    "total_vat_cents": quote["total_vat_cents"],
                    "total_incl_vat_cents": quote["total_incl_vat_cents"],
                }
            )
        first = billed[0][0]
        method = METHODS[first.method]
        breakdown = [
            {"kind": kind, "rate": rate, "base_cents": base, "vat_cents": tax}
            for (kind, rate), (base, tax) in sorted(vat.items())
        ]
        mentions: list[str] = []
        for payment, _ in billed:
            mentions += [m for m in payment.quote.get("mentions", []) if m not in mentions]
        body = {
            "period": {
                "key": period.key,
                "label": period.label,
                "first": period.first.isoformat(),
                "last": period.last.isoformat(),
                "first_text": french_date(period.first),
                "last_text": french_date(period.last),
                "timezone": tz.key,
            },
            "sessions": sessions,
            "lines": lines,
            "vat_breakdown": breakdown,
            "total_excl_vat_cents": sum(int(s["total_excl_vat_cents"]) for s in sessions),
            "total_vat_cents": sum(int(s["total_vat_cents"]) for s in sessions),
            "total_incl_vat_cents": sum(int(s["total_incl_vat_cents"]) for s in sessions),
            "mentions": mentions,
            "payment": {
                "method": first.method,
                "method_label": method.label_fr,
                "status": "due",
                "paid_on": None,
                "due_on": due_on.isoformat(),
                "purchase_order": first.purchase_order,
                "terms": f"À payer au plus tard le {_french_day(due_on)} ({method.label_fr}).",
                "late_penalties": LATE_PENALTIES,
                "recovery_indemnity": (
                    RECOVERY_INDEMNITY if party.organisation is not None else None
                ),
            },
            "reason": None,
        }
        return await self._issue(kind="invoice", party=party, payment=first, now=now, body=body)

    async def issue_credit_note(
        self,
        party: Party,
        payment: Payment,
        invoice: BillingDocument,
        amount_incl_cents: int,
        reason: str,
        now: datetime,
    ) -> BillingDocument:
        """Credit ``amount_incl_cents`` of an invoice (the whole of it, or a share per VAT rate)."""
        session = session_of(invoice, payment.id)
        basis = session if session is not None else invoice.content
        invoiced = breakdown_of({"breakdown": basis["vat_breakdown"]})
        credited = credit_breakdown(invoiced, amount_incl_cents)
        whole = amount_incl_cents == int(basis["total_incl_vat_cents"])
        partial = (
            f"Remboursement partiel de la séance du {session['text']}"
            if session is not None
            else f"Remboursement partiel de la facture {invoice.number}"
        )
        lines = credit_lines(basis, credited, partial, whole=whole)
        body = {
            "lines": lines,
            "vat_breakdown": _breakdown_json(credited),
            "total_excl_vat_cents": sum(b.base_cents for b in credited),
            "total_vat_cents": sum(b.vat_cents for b in credited),
            "total_incl_vat_cents": amount_incl_cents,
            "mentions": invoice.content.get("mentions", []),
            "payment": {
                "method": payment.method,
                "method_label": METHODS[payment.method].label_fr,
                "status": "credit",
                "paid_on": None,
                "due_on": None,
                "purchase_order": payment.purchase_order,
                "terms": (
                    "Remboursé sur la carte de paiement."
                    if payment.method == "card"
                    else "Vient en déduction du montant dû, ou remboursé par le lieu."
                ),
                "late_penalties": None,
                "recovery_indemnity": None,
            },
            "reason": reason,
        }
        return await self._issue(
            kind="credit_note", party=party, payment=payment, now=now, body=body, corrects=invoice
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong in the stored documents, naming the document."""

    place_id: int
    series: str
    number: str
    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.number} ({self.series}, place {self.place_id}): {self.code}: {self.detail}"


def _series_name(series: DocumentSeries) -> str:
    return f"{series.kind} {series.prefix}-{series.year}"


async def verify_documents(repo: BillingRepository, place_id: int | None = None) -> list[Finding]:
    """Recompute every chain and check each row against its content; [] means intact."""
    findings: list[Finding] = []
    for series in await repo.all_series(place_id):
        assert series.id is not None
        name = _series_name(series)
        documents = await repo.documents_of_series(series.id)
        stored = [StoredDocument(d.number, d.content, d.previous_hash, d.hash) for d in documents]
        for problem in verify_chain(
            stored, prefix=series.prefix, year=series.year, previous_hash=series.genesis_hash
        ):
            findings.append(
                Finding(series.place_id, name, problem.number, problem.code.value, problem.detail)
            )
        for document in documents:
            content = document.content if isinstance(document.content, dict) else {}
            checks = {
                "kind": (document.kind, content.get("type")),
                "total_incl_vat_cents": (
                    document.total_incl_vat_cents,
                    content.get("total_incl_vat_cents"),
                ),
                "booking": (document.booking_id, sealed_booking_id(content)),
            }
            with contextlib.suppress(ValueError):
                checks["sequence"] = (document.sequence, parse_number(document.number).sequence)
            if content.get("sessions") is not None and document.id is not None:
                # A grouped invoice: the rows saying what it bills match its sealed sessions.
                checks["sessions"] = (
                    [
                        (line.booking_id, line.payment_id, line.total_incl_vat_cents)
                        for line in await repo.lines_of(document.id)
                    ],
                    [
                        (s.get("booking_id"), s.get("payment_id"), s.get("total_incl_vat_cents"))
                        for s in content["sessions"]
                    ],
                )
            for field, (column, written) in checks.items():
                if column != written:
                    findings.append(
                        Finding(
                            series.place_id,
                            name,
                            document.number,
                            "row_mismatch",
                            f"column {field} is {column!r} but the sealed content says {written!r}",
                        )
                    )
        last = documents[-1] if documents else None
        if series.last_sequence != (last.sequence if last else 0) or series.last_hash != (
            last.hash if last else series.genesis_hash
        ):
            findings.append(
                Finding(
                    series.place_id,
                    name,
                    last.number if last else f"{series.prefix}-{series.year}",
                    "series_mismatch",
                    f"the counter says {series.last_sequence} issued ending with hash "
                    f"{series.last_hash[:12]}…, the documents end at "
                    f"{last.sequence if last else 0}: documents were removed or added",
                )
            )
    return findings


def sealed_booking_id(content: dict[str, Any]) -> Any:
    """The booking a document's content names: its own, or a grouped invoice's first
    session's."""
    if content.get("booking"):
        return content["booking"].get("id")
    sessions = content.get("sessions") or [{}]
    return sessions[0].get("booking_id")


def session_of(document: BillingDocument, payment_id: int | None) -> dict[str, Any] | None:
    """The session of a grouped invoice that bills ``payment_id`` (None: not grouped)."""
    for session in document.content.get("sessions") or []:
        if session.get("payment_id") == payment_id:
            return dict(session)
    return None


def document_date(document: BillingDocument) -> date:
    """The issue date written on a document."""
    return date.fromisoformat(str(document.content["issued_on"]))
