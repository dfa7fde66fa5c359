"""A booking from the back office: receive its payment, reverse a mistaken receipt, move it,
cancel it for the place.

Moves and cancellations are the booking service's (the same re-pricing and refunds as a
person's own, a manager's cancellation being the place's: everything paid comes back);
receipts are billing's (:mod:`billing.receipts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.controllers import ACCOUNTS
from accounts.service import AccountService
from billing.controllers import PAYMENTS
from billing.payments import PaymentService
from billing.receipts import Receipts
from booking.controllers import AGENDA, BOOKINGS
from booking.schemas import BookingRead, Reschedule
from booking.service import Bookings, PlaceAgenda
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import AppError, InvalidInputError
from kernel.routes import post
from mutualab.web.booking_forms import FALLBACK_REFUSAL, REFUSALS
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.bookings import MAX_REASON, booking_page
from mutualab.web.pages.manage.common import AnyRequest, parse_cents, parse_day
from mutualab.web.pages.manage.desk import parse_time
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

RECEIPT_REFUSALS = {
    "payment_not_due": ("amount", N_("Nothing is due on this booking.")),
    "booking_not_confirmed": ("amount", N_("Approve the booking before recording its payment.")),
    "amount_not_due": ("amount", N_("Enter an amount above 0 and at most what is due.")),
    "bad_means": ("means", N_("Choose how it was paid.")),
    "too_long": ("reference", N_("Use at most %(n)s characters.")),
    "receipt_already_reversed": ("note", N_("This receipt was already reversed.")),
    "payment_settled": ("note", N_("The booking was cancelled and refunded: nothing to reverse.")),
}
MOVE_REFUSALS: dict[str, tuple[str | None, str]] = {
    **REFUSALS,
    "price_changed": (
        None,
        N_("This time has another price, and the payment cannot follow: cancel and rebook."),
    ),
    "booking_not_active": (None, N_("This booking is no longer active.")),
    "session_booking": (
        None,
        N_("This booking holds a session's equipment: change or cancel the session instead."),
    ),
}


@dataclass
class ReceiveForm:
    """Money received, as typed."""

    amount: str = ""
    means: str = ""
    reference: str = ""
    received_on: str = ""


@dataclass
class ReverseForm:
    """Why a receipt is reversed."""

    note: str = ""


@dataclass
class MoveForm:
    """The new time of a booking (local)."""

    day: str = ""
    start: str = ""
    end: str = ""


@dataclass
class CancelForm:
    """Why the place cancels a booking."""

    reason: str = ""


@dataclass
class EraseGuestForm:
    """The manager's confirmation that the walk-in asked for their data to be erased."""

    confirm: str = ""


