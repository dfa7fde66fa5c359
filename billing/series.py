"""Billing a series (a term of weekly classes, say): one quote for the whole series, then one
payment per booked date, all carrying the purchase-order number, and its invoices.

By default each date has its own invoice: each session is a service of its own, delivered on
its own date, and a session cancelled later is corrected by a credit note on exactly its
invoice. A place may instead group the dates paid on invoice per purchase order and month or
quarter (:mod:`billing.grouped_invoices`): one invoice then bills each session as its own
block of lines, dated, and a session cancelled after issue is credited by a credit note for
its lines alone. Numbers stay gap-free and chained because every invoice goes through
:class:`billing.invoicing.DocumentService`.

The quote prices each free date with the same computation checkout charges; its fingerprint
covers which dates are free and their prices, so a date taken between the preview and the
confirmation is a ``409 price_changed`` with the new quote, never a silent change.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from billing.ledger import canonical_json
from billing.member_benefits import member_benefits, with_benefits
from billing.models import BillingDocument, PaymentStatus
from billing.payments import PaymentService, due_payment, summary
from billing.prices import Priced, methods_for, refuse_unverified_invoice
from billing.providers.base import METHODS
from billing.schemas import (
    QuoteLineRead,
    SeriesBillingRead,
    SeriesCheckoutRead,
    SeriesCheckoutRequest,
    SeriesOccurrenceBilling,
    SeriesOccurrenceQuote,
    SeriesQuoteRead,
    SeriesQuoteRequest,
    VatBreakdownRead,
)
from booking.models import BookingStatus
from booking.schemas import BookingRead, ItemRequest, SeriesCreate, SeriesMode
from booking.service import Series
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError
from kernel.events import publish
from resources.models import Resource

# Payments that no longer ask for money (their credit notes are already deducted).
ENDED = (PaymentStatus.CANCELLED, PaymentStatus.REFUNDED)


def _rate_text(rate: Decimal) -> str:
    return f"{rate.quantize(Decimal('0.01'))}"


def series_request(data: SeriesQuoteRequest, mode: SeriesMode, exdates: list[date]) -> SeriesCreate:
    """The booking engine's request for this series."""
    return SeriesCreate(
        items=data.items,
        rule=data.rule,
        first_date=data.first_date,
        start_time=data.start_time,
        duration_minutes=data.duration_minutes,
        exdates=exdates,
        mode=mode,
        organisation_id=data.organisation_id,
        notes=data.notes,
    )


