"""The billing runtime: services per transaction, the booking listener, and the calls to the card
provider made after commit.

The composition root (``mutualab.composition``) builds one :class:`Billing`
(``app.state.billing``) on the booking services it books through, whose listeners include
billing's own (:class:`BillingListener`). Provider calls never run inside a database
transaction: each one reads what to do in a short transaction, calls the provider, then records
the answer in another short transaction that re-checks the row under its lock. They run right
after the response of a request that may have left work (``after_response``), from the
checkout and webhook handlers after their commit, and from the workers' periodic hold expiry
(``mutualab.background``) or ``mutualab bookings expire-holds``;
anything a crash interrupted is picked up by the next run (idempotency keys make repeats
harmless).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.accounting import Accounting
from billing.accounting_repository import AccountingRepository
from billing.closing import Closing
from billing.events import payment_refunded
from billing.invoicing import DocumentService
from billing.memberships import MembershipService
from billing.models import PaymentStatus, RefundStatus, StripeEvent
from billing.pack_repository import PackRepository
from billing.packs import PackService
from billing.payments import BillingConfig, PaymentService
from billing.plan_repository import PlanRepository
from billing.prices import PriceService
from billing.providers.base import CardGateway, IntentState, ProviderError, WebhookEvent
from billing.repository import BillingRepository
from billing.series import SeriesBillingService
from billing.tickets import TicketService
from billing.wallet_top_ups import TopUps
from booking.events import BookingEvent
from booking.service import BookingServices
from kernel.clock import Clock
from kernel.db import SAFE_METHODS, Database, commit
from programme.registrations import Registrations
from programme.repository import ProgrammeRepository
from resources.repository import CatalogueRepository
from resources.service import CatalogueService

logger = logging.getLogger("mutualab.billing")


@asynccontextmanager
async def transaction(database: Database, *, write: bool = True) -> AsyncIterator[AsyncSession]:
    """One short transaction: commit on success, roll back on any error."""
    factory = database.writer if write else database.reader
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await commit(session)


@dataclass
class DispatchReport:
    """What one run of the after-commit work did."""

    intents_created: int = 0
    intents_cancelled: int = 0
    refunds_sent: int = 0
    errors: list[str] = field(default_factory=list)


class BillingListener:
    """Billing's reaction to booking changes, run inside the booking's transaction.

    It is made before the booking services that call it, which billing itself books through:
    the composition root attaches billing to it once both exist (:meth:`attach`).
    """

    def __init__(self) -> None:
        self._billing: Billing | None = None

    def attach(self, billing: Billing) -> None:
        """React to booking changes through ``billing`` from now on."""
        self._billing = billing

    async def booking_changed(self, session: AsyncSession, event: BookingEvent) -> None:
        """Refund, credit, invoice or mark the PaymentIntent for cancellation."""
        if self._billing is None:
            raise RuntimeError("The billing listener hears a booking change before its billing.")
        await self._billing.services(session).booking_changed(event)


class Billing:
    """Billing composed for one application (or one CLI run)."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        gateway: CardGateway | None,
        config: BillingConfig,
        booking: BookingServices,
    ) -> None:
        self.database = database
        self.clock = clock
        self.gateway = gateway
        self.config = config
        # The application's booking services: checkout books, a payment confirms a hold.
        self.booking = booking

    async def close(self) -> None:
        """Release the provider's connections."""
        if self.gateway is not None:
            await self.gateway.close()

    # services bound to a session -------------------------------------------------------
    def prices(self, session: AsyncSession) -> PriceService:
        """Price lists, settings and quotes on ``session``."""
        return PriceService(
            BillingRepository(session),
            CatalogueService(CatalogueRepository(session)),
            self.config.card_available,
        )

    def documents(self, session: AsyncSession) -> DocumentService:
        """Invoices and credit notes on ``session``."""
        return DocumentService(BillingRepository(session))

    def accounting(self, session: AsyncSession) -> Accounting:
        """A place's accounts, fiscal year and FEC on ``session``."""
        return Accounting(
            AccountingRepository(session), CatalogueService(CatalogueRepository(session))
        )

    def closing(self, session: AsyncSession) -> Closing:
        """Closed periods and their archives on ``session``."""
        catalogue = CatalogueService(CatalogueRepository(session))
        repo = AccountingRepository(session)
        return Closing(repo, Accounting(repo, catalogue), catalogue)

    def services(self, session: AsyncSession) -> PaymentService:
        """Payments on ``session``."""
        repo = BillingRepository(session)
        return PaymentService(
            repo,
            self.prices(session),
            DocumentService(repo),
            self.booking.bookings(session),
            self.config,
        )

    def memberships(self, session: AsyncSession) -> MembershipService:
        """Membership plans and memberships on ``session``."""
        return MembershipService(
            PlanRepository(session),
            self.prices(session),
            self.documents(session),
            CatalogueService(CatalogueRepository(session)),
            card_available=self.config.card_available,
        )

    def packs(self, session: AsyncSession) -> PackService:
        """Packs of prepaid hours on ``session``."""
        return PackService(
            PackRepository(session),
            self.prices(session),
            self.documents(session),
            CatalogueService(CatalogueRepository(session)),
            card_available=self.config.card_available,
        )

    def tickets(self, session: AsyncSession) -> TicketService:
        """Session tickets on ``session``."""
        catalogue = CatalogueService(CatalogueRepository(session))
        return TicketService(
            self.prices(session),
            self.documents(session),
            Registrations(ProgrammeRepository(session), catalogue, self.clock),
            catalogue,
            card_available=self.config.card_available,
        )

    async def apply_charge_intent(
        self, session: AsyncSession, intent: IntentState, now: datetime
    ) -> str:
        """A PaymentIntent of a charge: a membership's period, a session's ticket, a pack or
        a wallet top-up."""
        outcome = await self.memberships(session).apply_intent(intent, now)
        if outcome == "unknown_payment_intent":
            outcome = await self.tickets(session).apply_intent(intent, now)
        if outcome == "unknown_payment_intent":
            outcome = await self.packs(session).apply_intent(intent, now)
        if outcome == "unknown_payment_intent":
            outcome = await self.top_ups(session).apply_intent(intent, now)
        return outcome

    async def settle_tickets(self) -> int:
        """Release card tickets unpaid in time, settle cancelled ones (each once)."""
        async with transaction(self.database) as session:
            tickets = self.tickets(session)
            now = self.clock()
            return await tickets.release_unpaid(now) + await tickets.settle(now)

    def top_ups(self, session: AsyncSession) -> TopUps:
        """Wallet top-ups on ``session``."""
        return TopUps(session, CatalogueService(CatalogueRepository(session)))

    def series(self, session: AsyncSession) -> SeriesBillingService:
        """Series quotes, checkout and billing views on ``session``."""
        return SeriesBillingService(self.services(session), self.booking.series(session))

    # after-commit work ----------------------------------------------------------------
    async def start_intent(self, payment_id: int, report: DispatchReport | None = None) -> None:
        """Create the PaymentIntent of a card payment that has none yet."""
        if self.gateway is None:
            return
        async with transaction(self.database, write=False) as session:
            payment = await BillingRepository(session).payment(payment_id)
            if (
                payment is None
                or payment.intent_id is not None
                or payment.status != PaymentStatus.PENDING
                or payment.cancel_pending
            ):
                return
            amount, currency = payment.amount_cents, payment.currency
            # One key per booking and attempt: a retried call never creates a second intent.
            key = f"mutualab-booking-{payment.booking_id}-attempt-{payment.attempt}"
            metadata = {
                "payment_id": str(payment.id),
                "booking_id": str(payment.booking_id),
                "place_id": str(payment.place_id),
            }
        try:
            intent = await self.gateway.create_intent(
                amount_cents=amount, currency=currency, idempotency_key=key, metadata=metadata
            )
        except ProviderError as exc:
            logger.warning("could not create the PaymentIntent of payment %s: %s", payment_id, exc)
            if report is not None:
                report.errors.append(f"payment {payment_id}: {exc}")
            return
        async with transaction(self.database) as session:
            repo = BillingRepository(session)
            payment = await repo.payment(payment_id, lock=True)
            if payment is None or payment.intent_id is not None:
                return
            payment.intent_id = intent.id
            payment.client_secret = intent.client_secret
            if payment.status == PaymentStatus.CANCELLED:
                # The booking ended while the intent was being created: cancel it too.
                payment.cancel_pending = True
            payment.updated_at = self.clock()
            await repo.add(payment)
        if report is not None:
            report.intents_created += 1

    async def sync_intent(self, intent_id: str) -> str:
        """Fetch a PaymentIntent back from the provider and apply it (never trust a browser)."""
        if self.gateway is None:
            return "card_payments_unavailable"
        intent = await self.gateway.retrieve_intent(intent_id)
        async with transaction(self.database) as session:
            return await self.services(session).apply_intent(intent, self.clock())

    async def _cancel_intent(self, payment_id: int, report: DispatchReport) -> None:
        assert self.gateway is not None
        async with transaction(self.database, write=False) as session:
            payment = await BillingRepository(session).payment(payment_id)
            intent_id = payment.intent_id if payment is not None else None
            pending = payment is not None and payment.cancel_pending
        if not pending:
            return
        if intent_id is not None:
            intent = await self.gateway.cancel_intent(
                intent_id, idempotency_key=f"mutualab-cancel-{intent_id}"
            )
        async with transaction(self.database) as session:
            services = self.services(session)
            if intent_id is not None:
                await services.apply_intent(intent, self.clock())
            payment = await services.repo.payment(payment_id, lock=True)
            if payment is not None and payment.cancel_pending:
                payment.cancel_pending = False
                if payment.status in (
                    PaymentStatus.PENDING,
                    PaymentStatus.REQUIRES_ACTION,
                    PaymentStatus.PROCESSING,
                    PaymentStatus.FAILED,
                ):
                    payment.status = PaymentStatus.CANCELLED
                await services.repo.add(payment)
        report.intents_cancelled += 1

    async def _send_refund(self, refund_id: int, report: DispatchReport) -> None:
        assert self.gateway is not None
        async with transaction(self.database, write=False) as session:
            repo = BillingRepository(session)
            refund = await repo.refund(refund_id)
            if refund is None or refund.status != RefundStatus.PENDING:
                return
            paid = (
                await repo.payment(refund.payment_id)
                if refund.payment_id is not None
                else await PlanRepository(session).charge(refund.plan_charge_id or 0)
            )
            assert paid is not None
            intent_id, amount, key = paid.intent_id, refund.amount_cents, refund.idempotency_key
            subject = (
                {"payment_id": str(refund.payment_id)}
                if refund.payment_id is not None
                else {"plan_charge_id": str(refund.plan_charge_id)}
            )
        failure: str | None = None
        result = None
        if intent_id is None:
            failure = "no PaymentIntent to refund"
        else:
            try:
                result = await self.gateway.refund(
                    intent_id,
                    amount,
                    idempotency_key=key,
                    metadata={"refund_id": str(refund_id), **subject},
                )
            except ProviderError as exc:
                if exc.status is None or exc.status >= 500 or exc.status == 429:
                    raise  # worth retrying later: the refund stays pending
                failure = str(exc)
        async with transaction(self.database) as session:
            repo = BillingRepository(session)
            refund = await repo.refund(refund_id, lock=True)
            if refund is None or refund.status != RefundStatus.PENDING:
                return
            refund.completed_at = self.clock()
            if result is not None:
                refund.status = (
                    RefundStatus.SUCCEEDED if result.status != "failed" else RefundStatus.FAILED
                )
                refund.provider_ref = result.id
                refunded = (
                    await repo.payment(refund.payment_id) if refund.payment_id is not None else None
                )
                if refund.status == RefundStatus.SUCCEEDED and refunded is not None:
                    await payment_refunded(session, refund, refunded)
            else:
                refund.status = RefundStatus.FAILED
                refund.failure_message = failure
                logger.error("refund %s failed: %s", refund_id, failure)
            await repo.add(refund)
        report.refunds_sent += 1

    async def dispatch(self) -> DispatchReport:
        """Do every provider call that committed work is waiting for."""
        report = DispatchReport()
        if self.gateway is None:
            return report
        # Cancelled tickets first: their card refunds are then sent below.
        await self.settle_tickets()
        async with transaction(self.database, write=False) as session:
            repo = BillingRepository(session)
            to_start = await repo.payments_to_start()
            to_cancel = await repo.payments_to_cancel()
            to_refund = await repo.refunds_to_send()
        for payment_id in to_start:
            await self.start_intent(payment_id, report)
        for payment_id in to_cancel:
            try:
                await self._cancel_intent(payment_id, report)
            except ProviderError as exc:
                report.errors.append(f"cancel payment {payment_id}: {exc}")
        # Cancelling may have found a late success and queued its refund: look again.
        async with transaction(self.database, write=False) as session:
            to_refund = sorted(
                set(to_refund) | set(await BillingRepository(session).refunds_to_send())
            )
        for refund_id in to_refund:
            try:
                await self._send_refund(refund_id, report)
            except ProviderError as exc:
                report.errors.append(f"refund {refund_id}: {exc}")
        return report

    # webhooks ---------------------------------------------------------------------------
    async def handle_webhook(self, event: WebhookEvent) -> str:
        """Apply a verified event once: replays and events out of order change nothing."""
        async with transaction(self.database, write=False) as session:
            seen = await BillingRepository(session).event(event.id)
        if seen is not None:
            return "duplicate"
        intent = None
        if event.object_type == "payment_intent" and event.object_id and self.gateway is not None:
            try:
                # The payload is only a hint: what counts is the intent as the provider has it.
                intent = await self.gateway.retrieve_intent(event.object_id)
            except ProviderError as exc:
                if exc.status != 404:
                    raise
        async with transaction(self.database) as session:
            repo = BillingRepository(session)
            now = self.clock()
            row = StripeEvent(
                id=event.id,
                type=event.type,
                intent_id=event.object_id if event.object_type == "payment_intent" else None,
                outcome="received",
                received_at=now,
            )
            if not await repo.record_event(row):
                return "duplicate"
            if event.object_type != "payment_intent":
                outcome = "ignored"
            elif intent is None:
                outcome = "unknown_payment_intent"
            else:
                outcome = await self.services(session).apply_intent(intent, now)
                if outcome == "unknown_payment_intent":
                    # Not a booking's: perhaps a membership period's, a ticket's, a pack's or a
                    # wallet top-up's.
                    outcome = await self.apply_charge_intent(session, intent, now)
            if outcome == "unknown_payment_intent":
                logger.warning(
                    "webhook %s about unknown PaymentIntent %s", event.id, event.object_id
                )
            stored = await repo.event(event.id)
            assert stored is not None
            stored.outcome = outcome
            await repo.add(stored)
        return outcome


async def after_response(request: Request[Any, Any, Any]) -> None:
    """After a request that may have queued provider work, do it (the response is already sent)."""
    if request.method in SAFE_METHODS:
        return
    billing: Billing | None = request.app.state.get("billing")
    if billing is None or billing.gateway is None:
        return
    try:
        report = await billing.dispatch()
    except Exception:  # never break the request: the next run or the CLI picks it up
        logger.exception("billing dispatch after %s failed", request.url.path)
        return
    for error in report.errors:
        logger.warning("billing dispatch: %s", error)