class BookingDeskPages(Controller):
    """Payments, moves and cancellations of the bookings of the places I manage."""

    path = "/manage/bookings/{booking_id:int}"
    dependencies = {**CATALOGUE, **BOOKINGS, **AGENDA, **PAYMENTS}
    guards = [require_manager]

    async def _managed(
        self, actor: Actor, catalogue: CatalogueService, bookings: Bookings, booking_id: int
    ) -> BookingRead:
        booking = await bookings.get(actor, booking_id)
        await catalogue.managed_place(actor, booking.place_id)
        return booking

    @post("/receive", opt=PLACE_MANAGER)
    async def receive(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        booking_id: FromPath[int],
        data: URLEncodedBody[ReceiveForm],
    ) -> Response[Any]:
        """Record money received (amount, means, reference, day) for a booking's payment."""
        booking = await self._managed(actor, catalogue, bookings, booking_id)
        errors: Errors = {}
        status = 422
        amount = parse_cents(data.amount)
        received_on = parse_day(data.received_on)
        if amount is None or amount == 0:
            errors["amount"] = FieldError(N_("Enter an amount like 12,50."))
        if received_on is None:
            errors["received_on"] = FieldError(N_("Enter a date like 2027-03-03."))
        billing = await payments.booking_billing(actor, booking_id)
        if not errors and billing.payment is None:
            errors["amount"] = FieldError(RECEIPT_REFUSALS["payment_not_due"][1])
            status = 409
        if not errors and billing.payment is not None:
            assert amount is not None and received_on is not None
            try:
                async with db_session.begin_nested():
                    await Receipts(payments).receive(
                        actor,
                        billing.payment.id,
                        amount_cents=amount,
                        means=data.means,
                        reference=data.reference,
                        received_on=received_on,
                        now=clock(),
                    )
            except AppError as exc:
                field, message = RECEIPT_REFUSALS.get(exc.code, ("amount", FALLBACK_REFUSAL))
                errors[field] = FieldError(message, {"n": 100})
                status = 422 if isinstance(exc, InvalidInputError) else 409
            else:
                return see_other(f"/manage/bookings/{booking_id}", notice="payment_recorded")
        return await booking_page(
            request,
            actor,
            catalogue,
            agenda,
            payments,
            await bookings.get(actor, booking_id) if status == 409 else booking,
            chosen_means=data.means,
            errors=errors,
            status_code=status,
            receive=data,
        )

    @post("/receipts/{receipt_id:int}/reverse", opt=PLACE_MANAGER)
    async def reverse(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        booking_id: FromPath[int],
        receipt_id: FromPath[int],
        data: URLEncodedBody[ReverseForm],
    ) -> Response[Any]:
        """Reverse a receipt recorded by mistake (a credit note where it issued an invoice)."""
        booking = await self._managed(actor, catalogue, bookings, booking_id)
        billing = await payments.booking_billing(actor, booking_id)
        errors: Errors = {}
        status = 422
        if billing.payment is None:
            errors["note"] = FieldError(RECEIPT_REFUSALS["payment_not_due"][1])
            status = 409
        else:
            try:
                async with db_session.begin_nested():
                    await Receipts(payments).reverse(
                        actor, billing.payment.id, receipt_id, data.note, clock()
                    )
            except AppError as exc:
                if exc.code == "receipt_not_found":
                    raise
                # Every refusal of a reversal is shown by its one field, the note.
                _, message = RECEIPT_REFUSALS.get(exc.code, ("note", FALLBACK_REFUSAL))
                errors["note"] = FieldError(message, {"n": 300})
                status = 422 if isinstance(exc, InvalidInputError) else 409
            else:
                return see_other(f"/manage/bookings/{booking_id}", notice="receipt_reversed")
        return await booking_page(
            request,
            actor,
            catalogue,
            agenda,
            payments,
            booking,
            errors=errors,
            status_code=status,
        )

    @post("/move", opt=PLACE_MANAGER)
    async def move(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        booking_id: FromPath[int],
        data: URLEncodedBody[MoveForm],
    ) -> Response[Any]:
        """Move a booking to another time, re-priced as the person's own move would be."""
        booking = await self._managed(actor, catalogue, bookings, booking_id)
        tz = ZoneInfo(booking.timezone)
        errors: Errors = {}
        status = 422
        day, start, end = parse_day(data.day), parse_time(data.start), parse_time(data.end)
        if day is None:
            errors["move_day"] = FieldError(N_("Enter a date like 2027-03-03."))
        if start is None:
            errors["move_start"] = FieldError(N_("Enter a start time like 14:00."))
        if end is None or (start is not None and end <= start):
            errors["move_end"] = FieldError(N_("The end must be after the start."))
        if not errors:
            assert day is not None and start is not None and end is not None
            billing = await payments.booking_billing(actor, booking_id)
            payment = billing.payment
            pay_difference = (
                payment.method
                if payment is not None
                and payment.method in ("on_site", "invoice")
                and payment.status in ("awaiting_on_site", "invoiced")
                else None
            )
            try:
                async with db_session.begin_nested():
                    await bookings.reschedule(
                        actor,
                        booking_id,
                        Reschedule(
                            starts_at=datetime.combine(day, start, tz),
                            ends_at=datetime.combine(day, end, tz),
                            pay_difference=pay_difference,
                        ),
                    )
            except AppError as exc:
                field, message = MOVE_REFUSALS.get(exc.code, (None, FALLBACK_REFUSAL))
                errors[f"move_{field}" if field in ("day", "start", "end") else "move_day"] = (
                    FieldError(message)
                )
                status = 422 if isinstance(exc, InvalidInputError) else 409
            else:
                return see_other(f"/manage/bookings/{booking_id}", notice="booking_moved")
        return await booking_page(
            request,
            actor,
            catalogue,
            agenda,
            payments,
            booking,
            errors=errors,
            status_code=status,
            move=data,
        )

    @post("/cancel", opt=PLACE_MANAGER)
    async def cancel(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        booking_id: FromPath[int],
        data: URLEncodedBody[CancelForm],
    ) -> Response[Any]:
        """Cancel a booking for the place: everything paid comes back (the refund is shown
        with the button)."""
        booking = await self._managed(actor, catalogue, bookings, booking_id)
        errors: Errors = {}
        status = 422
        reason = data.reason.strip()
        if len(reason) > MAX_REASON:
            errors["cancel_reason"] = FieldError(
                N_("Use at most %(n)s characters."), {"n": MAX_REASON}
            )
        else:
            try:
                async with db_session.begin_nested():
                    await bookings.cancel(actor, booking_id, reason)
            except AppError as exc:
                _, message = MOVE_REFUSALS.get(exc.code, (None, FALLBACK_REFUSAL))
                errors["cancel_reason"] = FieldError(message)
                status = 409
                booking = await bookings.get(actor, booking_id)
            else:
                return see_other(f"/manage/bookings/{booking_id}", notice="booking_cancelled")
        return await booking_page(
            request,
            actor,
            catalogue,
            agenda,
            payments,
            booking,
            errors=errors,
            status_code=status,
            cancel_reason=data.reason,
        )

    @post("/erase-guest", opt=PLACE_MANAGER, dependencies=ACCOUNTS)
    async def erase_guest(
        self,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        accounts: NamedDependency[AccountService],
        booking_id: FromPath[int],
        data: URLEncodedBody[EraseGuestForm],
    ) -> Response[Any]:
        """Erase the personal data of the walk-in who made this booking (on their request)."""
        booking = await self._managed(actor, catalogue, bookings, booking_id)
        if data.confirm != "yes":
            return see_other(f"/manage/bookings/{booking_id}", notice="guest_not_erased")
        await accounts.erase_guest(actor, booking.place_id, booking.booker_user_id)
        day = booking.local_starts_at.date().isoformat()
        return see_other(
            f"/manage/places/{booking.place_id}/agenda",
            view="day",
            notice="guest_erased",
            **{"from": day},
        )
