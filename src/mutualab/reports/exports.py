"""The rows of a place's exports: bookings, people, invoices and credit notes, payments.

Every statement is bound to one place (``place_id``): a manager's export never holds another
place's rows. Dates are the place's local ones; amounts are cents, written in euros.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.models import PAID
from mutualab.reports.facts import UNBILLED
from mutualab.reports.sheets import Cell, Sheet, euros, hours

Dataset = Literal["bookings", "people", "invoices", "payments"]
DATASETS: tuple[Dataset, ...] = ("bookings", "people", "invoices", "payments")


_BOOKINGS = text("""
SELECT b.reference, b.starts_at, b.ends_at, b.status, b.user_type_code, u.display_name,
       u.email, o.name AS organisation,
       (SELECT string_agg(r.name || ' x ' || i.quantity, ', ' ORDER BY i.id)
          FROM booking_item i JOIN resource r ON r.id = i.resource_id
         WHERE i.booking_id = b.id) AS resources,
       pay.method, pay.status AS payment_status, pay.amount_cents, pay.refunded_cents,
       pay.purchase_order, b.created_at
FROM booking b JOIN place p ON p.id = b.place_id
JOIN user_account u ON u.id = b.booker_user_id
LEFT JOIN organisation o ON o.id = b.organisation_id
LEFT JOIN payment pay ON pay.booking_id = b.id
WHERE b.place_id = :place_id
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) >= :start
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) < :end
ORDER BY b.starts_at, b.id
""")

_PEOPLE = text("""
SELECT u.display_name, u.email, u.user_type_code,
       count(*) FILTER (WHERE b.status = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE b.status = 'cancelled') AS cancelled,
       COALESCE(sum(EXTRACT(EPOCH FROM b.ends_at - b.starts_at) / 60)
                FILTER (WHERE b.status = 'confirmed'), 0) AS minutes,
       min(b.starts_at) AS first_start, max(b.starts_at) AS last_start
FROM booking b JOIN place p ON p.id = b.place_id
JOIN user_account u ON u.id = b.booker_user_id
WHERE b.place_id = :place_id
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) >= :start
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) < :end
GROUP BY u.id, u.display_name, u.email, u.user_type_code
ORDER BY u.display_name, u.id
""")

_INVOICES = text("""
SELECT d.number, d.kind, d.issued_at, corrected.number AS corrects,
       COALESCE(o.name, u.display_name) AS client, u.email,
       COALESCE(b.reference, d.content -> 'membership' ->> 'plan', d.content -> 'pack' ->> 'name')
         AS reference,
       d.total_incl_vat_cents, pay.method, pay.status AS payment_status, pay.due_on,
       pay.purchase_order, pay.paid_at
FROM billing_document d JOIN place p ON p.id = d.place_id
LEFT JOIN booking b ON b.id = d.booking_id
LEFT JOIN payment bp ON bp.id = d.payment_id
LEFT JOIN plan_charge pc ON pc.id = d.plan_charge_id
-- A document bills a booking's payment or a membership period's charge (migration 0038).
CROSS JOIN LATERAL (
  SELECT COALESCE(bp.method, pc.method) AS method, COALESCE(bp.status, pc.status) AS status,
         COALESCE(bp.due_on, pc.due_on) AS due_on,
         COALESCE(bp.purchase_order, pc.purchase_order) AS purchase_order,
         COALESCE(bp.paid_at, pc.paid_at) AS paid_at
) pay
JOIN user_account u ON u.id = d.buyer_user_id
LEFT JOIN organisation o ON o.id = d.organisation_id
LEFT JOIN billing_document corrected ON corrected.id = d.corrects_id
WHERE d.place_id = :place_id
  AND CAST(d.issued_at AT TIME ZONE p.timezone AS date) >= :start
  AND CAST(d.issued_at AT TIME ZONE p.timezone AS date) < :end
ORDER BY d.issued_at, d.id
""")

_PAYMENTS = text("""
SELECT b.reference, b.starts_at, COALESCE(o.name, u.display_name) AS payer, pay.user_type_code,
       pay.method, pay.on_site_means, pay.status, pay.amount_cents, pay.refunded_cents,
       pay.due_on, pay.purchase_order, pay.paid_at, pay.created_at
FROM payment pay JOIN booking b ON b.id = pay.booking_id JOIN place p ON p.id = b.place_id
JOIN user_account u ON u.id = pay.payer_user_id
LEFT JOIN organisation o ON o.id = pay.organisation_id
WHERE b.place_id = :place_id
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) >= :start
  AND CAST(b.starts_at AT TIME ZONE p.timezone AS date) < :end
