"""What billing publishes for after commit (kernel.events): money received, refunded, documents
issued. Messages and webhooks subscribe; each is published in the transaction that records it."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from billing.models import BillingDocument, Payment, Refund
from kernel import events


async def payment_received(session: AsyncSession, payment: Payment) -> None:
    """A payment was received (card, on site or by transfer)."""
    assert payment.id is not None
    await events.publish(
        session,
        "payment.received",
        {
            "payment_id": payment.id,
            "booking_id": payment.booking_id,
            "place_id": payment.place_id,
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
        },
        key=f"payment.{payment.id}.received",
    )


async def payment_refunded(session: AsyncSession, refund: Refund, payment: Payment) -> None:
    """A refund reached the payer."""
    assert refund.id is not None
    await events.publish(
        session,
        "payment.refunded",
        {
            "refund_id": refund.id,
            "payment_id": payment.id,
            "booking_id": payment.booking_id,
            "place_id": payment.place_id,
            "amount_cents": refund.amount_cents,
            "currency": payment.currency,
        },
        key=f"refund.{refund.id}.succeeded",
    )


async def document_issued(session: AsyncSession, document: BillingDocument) -> None:
    """An invoice or a credit note was issued."""
    assert document.id is not None
    await events.publish(
        session,
        "invoice.issued",
        {
            "invoice_id": document.id,
            "kind": document.kind,
            "place_id": document.place_id,
            "booking_id": document.booking_id,
        },
        key=f"document.{document.id}.issued",
    )