class SeriesBillingService:
    """Quotes, books and bills series; shows how a series is billed."""

    def __init__(self, payments: PaymentService, series: Series) -> None:
        self.payments = payments
        self.prices = payments.prices
        self.series = series
        self.repo = payments.repo

    # quote ------------------------------------------------------------------------------
    async def quote(self, actor: Actor, data: SeriesQuoteRequest) -> SeriesQuoteRead:
        """Every date of the series, free (priced) or in conflict, and the totals."""
        read, _ = await self._priced(actor, data)
        return read

    async def _with_benefits(
        self,
        actor: Actor,
        organisation_id: int | None,
        priced: Priced,
        earlier: list[tuple[datetime, int, list[Resource]]],
        *,
        lock: bool,
        excluding: frozenset[int] = frozenset(),
    ) -> Priced:
        """A date priced with the booker's (or organisation's) memberships, the dates before it
        in the series counted as using their included minutes; the date then joins them."""
        line = priced.lines[0]
        benefits = await member_benefits(
            self.repo.session,
            priced,
            user_id=actor.user_id,
            organisation_id=organisation_id,
            now=self.payments.bookings.clock(),
            lock=lock,
            excluding=excluding,
            earlier=earlier,
        )
        earlier.append((line.start, line.minutes, list(priced.resources)))
        return with_benefits(priced, benefits)

    async def _priced(
        self, actor: Actor, data: SeriesQuoteRequest, *, lock: bool = False
    ) -> tuple[SeriesQuoteRead, dict[date, Priced]]:
        """The series quoted; ``lock``: the holder's membership periods locked first (checkout
        then counts their included minutes alone)."""
        rates = await self.prices.user_type_for(actor, data.organisation_id, None)
        earlier: list[tuple[datetime, int, list[Resource]]] = []
        occurrences = await self.series.preview(
            actor, series_request(data, "skip_conflicts", list(data.exdates))
        )
        priced: dict[date, Priced] = {}
        quoted: list[SeriesOccurrenceQuote] = []
        base: dict[tuple[str, Decimal], list[int]] = defaultdict(lambda: [0, 0])
        mentions: list[str] = []
        sample = None
        for occurrence in occurrences:
            lines: list[QuoteLineRead] = []
            totals = (0, 0, 0)
            if occurrence.status == "pending":
                # Shown at today's prices; billed at the prices of the day it is booked.
                later = await self.prices.price(
                    data.items, occurrence.starts_at, occurrence.ends_at, rates
                )
                lines = (await self.prices.quote_read(later)).lines
                totals = (
                    later.quote.total_excl_vat_cents,
                    later.quote.total_vat_cents,
                    later.quote.total_incl_vat_cents,
                )
            coverage, adjustments = [], []
            if occurrence.status == "free":
                one = await self._with_benefits(
                    actor,
                    data.organisation_id,
                    await self.prices.price(
                        data.items, occurrence.starts_at, occurrence.ends_at, rates
                    ),
                    earlier,
                    # Each date's periods, in date order (as any checkout takes them).
                    lock=lock,
                )
                one_read = await self.prices.quote_read(one)
                if sample is None or (
                    not sample.total_incl_vat_cents and one_read.total_incl_vat_cents
                ):
                    # A priced date says how it may be paid (one wholly included says "free").
                    sample = one_read
                priced[occurrence.date] = one
                lines = one_read.lines
                coverage, adjustments = one_read.coverage, one_read.adjustments
                totals = (
                    one.quote.total_excl_vat_cents,
                    one.quote.total_vat_cents,
                    one.quote.total_incl_vat_cents,
                )
                for entry in one.quote.breakdown:
                    sums = base[(entry.kind.value, entry.rate)]
                    sums[0] += entry.base_cents
                    sums[1] += entry.vat_cents
                mentions += [m for m in one.quote.mentions if m not in mentions]
            quoted.append(
                SeriesOccurrenceQuote(
                    date=occurrence.date,
                    starts_at=occurrence.starts_at,
                    ends_at=occurrence.ends_at,
                    local_starts_at=occurrence.local_starts_at,
                    status=(
                        occurrence.status
                        if occurrence.status in ("free", "pending")
                        else "conflict"
                    ),
                    reason=occurrence.reason,
                    detail=occurrence.detail,
                    resource_id=occurrence.resource_id,
                    bookable_from=occurrence.bookable_from,
                    lines=lines,
                    coverage=coverage,
                    adjustments=adjustments,
                    total_excl_vat_cents=totals[0],
                    total_vat_cents=totals[1],
                    total_incl_vat_cents=totals[2],
                )
            )
        if sample is None:
            # No free date: price the first one anyway for the place, rate and methods.
            first = occurrences[0]
            sample = await self.prices.quote_read(
                await self.prices.price(data.items, first.starts_at, first.ends_at, rates)
            )
        breakdown = [
            VatBreakdownRead(kind=kind, rate=_rate_text(rate), base_cents=b, vat_cents=v)
            for (kind, rate), (b, v) in sorted(base.items(), key=lambda kv: (kv[0][0], kv[0][1]))
        ]
        free = [q for q in quoted if q.status == "free"]
        total_incl = sum(q.total_incl_vat_cents for q in free)
        fingerprint = hashlib.sha256(
            canonical_json(
                {
                    "user_type": sample.user_type,
                    "dates": [
                        [
                            q.date.isoformat(),
                            q.status,
                            priced[q.date].quote.fingerprint() if q.date in priced else None,
                        ]
                        for q in quoted
                    ],
                }
            )
        ).hexdigest()
        series_quote = SeriesQuoteRead(
            place_id=sample.place_id,
            user_type=sample.user_type,
            currency=sample.currency,
            occurrences=quoted,
            free_count=len(free),
            conflict_count=sum(1 for q in quoted if q.status == "conflict"),
            pending_count=sum(1 for q in quoted if q.status == "pending"),
            breakdown=breakdown,
            total_excl_vat_cents=sum(q.total_excl_vat_cents for q in free),
            total_vat_cents=sum(q.total_vat_cents for q in free),
            total_incl_vat_cents=total_incl,
            mentions=mentions,
            display=sample.display,
            # One card payment per date is not offered: a series is paid on invoice or on site.
            payment_methods=(
                ["free"]
                if free and total_incl == 0
                else [m for m in sample.payment_methods if m != "card"]
            ),
            purchase_order_required=await self._needs_purchase_order(data.organisation_id),
            fingerprint=fingerprint,
        )
        return series_quote, priced

    async def _needs_purchase_order(self, organisation_id: int | None) -> bool:
        if organisation_id is None:
            return False
        organisation = await self.repo.organisation(organisation_id)
        return organisation is not None and organisation.requires_purchase_order

    # checkout ---------------------------------------------------------------------------
    async def checkout(
        self, actor: Actor, data: SeriesCheckoutRequest, now: datetime
    ) -> SeriesCheckoutRead:
        """Book the free dates as quoted, skip the conflicting ones, bill each booked date."""
        if actor.user_id is None:
            raise ForbiddenError(
                "Bookings are made by a user account, not an admin token.",
                code="user_account_required",
            )
        quote, priced = await self._priced(actor, data, lock=True)
        if quote.fingerprint != data.quote_fingerprint:
            raise ConflictError(
                "The series changed since it was quoted (a date was taken, or a price moved): "
                "check the new quote and confirm again.",
                code="price_changed",
                extra={"quote": quote.model_dump(mode="json")},
            )
        if quote.free_count + quote.pending_count == 0:
            raise ConflictError(
                "No date of this series is free: nothing was booked.",
                code="series_conflict",
                extra={"quote": quote.model_dump(mode="json")},
            )
        settings = await self.prices.settings_of(quote.place_id)
        method = "free" if quote.total_incl_vat_cents == 0 else data.method
        refusal = next((p.invoice_refusal for p in priced.values()), None)
        refuse_unverified_invoice(method, settings, quote.user_type, refusal)
        unverified_invoice = method == "invoice" and "invoice" not in quote.payment_methods
        if method != "free" and (
            method not in methods_for(settings, quote.user_type) or unverified_invoice
        ):
            raise ConflictError(
                f"This place does not accept {METHODS[method].label_fr.lower()} for the "
                f"user type {quote.user_type!r}.",
                code="payment_method_not_allowed",
                extra={"allowed": quote.payment_methods},
            )
        if method == "invoice" and quote.purchase_order_required and not data.purchase_order:
            raise InvalidInputError(
                "This organisation pays on a purchase order: give its reference.",
                field="purchase_order",
                code="purchase_order_required",
            )
        skipped = {q.date for q in quote.occurrences if q.status == "conflict"}
        # All or nothing over the free dates: if one was taken since the preview, nothing is
        # booked and the caller sees which (409 series_conflict).
        created = await self.series.create(
            actor,
            series_request(data, "all_or_nothing", sorted(skipped | set(data.exdates))),
            checkout=True,
        )
        # The dates booked later (beyond the horizon today) are billed the same way.
        await self.series.remember_billing(created.id, method, data.purchase_order)
        created = created.model_copy(
            update={"payment_method": method, "purchase_order": data.purchase_order}
        )
        bookings = {b.id: b for b in created.bookings}
        billed: list[int] = []
        for occurrence in created.occurrences:
            if occurrence.booking_id is None:
                continue
            billed += await self._bill(
                actor,
                bookings[occurrence.booking_id],
                priced[occurrence.date],
                method,
                data.organisation_id,
                data.purchase_order,
                now,
                settings.payment_terms_days,
            )
        # A place grouping its invoices issues those due now together: one per period.
        await self.payments.grouped.issue_due(quote.place_id, now, billed)
        return SeriesCheckoutRead(
            series=created,
            occurrences=created.occurrences,
            billing=await self.billing(actor, created.id),
        )

    async def _bill(
        self,
        actor: Actor,
        booking: BookingRead,
        priced: Priced,
        method: str,
        organisation_id: int | None,
        purchase_order: str | None,
        now: datetime,
        payment_terms_days: int,
    ) -> list[int]:
        """Record a date's payment and invoice it now, unless the place's grouped invoices
        will: then its payment's id, for the caller to issue them together."""
        assert actor.user_id is not None and priced.place.id is not None
        payment = due_payment(
            booking_id=booking.id,
            place_id=priced.place.id,
            payer_user_id=actor.user_id,
            organisation_id=organisation_id,
            method=method,
            priced=priced,
            payment_terms_days=payment_terms_days,
            starts_at=booking.starts_at,
            now=now,
            purchase_order=purchase_order,
        )
        await self.repo.add(payment)
        assert payment.id is not None
        if await self.payments.invoiced_later(payment):
            return [payment.id]
        # A date awaiting the manager's approval is invoiced when approved (billing's listener).
        if (
            METHODS[method].invoice_on == "confirmation"
            and booking.status == BookingStatus.CONFIRMED
        ):
            await self.payments.invoice(payment, booking, now)
        return []

    # the horizon ------------------------------------------------------------------------
    async def book_pending(self, actor: Actor, series_id: int, now: datetime) -> list[date]:
        """Book and bill the series' dates the horizon now reaches (``actor``: its booker);
        returns the dates that could no longer be had, each published as
        ``series.date_lost`` for the booker to be told."""
        outcome = await self.series.book_pending(actor, series_id)
        series = outcome.series
        if series is None or not outcome.dates:
            return []
        assert series.id is not None
        booked = [d for d in outcome.dates if d.status == "booked"]
        if booked:
            read = await self.series.get(actor, series.id)
            bookings = {b.id: b for b in read.bookings}
            rates = await self.prices.user_type_for(actor, series.organisation_id, None)
            settings = await self.prices.settings_of(series.place_id)
            items = [
                ItemRequest(resource_id=i["resource_id"], quantity=i["quantity"])
                for i in series.items
            ]
            billed: list[int] = []
            # The dates booked now count against included minutes in date order, not as
            # bookings already made.
            batch = frozenset(d.booking_id for d in booked if d.booking_id is not None)
            earlier: list[tuple[datetime, int, list[Resource]]] = []
            for occurrence in sorted(booked, key=lambda d: d.starts_at):
                assert occurrence.booking_id is not None
                priced = await self._with_benefits(
                    actor,
                    series.organisation_id,
                    await self.prices.price(items, occurrence.starts_at, occurrence.ends_at, rates),
                    earlier,
                    # Booked already (their locks held): the periods' lock after them could
                    # deadlock with a checkout, which takes it first.
                    lock=False,
                    excluding=batch,
                )
                free = priced.quote.total_incl_vat_cents == 0
                billed += await self._bill(
                    actor,
                    bookings[occurrence.booking_id],
                    priced,
                    # No method recorded: a manager's series, recorded as due on site.
                    "free" if free else (series.payment_method or "on_site"),
                    series.organisation_id,
                    series.purchase_order,
                    now,
                    settings.payment_terms_days,
                )
            await self.payments.grouped.issue_due(series.place_id, now, billed)
        lost = [d for d in outcome.dates if d.status == "conflict"]
        for occurrence in lost:
            await publish(
                self.repo.session,
                "series.date_lost",
                {
                    "series_id": series.id,
                    "user_id": series.booker_user_id,
                    "place_id": series.place_id,
                    "date": occurrence.date.isoformat(),
                    "starts_at": occurrence.starts_at.isoformat(),
                    "ends_at": occurrence.ends_at.isoformat(),
                    "reason": occurrence.reason,
                },
                key=f"series.{series.id}.lost.{occurrence.date.isoformat()}",
            )
        return [d.date for d in lost]

    # reads ------------------------------------------------------------------------------
    async def billing(self, actor: Actor, series_id: int) -> SeriesBillingRead:
        """Each booking of a series with its payment and documents, and what is due."""
        series = await self.series.get(actor, series_id)
        rows: list[SeriesOccurrenceBilling] = []
        every: dict[int, BillingDocument] = {}
        method = purchase_order = None
        currency = "EUR"
        due = 0
        for booking in series.bookings:
            payment = await self.repo.payment_of_booking(booking.id)
            documents = await self.repo.documents_of_booking(booking.id)
            every.update((d.id, d) for d in documents if d.id is not None)
            if payment is not None:
                method = method or payment.method
                purchase_order = purchase_order or payment.purchase_order
                currency = payment.currency
                if payment.status not in ENDED:
                    due += payment.amount_cents - payment.refunded_cents
            rows.append(
                SeriesOccurrenceBilling(
                    booking_id=booking.id,
                    reference=booking.reference,
                    status=booking.status,
                    starts_at=booking.starts_at,
                    local_starts_at=booking.local_starts_at,
                    amount_cents=payment.amount_cents if payment is not None else 0,
                    payment_status=payment.status if payment is not None else None,
                    documents=[summary(d) for d in documents],
                )
            )
        organisation = (
            await self.repo.organisation(series.organisation_id)
            if series.organisation_id is not None
            else None
        )
        method = method or series.payment_method
        purchase_order = purchase_order or series.purchase_order
        settings = await self.prices.settings_of(series.place_id)
        return SeriesBillingRead(
            invoice_period=settings.invoice_period,
            invoice_issue=settings.invoice_issue,
            payment_terms_days=settings.payment_terms_days,
            series_id=series.id,
            place_id=series.place_id,
            organisation_id=series.organisation_id,
            organisation_name=organisation.name if organisation is not None else None,
            method=method,
            purchase_order=purchase_order,
            currency=currency,
            occurrences=rows,
            documents=[summary(d) for d in sorted(every.values(), key=lambda d: d.id or 0)],
            total_incl_vat_cents=due,
        )
