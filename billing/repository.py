"""Every query of the billing domain lives here; nowhere else in the domain writes SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, func
from sqlalchemy.dialects import postgresql
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organisation, User, UserType
from billing.models import (
    BillingDocument,
    DocumentSeries,
    InvoiceLine,
    Payment,
    PaymentStatus,
    PlaceBilling,
    PriceList,
    PriceRate,
    Refund,
    RefundStatus,
    StripeEvent,
)

Row = (
    BillingDocument
    | DocumentSeries
    | InvoiceLine
    | Payment
    | PlaceBilling
    | PriceList
    | PriceRate
    | Refund
    | StripeEvent
)


class BillingRepository:
    """Reads and writes of price lists, payments, refunds, events and documents."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: Row) -> None:
        """Insert or update rows and learn their ids."""
        self.session.add_all(rows)
        await self.session.flush()

    def _insert(self, table: Any) -> Insert:
        return postgresql.insert(table).on_conflict_do_nothing()

    # price lists -------------------------------------------------------------------
    async def price_lists_of(self, place_id: int) -> list[PriceList]:
        """Every price list of a place."""
        rows = await self.session.exec(
            select(PriceList).where(PriceList.place_id == place_id).order_by(col(PriceList.scope))
        )
        return list(rows.all())

    async def price_list(
        self, place_id: int, scope: str, *, lock: bool = False
    ) -> PriceList | None:
        """The price list of one scope (``resource:<id>`` or ``kind:<kind>``)."""
        query = select(PriceList).where(PriceList.place_id == place_id, PriceList.scope == scope)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def rates_of(self, price_list_ids: Sequence[int]) -> dict[int, list[PriceRate]]:
        """Rates of each price list, by user type."""
        result: dict[int, list[PriceRate]] = {i: [] for i in price_list_ids}
        if price_list_ids:
            rows = await self.session.exec(
                select(PriceRate)
                .where(col(PriceRate.price_list_id).in_(price_list_ids))
                .order_by(col(PriceRate.user_type_code))
            )
            for row in rows.all():
                result[row.price_list_id].append(row)
        return result

    async def replace_rates(self, price_list_id: int, rates: Sequence[PriceRate]) -> None:
        """Swap every rate of a price list."""
        await self.session.exec(
            delete(PriceRate).where(col(PriceRate.price_list_id) == price_list_id)
        )
        self.session.add_all(rates)
        await self.session.flush()

    # settings ---------------------------------------------------------------------
    async def place_billing(self, place_id: int) -> PlaceBilling | None:
        """The billing settings of a place (None: defaults)."""
        return await self.session.get(PlaceBilling, place_id)

    # people (shared kernel tables, read only) ------------------------------------
    async def organisation(self, organisation_id: int) -> Organisation | None:
        """An organisation by id."""
        return await self.session.get(Organisation, organisation_id)

    async def organisation_names(self, organisation_ids: Iterable[int]) -> dict[int, str]:
        """The names of these organisations (those that exist), by id in the order asked, in
        one read."""
        ids = list(dict.fromkeys(organisation_ids))
        if not ids:
            return {}
        rows = await self.session.exec(
            select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(ids))
        )
        names = {int(oid or 0): name for oid, name in rows.all()}
        return {oid: names[oid] for oid in ids if oid in names}

    async def user(self, user_id: int) -> User | None:
        """A user by id."""
        return await self.session.get(User, user_id)

    async def user_type_codes(self) -> set[str]:
        """Every user type code."""
        return set((await self.session.exec(select(UserType.code))).all())

    async def user_type(self, code: str) -> UserType | None:
        """A user type by code."""
        return await self.session.get(UserType, code)

    # payments ---------------------------------------------------------------------
    async def payment(self, payment_id: int, *, lock: bool = False) -> Payment | None:
        """A payment by id; ``lock`` takes its row lock (PostgreSQL) and re-reads it."""
        query = select(Payment).where(Payment.id == payment_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def payment_of_booking(self, booking_id: int, *, lock: bool = False) -> Payment | None:
        """The payment of a booking, if it was booked through checkout."""
        query = select(Payment).where(Payment.booking_id == booking_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def payment_statuses(self, booking_ids: Sequence[int]) -> dict[int, str]:
        """The payment status of each of these bookings that has a payment."""
        if not booking_ids:
            return {}
        rows = await self.session.exec(
            select(Payment.booking_id, Payment.status).where(
                col(Payment.booking_id).in_(sorted(set(booking_ids)))
            )
        )
        return {booking_id: status for booking_id, status in rows}

    async def payment_of_intent(self, intent_id: str, *, lock: bool = False) -> Payment | None:
        """The payment of a PaymentIntent."""
        query = select(Payment).where(Payment.intent_id == intent_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def payments_to_start(self, limit: int = 100) -> list[int]:
        """Card payments still without a PaymentIntent (the call after checkout failed)."""
        rows = await self.session.exec(
            select(Payment.id)
            .where(
                Payment.method == "card",
                Payment.status == PaymentStatus.PENDING,
                col(Payment.intent_id).is_(None),
                col(Payment.cancel_pending).is_(False),
            )
            .order_by(col(Payment.id))
            .limit(limit)
        )
        return [i for i in rows.all() if i is not None]

    async def payments_to_cancel(self, limit: int = 100) -> list[int]:
        """Payments whose PaymentIntent must be cancelled at the provider."""
        rows = await self.session.exec(
            select(Payment.id)
            .where(col(Payment.cancel_pending).is_(True))
            .order_by(col(Payment.id))
            .limit(limit)
        )
        return [i for i in rows.all() if i is not None]

    # refunds ----------------------------------------------------------------------
    async def refunds_of(self, payment_ids: Sequence[int]) -> list[Refund]:
        """Refunds of payments, oldest first."""
        if not payment_ids:
            return []
        rows = await self.session.exec(
            select(Refund).where(col(Refund.payment_id).in_(payment_ids)).order_by(col(Refund.id))
        )
        return list(rows.all())

    async def refund(self, refund_id: int, *, lock: bool = False) -> Refund | None:
        """A refund by id."""
        query = select(Refund).where(Refund.id == refund_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def refunds_to_send(self, limit: int = 100) -> list[int]:
        """Card refunds not yet made at the provider."""
        rows = await self.session.exec(
            select(Refund.id)
            .where(Refund.status == RefundStatus.PENDING)
            .order_by(col(Refund.id))
            .limit(limit)
        )
        return [i for i in rows.all() if i is not None]

    async def refunded_total(self, payment_id: int) -> int:
        """Cents refunded or being refunded on a payment."""
        total = await self.session.exec(
            select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                Refund.payment_id == payment_id,
                col(Refund.status).in_((RefundStatus.PENDING, RefundStatus.SUCCEEDED)),
            )
        )
        return int(total.one())

    # webhook events -----------------------------------------------------------------
    async def record_event(self, event: StripeEvent) -> bool:
        """Store an event by id; False when it was already there (a replay)."""
        result = await self.session.exec(
            self._insert(StripeEvent).values(
                id=event.id,
                type=event.type,
                intent_id=event.intent_id,
                outcome=event.outcome,
                received_at=event.received_at,
            )
        )
        return bool(result.rowcount)

    async def event(self, event_id: str) -> StripeEvent | None:
        """A stored event."""
        return await self.session.get(StripeEvent, event_id)

    # documents ----------------------------------------------------------------------
    async def lock_series(
        self, place_id: int, kind: str, year: int, prefix: str, genesis_hash: str
    ) -> DocumentSeries:
        """The counter of a series, created if new, locked until the end of the transaction."""
        await self.session.exec(
            self._insert(DocumentSeries).values(
                place_id=place_id,
                kind=kind,
                year=year,
                prefix=prefix,
                last_sequence=0,
                genesis_hash=genesis_hash,
                last_hash=genesis_hash,
            )
        )
        series = (
            await self.session.exec(
                select(DocumentSeries)
                .where(
                    DocumentSeries.place_id == place_id,
                    DocumentSeries.kind == kind,
                    DocumentSeries.year == year,
                )
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).one()
        return series

    async def last_series_before(
        self, place_id: int, kind: str, year: int
    ) -> DocumentSeries | None:
        """The most recent series of a place and kind before ``year`` (to chain the years)."""
        return (
            await self.session.exec(
                select(DocumentSeries)
                .where(
                    DocumentSeries.place_id == place_id,
                    DocumentSeries.kind == kind,
                    DocumentSeries.year < year,
                )
                .order_by(col(DocumentSeries.year).desc())
                .limit(1)
            )
        ).first()

    async def all_series(self, place_id: int | None = None) -> list[DocumentSeries]:
        """Every series, by place, kind and year."""
        query = select(DocumentSeries).order_by(
            col(DocumentSeries.place_id), col(DocumentSeries.kind), col(DocumentSeries.year)
        )
        if place_id is not None:
            query = query.where(DocumentSeries.place_id == place_id)
        return list((await self.session.exec(query)).all())

    async def documents_of_series(self, series_id: int) -> list[BillingDocument]:
        """The documents of a series in issue order."""
        rows = await self.session.exec(
            select(BillingDocument)
            .where(BillingDocument.series_id == series_id)
            .order_by(col(BillingDocument.sequence), col(BillingDocument.id))
        )
        return list(rows.all())

    async def document(self, document_id: int) -> BillingDocument | None:
        """A document by id."""
        return await self.session.get(BillingDocument, document_id)

    async def documents_of_booking(self, booking_id: int) -> list[BillingDocument]:
        """Invoices and credit notes of a booking (grouped invoices billing it too), in issue
        order."""
        return [d for _, d in await self._documents_by_booking([booking_id])]

    async def documents_of_bookings(self, booking_ids: Sequence[int]) -> list[BillingDocument]:
        """Invoices and credit notes of several bookings, in issue order (a grouped invoice
        once)."""
        seen: set[int | None] = set()
        documents = []
        for _, document in await self._documents_by_booking(booking_ids):
            if document.id not in seen:
                seen.add(document.id)
                documents.append(document)
        return documents

    async def documents_by_booking(
        self, booking_ids: Sequence[int]
    ) -> list[tuple[int, BillingDocument]]:
        """Each booking's invoices and credit notes (grouped ones under each booking they
        bill), in issue order."""
        return await self._documents_by_booking(booking_ids)

    async def _documents_by_booking(
        self, booking_ids: Sequence[int]
    ) -> list[tuple[int, BillingDocument]]:
        if not booking_ids:
            return []
        ids = list(booking_ids)
        lines = (
            await self.session.exec(
                select(InvoiceLine.booking_id, InvoiceLine.document_id).where(
                    col(InvoiceLine.booking_id).in_(ids)
                )
            )
        ).all()
        grouped = {document_id for _, document_id in lines}
        rows = await self.session.exec(
            select(BillingDocument)
            .where(
                col(BillingDocument.booking_id).in_(ids)
                | col(BillingDocument.id).in_(sorted(grouped))
            )
            .order_by(col(BillingDocument.issued_at), col(BillingDocument.id))
        )
        billed: dict[int, set[int]] = {}
        for booking_id, document_id in lines:
            billed.setdefault(document_id, set()).add(booking_id)
        pairs: list[tuple[int, BillingDocument]] = []
        for document in rows.all():
            assert document.id is not None
            names = billed.get(document.id, set())
            if document.booking_id in ids:
                names = names | {document.booking_id}
            pairs += [(booking_id, document) for booking_id in sorted(names)]
        return pairs

    # grouped invoices ---------------------------------------------------------------
    async def uninvoiced_payments(
        self,
        place_id: int,
        payment_ids: Sequence[int] | None = None,
        *,
        starting_before: datetime | None = None,
        lock: bool = True,
    ) -> list[Payment]:
        """Payments on invoice at a place still owing money and billed by no invoice yet
        (paid for a start before ``starting_before``), locked (``FOR UPDATE``) so two issuers
        wait for each other."""
        invoiced = select(BillingDocument.id).where(
            BillingDocument.payment_id == Payment.id, BillingDocument.kind == "invoice"
        )
        lined = select(InvoiceLine.id).where(InvoiceLine.payment_id == Payment.id)
        query = (
            select(Payment)
            .where(
                Payment.place_id == place_id,
                Payment.method == "invoice",
                col(Payment.status).in_([PaymentStatus.INVOICED, PaymentStatus.SUCCEEDED]),
                Payment.amount_cents > 0,
                ~invoiced.exists(),
                ~lined.exists(),
            )
            .order_by(col(Payment.paid_starts_at), col(Payment.id))
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        if payment_ids is not None:
            query = query.where(col(Payment.id).in_(list(payment_ids)))
        if starting_before is not None:
            query = query.where(Payment.paid_starts_at < starting_before)
        return list((await self.session.exec(query)).all())

    async def invoice_line_of(self, payment_id: int) -> InvoiceLine | None:
        """The grouped invoice's line billing a payment, if any."""
        return (
            await self.session.exec(select(InvoiceLine).where(InvoiceLine.payment_id == payment_id))
        ).first()

    async def lines_of(self, document_id: int) -> list[InvoiceLine]:
        """The sessions a grouped invoice bills, in its order."""
        rows = await self.session.exec(
            select(InvoiceLine)
            .where(InvoiceLine.document_id == document_id)
            .order_by(col(InvoiceLine.position))
        )
        return list(rows.all())

    async def grouping_places(self) -> list[int]:
        """The places whose invoices on invoice are grouped or wait for their period."""
        rows = await self.session.exec(
            select(PlaceBilling.place_id).where(
                (PlaceBilling.invoice_period != "booking")
                | (PlaceBilling.invoice_issue != "at_booking")
            )
        )
        return list(rows.all())

    async def public_buyer_documents(
        self, place_id: int, since: datetime, until: datetime
    ) -> list[BillingDocument]:
        """The place's invoices and credit notes to public buyers (organisations invoiced through
        Chorus Pro) issued in [since, until), in issue order."""
        rows = await self.session.exec(
            select(BillingDocument)
            .join(Organisation, col(Organisation.id) == col(BillingDocument.organisation_id))
            .where(
                BillingDocument.place_id == place_id,
                col(Organisation.public_buyer).is_(True),
                col(BillingDocument.issued_at) >= since,
                col(BillingDocument.issued_at) < until,
            )
            .order_by(col(BillingDocument.issued_at), col(BillingDocument.id))
        )
        return list(rows.all())

    async def documents_by_ids(self, ids: Sequence[int]) -> list[BillingDocument]:
        """The documents of these ids (in no particular order)."""
        if not ids:
            return []
        rows = await self.session.exec(
            select(BillingDocument).where(col(BillingDocument.id).in_(list(ids)))
        )
        return list(rows.all())
