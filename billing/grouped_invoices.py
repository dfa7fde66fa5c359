"""Grouped invoices: the bookings paid on invoice at a place, one invoice per buyer, purchase
order and billing period, issued on the day the place's rule says (:mod:`billing.invoice_periods`).

Runs inside a transaction: at checkout (a rule "at booking"), and from the hourly job
(:mod:`billing.grouped_job`) for the periods whose day has come. The payments not yet invoiced
are locked first, so two issuers never bill a session twice, and ``invoice_line`` keeps each
payment in one grouped invoice at most: run twice, the second run finds nothing to issue.
A session cancelled before its invoice is issued is simply not invoiced.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from billing.invoice_periods import Period, due_day, grouped, issue_day, period_of
from billing.invoicing import DocumentService, Party, lacks_vat_number
from billing.models import BillingDocument, InvoiceLine, Payment, PlaceBilling
from billing.prices import PriceService
from billing.repository import BillingRepository
from booking.models import BookingStatus
from booking.schemas import BookingRead
from booking.service import Bookings
from kernel.auth.actor import Actor

logger = logging.getLogger("mutualab.billing")
SYSTEM = Actor(is_admin=True, via="system")
LOOK_AHEAD = timedelta(days=100)


@dataclass
class IssueReport:
    """What one pass issued, and the groups it had to leave (why, by purchase order)."""

    issued: list[BillingDocument] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


GroupKey = tuple[int, int | None, str | None, str]


def uses_grouping(settings: PlaceBilling, method: str) -> bool:
    """Whether a payment by ``method`` is invoiced by the grouped issue at this place."""
    return method == "invoice" and grouped(settings.invoice_period, settings.invoice_issue)


class GroupedInvoices:
    """Issues the grouped invoices that are due at a place."""

    def __init__(
        self,
        repo: BillingRepository,
        prices: PriceService,
        documents: DocumentService,
        bookings: Bookings,
    ) -> None:
        self.repo = repo
        self.prices = prices
        self.documents = documents
        self.bookings = bookings

    async def issue_due(
        self, place_id: int, now: datetime, payment_ids: Sequence[int] | None = None
    ) -> IssueReport:
        """Issue every grouped invoice of the place whose day has come (of ``payment_ids``
        only, when given)."""
        report = IssueReport()
        settings = await self.prices.settings_of(place_id)
        if not grouped(settings.invoice_period, settings.invoice_issue):
            return report
        place = await self.prices.catalogue.require_place(place_id)
        tz = ZoneInfo(place.timezone)
        today = now.astimezone(tz).date()
        groups: dict[GroupKey, list[tuple[Payment, BookingRead]]] = {}
        periods: dict[GroupKey, Period] = {}
        # A period is three months at most: a session further off is not due yet (a moved
        # booking keeps the earlier start it was paid for, so it is looked at no later).
        horizon = None if settings.invoice_issue == "at_booking" else now + LOOK_AHEAD
        locked = await self.repo.uninvoiced_payments(place_id, payment_ids, starting_before=horizon)
        # Read again now that they are ours: another issuer may have invoiced them while this
        # one waited for their locks (its invoice lines were not in the first statement's view).
        still = {
            p.id
            for p in await self.repo.uninvoiced_payments(
                place_id, [p.id for p in locked if p.id is not None], lock=False
            )
        }
        for payment in [p for p in locked if p.id in still]:
            booking = await self.bookings.get(SYSTEM, payment.booking_id)
            if booking.status != BookingStatus.CONFIRMED:
                continue  # awaiting approval: invoiced once approved; ended: never
            period = period_of(settings.invoice_period, booking.starts_at.astimezone(tz).date())
            booked_on = payment.created_at.astimezone(tz).date()
            if issue_day(settings.invoice_issue, period, booked_on) > today:
                continue
            # One invoice per buyer (the organisation, else the person), purchase order and
            # period; one per booking when the place invoices per booking.
            key: GroupKey = (
                payment.organisation_id or 0,
                None if payment.organisation_id else payment.payer_user_id,
                payment.purchase_order,
                period.key if settings.invoice_period != "booking" else f"b{booking.id}",
            )
            groups.setdefault(key, []).append((payment, booking))
            periods[key] = period
        for key in sorted(groups, key=lambda k: (periods[k].first, str(k))):
            billed = sorted(groups[key], key=lambda pb: (pb[1].starts_at, pb[1].id))
            document = await self._issue(settings, billed, periods[key], today, now, report)
            if document is not None:
                report.issued.append(document)
        return report

    async def _issue(
        self,
        settings: PlaceBilling,
        billed: list[tuple[Payment, BookingRead]],
        period: Period,
        today: date,
        now: datetime,
        report: IssueReport,
    ) -> BillingDocument | None:
        vat = sum(int(p.quote.get("total_vat_cents", 0)) for p, _ in billed)
        first, booking = billed[0]
        if lacks_vat_number(settings, vat):
            # Never an invoice charging VAT without the seller's number: it waits for it.
            report.refused.append(f"{first.purchase_order or '-'} {period.key}: no VAT number")
            logger.warning(
                "place %s: the invoice of %s (%s) charges VAT but the place has no VAT number",
                first.place_id,
                period.key,
                first.purchase_order,
            )
            return None
        buyer = await self.repo.user(first.payer_user_id)
        assert buyer is not None
        organisation = (
            await self.repo.organisation(first.organisation_id)
            if first.organisation_id is not None
            else None
        )
        place = await self.prices.catalogue.require_place(first.place_id)
        due_on = due_day(today, settings.payment_terms_days)
        document = await self.documents.issue_grouped_invoice(
            Party(place, settings, buyer, organisation, booking), billed, period, now, due_on
        )
        assert document.id is not None
        for position, (payment, session) in enumerate(billed):
            assert payment.id is not None
            payment.due_on = due_on
            payment.updated_at = now
            await self.repo.add(
                payment,
                InvoiceLine(
                    document_id=document.id,
                    payment_id=payment.id,
                    booking_id=session.id,
                    position=position,
                    total_incl_vat_cents=int(payment.quote["total_incl_vat_cents"]),
                ),
            )
        return document
