"""Maintenance the workers (hold expiry, every minute) and the command line run: release
expired holds (cancelling their PaymentIntents), verify the invoice chains and the archives."""

from __future__ import annotations

from billing.accounting_repository import AccountingRepository
from billing.closing import verify_archives
from billing.invoicing import Finding, verify_documents
from billing.repository import BillingRepository
from billing.runtime import Billing, DispatchReport, transaction


async def expire_holds(billing: Billing) -> tuple[int, DispatchReport]:
    """Mark lapsed holds expired (billing's listener queues their PaymentIntents for cancelling),
    then make the queued provider calls after commit."""
    async with transaction(billing.database) as session:
        released = await billing.booking.bookings(session).release_expired_holds()
    return released, await billing.dispatch()


async def verify(billing: Billing, place_id: int | None = None) -> list[Finding]:
    """Everything wrong with the stored invoices and credit notes and the archives of closed
    periods ([] when intact)."""
    async with transaction(billing.database, write=False) as session:
        findings = await verify_documents(BillingRepository(session), place_id)
        return findings + await verify_archives(AccountingRepository(session), place_id)
