"""The messages billing events cause: payment received, refund made, invoice or credit note
issued with its PDF (:class:`BillingMessages`, a subscriber to ``payment.*`` and
``invoice.*``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from billing.models import BillingDocument, Payment
from billing.render import invoice_pdf
from kernel.db import Database
from kernel.events import Event
from notifications.letters import Letter, booking_context, post
from notifications.message_facts import (
    PlaceFacts,
    booking_facts,
    place_facts,
    user_recipient,
)
from notifications.outbox import Attachment
from notifications.wording import money

RECEIVED = "payment.received"
REFUNDED = "payment.refunded"
ISSUED = "invoice.issued"


@dataclass(frozen=True)
class BillingMessages:
    """Writes the message of one billing event to the person (or organisation) it concerns."""

    database: Database
    base_url: str

    async def __call__(self, event: Event) -> None:
        """Queue the event's message, once per event."""
        async with self.database.writer() as session, session.begin():
            place_id = event.data.get("place_id")
            place = await place_facts(session, place_id) if isinstance(place_id, int) else None
            if place is None:
                return
            letter = await self.letter(session, event, place)
            if letter is not None:
                await post(session, event.key, letter, place)

    async def letter(self, session: AsyncSession, event: Event, place: PlaceFacts) -> Letter | None:
        """What ``event`` tells whom (None: no one)."""
        data = event.data
        if event.name in (RECEIVED, REFUNDED):
            payment = await session.get(Payment, data.get("payment_id"))
            if payment is None:
                return None
            to = await user_recipient(session, payment.payer_user_id)
            if to is None:
                return None
            context = await self._about_booking(session, data.get("booking_id"), to.language)
            context["amount"] = money(int(data["amount_cents"]), data["currency"], to.language)
            template = "payment_received" if event.name == RECEIVED else "refund_made"
            return Letter(to, template, context)
        if event.name == ISSUED:
            return await self._document(session, data.get("invoice_id"))
        return None

    async def _about_booking(
        self, session: AsyncSession, booking_id: object, language: str
    ) -> dict[str, Any]:
        booking = await booking_facts(session, booking_id) if isinstance(booking_id, int) else None
        if booking is None:
            return {"booking": None}
        return booking_context(booking, language, self.base_url)

    async def _document(self, session: AsyncSession, document_id: object) -> Letter | None:
        document = await session.get(BillingDocument, document_id)
        if document is None:
            return None
        buyer = await user_recipient(session, document.buyer_user_id)
        if buyer is None:
            return None
        # The invoice's recipient: the organisation's billing address when it has one.
        address = (document.content.get("buyer") or {}).get("email") or buyer.email
        to = replace(buyer, email=address)
        content = document.content
        period = content.get("period")
        # A grouped invoice bills several sessions: its period and their dates, not one booking.
        context: dict[str, Any] = (
            {"booking": None}
            if period
            else await self._about_booking(session, document.booking_id, to.language)
        )
        context["document"] = {
            "period": period.get("label") if period else None,
            "sessions": [s.get("text") for s in content.get("sessions") or []],
            "purchase_order": (content.get("payment") or {}).get("purchase_order"),
            "kind": document.kind,
            "number": document.number,
            "total": money(
                document.total_incl_vat_cents, document.content.get("currency", "EUR"), to.language
            ),
            "buyer": (document.content.get("buyer") or {}).get("name"),
        }
        pdf = Attachment(
            filename=f"{document.number}.pdf",
            content_type="application/pdf",
            data=invoice_pdf(document.content, document.hash),
        )
        return Letter(to, "invoice_issued", context, [pdf])