ORDER BY b.starts_at, pay.id
""")

BOOKING_STATUS = {
    "held": "En attente de paiement",
    "pending_approval": "À valider",
    "confirmed": "Confirmée",
    "cancelled": "Annulée",
    "refused": "Refusée",
    "expired": "Expirée",
    "no_show": "Absent (non pointé)",
}
PAYMENT_STATUS = {
    "pending": "En attente",
    "requires_action": "Action requise",
    "processing": "En cours",
    "failed": "Échoué",
    "succeeded": "Payé",
    "cancelled": "Annulé",
    "refunded": "Remboursé",
    "partially_refunded": "Remboursé en partie",
    "invoiced": "Facturé, à régler",
    "awaiting_on_site": "À régler sur place",
    "free": "Gratuit",
}
METHODS = {
    "card": "Carte",
    "on_site": "Sur place",
    "invoice": "Sur facture",
    "free": "Gratuit",
    "wallet": "Porte-monnaie",
}


class Exports:
    """The rows of a place's exports, on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
        connection = await self.session.connection()
        return (await connection.execute(statement, params)).all()

    async def sheet(
        self, dataset: Dataset, place_id: int, zone: ZoneInfo, start: date, end: date
    ) -> Sheet:
        """One dataset of the place, over local dates ``[start, end)``."""
        params = {"place_id": place_id, "start": start, "end": end}
        rows = await self._rows(_STATEMENTS[dataset], params)
        return _BUILDERS[dataset](rows, zone)


def _local(moment: Any, zone: ZoneInfo) -> Any:
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


def _bookings(rows: Sequence[Any], zone: ZoneInfo) -> Sheet:
    columns = (
        "Référence",
        "Début",
        "Fin",
        "Durée (min)",
        "Statut",
        "Équipement",
        "Personne",
        "E-mail",
        "Organisation",
        "Catégorie",
        "Paiement",
        "État du paiement",
        "Montant TTC (€)",
        "Remboursé (€)",
        "Bon de commande",
        "Réservée le",
    )
    return Sheet(
        "Réservations",
        columns,
        [
            (
                r.reference,
                _local(r.starts_at, zone),
                _local(r.ends_at, zone),
                int((r.ends_at - r.starts_at).total_seconds() // 60),
                BOOKING_STATUS.get(r.status, r.status),
                r.resources,
                r.display_name,
                r.email,
                r.organisation,
                r.user_type_code,
                METHODS.get(r.method, r.method),
                PAYMENT_STATUS.get(r.payment_status, r.payment_status),
                euros(r.amount_cents),
                euros(r.refunded_cents),
                r.purchase_order,
                _local(r.created_at, zone),
            )
            for r in rows
        ],
    )


def _people(rows: Sequence[Any], zone: ZoneInfo) -> Sheet:
    columns = (
        "Nom",
        "E-mail",
        "Catégorie",
        "Réservations confirmées",
        "Réservations annulées",
        "Heures réservées",
        "Première réservation",
        "Dernière réservation",
    )
    return Sheet(
        "Personnes",
        columns,
        [
            (
                r.display_name,
                r.email,
                r.user_type_code,
                int(r.confirmed),
                int(r.cancelled),
                hours(int(r.minutes)),
                _local(r.first_start, zone),
                _local(r.last_start, zone),
            )
            for r in rows
        ],
    )


def _invoices(rows: Sequence[Any], zone: ZoneInfo) -> Sheet:
    columns = (
        "Numéro",
        "Type",
        "Émis le",
        "Corrige",
        "Client",
        "E-mail",
        "Réservation",
        "Montant TTC (€)",
        "Paiement",
        "État",
        "Échéance",
        "Bon de commande",
        "Payé le",
    )
    return Sheet(
        "Factures et avoirs",
        columns,
        [
            (
                r.number,
                "Facture" if r.kind == "invoice" else "Avoir",
                _local(r.issued_at, zone),
                r.corrects,
                r.client,
                r.email,
                r.reference,
                euros(r.total_incl_vat_cents),
                METHODS.get(r.method, r.method),
                ("Payée" if r.payment_status in PAID else "Non payée")
                if r.kind == "invoice"
                else "",
                r.due_on if r.kind == "invoice" else None,
                r.purchase_order,
                _local(r.paid_at, zone),
            )
            for r in rows
        ],
    )


def _net(row: Any) -> int:
    """What the payment bills, net of refunds: nothing for one cancelled before it was paid."""
    return 0 if row.status in UNBILLED else int(row.amount_cents - row.refunded_cents)


def _payments(rows: Sequence[Any], zone: ZoneInfo) -> Sheet:
    columns = (
        "Réservation",
        "Début",
        "Payeur",
        "Catégorie",
        "Moyen",
        "Détail",
        "État",
        "Montant TTC (€)",
        "Remboursé (€)",
        "Net (€)",
        "Échéance",
        "Bon de commande",
        "Payé le",
        "Créé le",
    )
    return Sheet(
        "Paiements",
        columns,
        [
            (
                r.reference,
                _local(r.starts_at, zone),
                r.payer,
                r.user_type_code,
                METHODS.get(r.method, r.method),
                r.on_site_means,
                PAYMENT_STATUS.get(r.status, r.status),
                euros(r.amount_cents),
                euros(r.refunded_cents),
                euros(_net(r)),
                r.due_on,
                r.purchase_order,
                _local(r.paid_at, zone),
                _local(r.created_at, zone),
            )
            for r in rows
        ],
    )


_STATEMENTS = {
    "bookings": _BOOKINGS,
    "people": _PEOPLE,
    "invoices": _INVOICES,
    "payments": _PAYMENTS,
}
_BUILDERS = {
    "bookings": _bookings,
    "people": _people,
    "invoices": _invoices,
    "payments": _payments,
}

__all__ = ["DATASETS", "Cell", "Dataset", "Exports"]
