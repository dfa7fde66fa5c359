"""Money a place receives for a payment, receipt by receipt, and the correction of a mistake.

A receipt says how much came in, how (cash, cheque, card terminal, transfer), its reference (a
cheque's number) and on which day. The payment is paid once its receipts cover what is due;
then it is invoiced as a payment recorded at once would be. Receipts are never changed: a
mistaken one is reversed by a receipt of the opposite amount. Where the mistaken receipt had
completed the payment and so issued its invoice (on-site payments are invoiced when paid), a
credit note cancels that invoice, never an edit, and the next complete payment invoices anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from billing.events import payment_received
from billing.models import RECEIPT_MEANS, Payment, PaymentReceipt, PaymentStatus
from billing.payments import SYSTEM, PaymentService
from billing.providers.base import METHODS
from booking.models import BookingStatus
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError

DUE = (PaymentStatus.AWAITING_ON_SITE, PaymentStatus.INVOICED)
MAX_REFERENCE = 100
MAX_NOTE = 300


@dataclass(frozen=True, slots=True)
class ReceiptRead:
    """A receipt as the back office lists it."""

    id: int
    amount_cents: int
    means: str
    reference: str
    received_on: date
    reverses_id: int | None
    reversed: bool
    note: str
    created_at: datetime


def outstanding(payment: Payment, received: int) -> int:
    """What is still to be received: the amount, less what credit notes took off an unpaid
    invoice, less what came in."""
    credited = payment.refunded_cents if payment.status == PaymentStatus.INVOICED else 0
    return max(0, payment.amount_cents - credited - received)


class Receipts:
    """Receive money for a payment, list what came in, reverse a mistake."""

    def __init__(self, payments: PaymentService) -> None:
        self.payments = payments
        self.session = payments.repo.session

    async def _managed(self, actor: Actor, payment_id: int) -> Payment:
        payment = await self.payments.visible_payment(actor, payment_id, lock=True)
        if not actor.manages(payment.place_id):
            raise ForbiddenError(
                "Only the managers of the place record payments.", code="not_a_manager"
            )
        return payment

    async def _rows(self, payment_id: int) -> list[PaymentReceipt]:
        rows = await self.session.exec(
            select(PaymentReceipt)
            .where(PaymentReceipt.payment_id == payment_id)
            .order_by(col(PaymentReceipt.id))
        )
        return list(rows)

    async def of_payment(self, payment_id: int) -> list[ReceiptRead]:
        """The receipts of a payment (read through a payment the caller may see)."""
        rows = await self._rows(payment_id)
        reversed_ids = {r.reverses_id for r in rows if r.reverses_id is not None}
        return [
            ReceiptRead(
                id=r.id or 0,
                amount_cents=r.amount_cents,
                means=r.means,
                reference=r.reference,
                received_on=r.received_on,
                reverses_id=r.reverses_id,
                reversed=r.id in reversed_ids,
                note=r.note,
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def received(self, payment_id: int) -> int:
        """What came in for a payment, reversals deducted."""
        return sum(r.amount_cents for r in await self._rows(payment_id))

    async def receive(
        self,
        actor: Actor,
        payment_id: int,
        *,
        amount_cents: int,
        means: str,
        reference: str,
        received_on: date,
        now: datetime,
    ) -> PaymentReceipt:
        """Record money received; the payment is paid (and invoiced, on site) once covered."""
        payment = await self._managed(actor, payment_id)
        if payment.status not in DUE:
            raise ConflictError(
                f"This payment is {payment.status.replace('_', ' ')}: nothing to record.",
                code="payment_not_due",
                extra={"payment_status": payment.status},
            )
        booking = await self.payments.bookings.get(SYSTEM, payment.booking_id)
        if booking.status != BookingStatus.CONFIRMED:
            raise ConflictError(
                f"The booking is {booking.status.replace('_', ' ')}.", code="booking_not_confirmed"
            )
        if means not in RECEIPT_MEANS:
            raise InvalidInputError("Choose how it was paid.", field="means", code="bad_means")
        if len(reference) > MAX_REFERENCE:
            raise InvalidInputError(
                f"Use at most {MAX_REFERENCE} characters.", field="reference", code="too_long"
            )
        left = outstanding(payment, await self.received(payment_id))
        if not 0 < amount_cents <= left:
            raise InvalidInputError(
                f"The amount must be more than 0 and at most what is due ({left} cents).",
                field="amount",
                code="amount_not_due",
            )
        receipt = PaymentReceipt(
            payment_id=payment_id,
            amount_cents=amount_cents,
            means=means,
            reference=reference.strip(),
            received_on=received_on,
            recorded_by_user_id=actor.user_id,
            created_at=now,
        )
        self.session.add(receipt)
        await self.session.flush()
        if amount_cents == left:
            payment.status = PaymentStatus.SUCCEEDED
            payment.on_site_means = means
            payment.paid_at = now
            payment.updated_at = now
            await self.payments.repo.add(payment)
            await payment_received(self.session, payment)
            if METHODS[payment.method].invoice_on == "payment":
                await self.payments.invoice(payment, booking, now)
        return receipt

    async def receive_rest(
        self, actor: Actor, payment_id: int, means: str, now: datetime
    ) -> Payment:
        """Record that all that is still due came in today (the place's day) by ``means``: the
        API's one-call record, kept as a receipt like any other and so reversible."""
        payment = await self._managed(actor, payment_id)
        if payment.status in DUE:
            left = outstanding(payment, await self.received(payment_id))
            if left == 0:  # credit notes took it all off: nothing is to be received
                raise ConflictError(
                    "Nothing is left to receive for this payment.",
                    code="payment_not_due",
                    extra={"payment_status": payment.status},
                )
        else:
            left = 0  # receive() refuses it with the payment's status
        booking = await self.payments.bookings.get(SYSTEM, payment.booking_id)
        await self.receive(
            actor,
            payment_id,
            amount_cents=left,
            means=means,
            reference="",
            received_on=now.astimezone(ZoneInfo(booking.timezone)).date(),
            now=now,
        )
        return payment

    async def reverse(
        self, actor: Actor, payment_id: int, receipt_id: int, note: str, now: datetime
    ) -> PaymentReceipt:
        """Reverse a mistaken receipt; a payment it completed is due again, and the invoice
        that completion issued (on site) is cancelled by a credit note."""
        payment = await self._managed(actor, payment_id)
        rows = await self._rows(payment_id)
        found = next((r for r in rows if r.id == receipt_id), None)
        if found is None:
            raise NotFoundError(f"No receipt with id {receipt_id}.", code="receipt_not_found")
        if len(note) > MAX_NOTE:
            raise InvalidInputError(
                f"Use at most {MAX_NOTE} characters.", field="note", code="too_long"
            )
        if found.reverses_id is not None or any(r.reverses_id == receipt_id for r in rows):
            raise ConflictError(
                "This receipt is a reversal, or was reversed already.",
                code="receipt_already_reversed",
            )
        if payment.status not in (*DUE, PaymentStatus.SUCCEEDED):
            raise ConflictError(
                f"This payment is {payment.status.replace('_', ' ')}: the refund settled it.",
                code="payment_settled",
                extra={"payment_status": payment.status},
            )
        booking = await self.payments.bookings.get(SYSTEM, payment.booking_id)
        reversal = PaymentReceipt(
            payment_id=payment_id,
            amount_cents=-found.amount_cents,
            means=found.means,
            reference=found.reference,
            received_on=now.astimezone(ZoneInfo(booking.timezone)).date(),
            recorded_by_user_id=actor.user_id,
            reverses_id=receipt_id,
            note=note.strip(),
            created_at=now,
        )
        self.session.add(reversal)
        await self.session.flush()
        if payment.status == PaymentStatus.SUCCEEDED:
            await self._due_again(payment, now)
        return reversal

    async def _due_again(self, payment: Payment, now: datetime) -> None:
        info = METHODS[payment.method]
        payment.status = (
            PaymentStatus.INVOICED
            if payment.method == "invoice"
            else PaymentStatus.AWAITING_ON_SITE
        )
        payment.on_site_means = None
        payment.paid_at = None
        payment.updated_at = now
        await self.payments.repo.add(payment)
        if info.invoice_on != "payment":
            return  # its invoice bills the booking, paid or not: it stands
        booking = await self.payments.bookings.get(SYSTEM, payment.booking_id)
        await self.payments.cancel_invoice(
            payment,
            booking,
            f"Correction d'un encaissement enregistré par erreur pour la réservation "
            f"{booking.reference} : la facture sera émise de nouveau au paiement.",
            now,
        )
