"""The queries of a place's books: settings, what the FEC books, closed periods and their lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import func
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col, exists, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organisation, User
from billing.accounting_models import AccountingSettings, ClosedPeriod
from billing.models import (
    BillingDocument,
    DocumentSeries,
    Payment,
    PaymentReceipt,
    Refund,
    RefundStatus,
)
from billing.wallet_models import Wallet, WalletMovement

# The two-key advisory lock space (apart from the one-key space of idempotency keys): issuing
# takes a place's lock shared, closing a period takes it alone, so a period is closed only
# after every issue under way at the place is committed, and none starts until it is.
CLOSING_LOCK = 47
# Listing and checking closed periods never needs their archives' bytes.
_NO_ARCHIVE = defer(cast("QueryableAttribute[bytes]", ClosedPeriod.archive))


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    """A receipt with the buyer of its payment."""

    receipt: PaymentReceipt
    organisation_id: int | None
    payer_user_id: int


@dataclass(frozen=True, slots=True)
class RefundRow:
    """A refund that moved money, with its payment."""

    refund: Refund
    payment: Payment


class AccountingRepository:
    """Reads and writes of accounting settings and closed periods, and the ledger's facts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def settings(self, place_id: int) -> AccountingSettings | None:
        """A place's accounting settings, if saved."""
        return await self.session.get(AccountingSettings, place_id)

    async def save(self, row: AccountingSettings | ClosedPeriod) -> None:
        """Insert or update a row and learn its id."""
        self.session.add(row)
        await self.session.flush()

    # the lock between issuing and closing ------------------------------------------------
    async def share_closing_lock(self, place_id: int) -> None:
        """Taken by every issue: waits while the place's period is being closed."""
        await self.session.exec(select(func.pg_advisory_xact_lock_shared(CLOSING_LOCK, place_id)))

    async def take_closing_lock(self, place_id: int) -> None:
        """Taken by a closing: waits for the issues under way at the place."""
        await self.session.exec(select(func.pg_advisory_xact_lock(CLOSING_LOCK, place_id)))

    # closed periods ---------------------------------------------------------------------
    async def closed_on(self, place_id: int, day: date) -> ClosedPeriod | None:
        """The closed period holding ``day`` at a place, if any (without its archive)."""
        rows = await self.session.exec(
            select(ClosedPeriod)
            .options(_NO_ARCHIVE)
            .where(
                ClosedPeriod.place_id == place_id,
                col(ClosedPeriod.first_day) <= day,
                col(ClosedPeriod.last_day) >= day,
            )
            .order_by(col(ClosedPeriod.first_day))
            .limit(1)
        )
        return rows.first()

    async def overlapping(self, place_id: int, first: date, last: date) -> list[ClosedPeriod]:
        """The closed periods of a place meeting ``first``..``last``."""
        rows = await self.session.exec(
            select(ClosedPeriod)
            .options(_NO_ARCHIVE)
            .where(
                ClosedPeriod.place_id == place_id,
                col(ClosedPeriod.first_day) <= last,
                col(ClosedPeriod.last_day) >= first,
            )
        )
        return list(rows.all())

    async def closed_periods(
        self, place_id: int | None = None, *, with_archives: bool = False
    ) -> list[ClosedPeriod]:
        """Closed periods, newest first (of one place, when given); their archives' bytes
        are read only when asked for."""
        query = select(ClosedPeriod).order_by(
            col(ClosedPeriod.place_id), col(ClosedPeriod.first_day).desc(), col(ClosedPeriod.id)
        )
        if place_id is not None:
            query = query.where(ClosedPeriod.place_id == place_id)
        if not with_archives:
            query = query.options(_NO_ARCHIVE)
        return list((await self.session.exec(query)).all())

    async def closed_period(self, place_id: int, period_id: int) -> ClosedPeriod | None:
        """One closed period of a place."""
        return (
            await self.session.exec(
                select(ClosedPeriod).where(
                    ClosedPeriod.id == period_id, ClosedPeriod.place_id == place_id
                )
            )
        ).first()

    # what the books hold ----------------------------------------------------------------
    async def documents_between(
        self, place_id: int, start: datetime, end: datetime
    ) -> list[BillingDocument]:
        """Invoices and credit notes issued in ``start``..``end`` (end excluded), in issue
        order."""
        rows = await self.session.exec(
            select(BillingDocument)
            .where(
                BillingDocument.place_id == place_id,
                col(BillingDocument.issued_at) >= start,
                col(BillingDocument.issued_at) < end,
            )
            .order_by(col(BillingDocument.issued_at), col(BillingDocument.id))
        )
        return list(rows.all())

    async def series_of(self, place_id: int) -> list[DocumentSeries]:
        """The numbering series of a place."""
        rows = await self.session.exec(
            select(DocumentSeries)
            .where(DocumentSeries.place_id == place_id)
            .order_by(col(DocumentSeries.kind), col(DocumentSeries.year))
        )
        return list(rows.all())

    async def receipts_between(self, place_id: int, first: date, last: date) -> list[ReceiptRow]:
        """Money received at the desk (and its reversals) on ``first``..``last``."""
        rows = await self.session.exec(
            select(PaymentReceipt, Payment.organisation_id, Payment.payer_user_id)
            .join(Payment, col(Payment.id) == col(PaymentReceipt.payment_id))
            .where(
                Payment.place_id == place_id,
                col(PaymentReceipt.received_on) >= first,
                col(PaymentReceipt.received_on) <= last,
            )
            .order_by(col(PaymentReceipt.received_on), col(PaymentReceipt.id))
        )
        return [ReceiptRow(r, o, u) for r, o, u in rows.all()]

    async def paid_without_receipts(
        self, place_id: int, start: datetime, end: datetime
    ) -> list[Payment]:
        """Payments paid in ``start``..``end`` at once (by card, or recorded in one go)."""
        receipted = exists().where(col(PaymentReceipt.payment_id) == col(Payment.id))
        rows = await self.session.exec(
            select(Payment)
            .where(
                Payment.place_id == place_id,
                col(Payment.paid_at) >= start,
                col(Payment.paid_at) < end,
                col(Payment.amount_cents) > 0,
                ~receipted,
            )
            .order_by(col(Payment.paid_at), col(Payment.id))
        )
        return list(rows.all())

    async def refunds_between(
        self, place_id: int, start: datetime, end: datetime
    ) -> list[RefundRow]:
        """Money given back in ``start``..``end``: refunds Stripe made, and those the place
        makes itself (dated when recorded)."""
        moved = func.coalesce(col(Refund.completed_at), col(Refund.created_at))
        rows = await self.session.exec(
            select(Refund, Payment)
            .join(Payment, col(Payment.id) == col(Refund.payment_id))
            .where(
                Payment.place_id == place_id,
                col(Refund.status).in_((RefundStatus.SUCCEEDED, RefundStatus.MANUAL)),
                moved >= start,
                moved < end,
            )
            .order_by(moved, col(Refund.id))
        )
        return [RefundRow(r, p) for r, p in rows.all()]

    async def wallet_movements_between(
        self, place_id: int, start: datetime, end: datetime
    ) -> list[tuple[WalletMovement, int]]:
        """The movements of the place's wallets in ``start``..``end``, with their holder."""
        rows = await self.session.exec(
            select(WalletMovement, Wallet.user_id)
            .join(Wallet, col(Wallet.id) == col(WalletMovement.wallet_id))
            .where(
                Wallet.place_id == place_id,
                col(WalletMovement.created_at) >= start,
                col(WalletMovement.created_at) < end,
            )
            .order_by(col(WalletMovement.created_at), col(WalletMovement.id))
        )
        return [(m, int(u)) for m, u in rows.all()]

    async def buyer_names(
        self, organisation_ids: Sequence[int], user_ids: Sequence[int]
    ) -> tuple[dict[int, str], dict[int, str]]:
        """The names of organisations and people, by id."""
        organisations: dict[int, str] = {}
        people: dict[int, str] = {}
        if organisation_ids:
            found = await self.session.exec(
                select(Organisation.id, Organisation.name).where(
                    col(Organisation.id).in_(set(organisation_ids))
                )
            )
            organisations = {i: n for i, n in found.all() if i is not None}
        if user_ids:
            named = await self.session.exec(
                select(User.id, User.display_name).where(col(User.id).in_(set(user_ids)))
            )
            people = {i: n for i, n in named.all() if i is not None}
        return organisations, people
