"""The agenda of a place (a day or a week) and one booking: approve, refuse, record a payment.

Decisions and payments are the booking and billing services' (they check the manager, the
booking's state and the payment's); these pages only show their answers by the right field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import PAYMENTS
from billing.payments import PaymentService
from billing.receipts import Receipts
from billing.schemas import PaymentRead
from booking.controllers import AGENDA, BOOKINGS
from booking.models import BookingStatus
from booking.schemas import AgendaEntry, BookingRead
from booking.service import Bookings, PlaceAgenda
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import AppError, ConflictError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, cents_text, place_page
from mutualab.web.rendering import i18n_of, see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

MAX_REASON = 500
FromDay = Annotated[date | None, QueryParameter(name="from")]
View = Annotated[str, QueryParameter(max_length=10)]
Status = Annotated[Literal["pending_approval"] | None, QueryParameter()]
MEANS = {
    "cash": N_("Cash"),
    "cheque": N_("Cheque"),
    "card_terminal": N_("Card, on the place's terminal"),
    "transfer": N_("Bank transfer"),
}
PAYMENT_STATUSES = {
    "awaiting_on_site": N_("To be paid at the place"),
    "invoiced": N_("Invoiced, awaiting payment"),
    "succeeded": N_("Paid"),
    "partially_refunded": N_("Paid, partly refunded"),
    "refunded": N_("Refunded"),
    "cancelled": N_("Cancelled"),
    "pending": N_("Card payment in progress"),
    "requires_action": N_("Card payment in progress"),
    "processing": N_("Card payment in progress"),
    "failed": N_("Card payment failed"),
}
DECISION_ERRORS = {
    "booking_not_pending": N_("This booking is no longer awaiting approval."),
    "slot_unavailable": N_("Some units of this booking are no longer held: refuse it."),
}


@dataclass
class DecisionForm:
    """An approval or refusal, with an optional reason for the booker."""

    reason: str = ""


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


class BookingPages(Controller):
    """The agenda and bookings of the places I manage."""

    path = "/manage"
    dependencies = {**CATALOGUE, **BOOKINGS, **AGENDA, **PAYMENTS}
    guards = [require_manager]

    @get("/places/{place_id:int}/agenda", opt=PLACE_MANAGER)
    async def agenda(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        agenda: NamedDependency[PlaceAgenda],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        from_: FromDay = None,
        view: View = "week",
        status: Status = None,
    ) -> Template:
        """The bookings of a place, a day or a week (Monday to Sunday), in its local time;
        ``status``: only those awaiting approval (the planning's count links here)."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        today = clock().astimezone(ZoneInfo(place.timezone)).date()
        day = from_ or today
        span = 1 if view == "day" else 7
        first = day if span == 1 else week_start(day)
        days = await agenda.agenda(actor, place_id, first, first + timedelta(days=span))
        pending = sum(
            e.booking.status == BookingStatus.PENDING_APPROVAL for d in days.days for e in d.entries
        )
        if status == "pending_approval":
            for agenda_day in days.days:
                agenda_day.entries = [e for e in agenda_day.entries if e.booking.status == status]
        return place_page(
            request,
            "manage/agenda.html",
            place,
            "/agenda",
            agenda=days,
            view="day" if span == 1 else "week",
            first=first,
            previous=first - timedelta(days=span),
            following=first + timedelta(days=span),
            today=today,
            pending=pending,
            status=status,
            zone=ZoneInfo(place.timezone),
        )

    async def _managed_booking(
        self, actor: Actor, catalogue: CatalogueService, bookings: Bookings, booking_id: int
    ) -> BookingRead:
        # Its booker may see it too, but only the place's managers reach its back office page.
        booking = await bookings.get(actor, booking_id)
        await catalogue.managed_place(actor, booking.place_id)
        return booking

    @get("/bookings/{booking_id:int}", opt=PLACE_MANAGER)
    async def booking(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        booking_id: FromPath[int],
    ) -> Template:
        """One booking of a place I manage: who, what, when, its payment and invoices."""
        booking = await self._managed_booking(actor, catalogue, bookings, booking_id)
        return await booking_page(request, actor, catalogue, agenda, payments, booking)

    async def _decide(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        bookings: Bookings,
        agenda: PlaceAgenda,
        payments: PaymentService,
        db_session: AsyncSession,
        booking_id: int,
        data: DecisionForm,
        approve: bool,
    ) -> Response[Any]:
        booking = await self._managed_booking(actor, catalogue, bookings, booking_id)
        reason = data.reason.strip()
        errors: Errors = {}
        if len(reason) > MAX_REASON:
            errors["reason"] = FieldError(N_("Use at most %(n)s characters."), {"n": MAX_REASON})
        else:
            try:
                async with db_session.begin_nested():
                    if approve:
                        await bookings.approve(actor, booking_id, reason)
                    else:
                        await bookings.refuse(actor, booking_id, reason)
            except ConflictError as exc:
                errors["reason"] = FieldError(_error(DECISION_ERRORS, exc))
                booking = await bookings.get(actor, booking_id)
            else:
                notice = "booking_approved" if approve else "booking_refused"
                return see_other(f"/manage/bookings/{booking_id}", notice=notice)
        status = 409 if "reason" in errors and len(reason) <= MAX_REASON else 422
        return await booking_page(
            request,
            actor,
            catalogue,
            agenda,
            payments,
            booking,
            reason=data.reason,
            errors=errors,
            status_code=status,
        )

    @post("/bookings/{booking_id:int}/approve", opt=PLACE_MANAGER)
    async def approve(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        booking_id: FromPath[int],
        data: URLEncodedBody[DecisionForm],
    ) -> Response[Any]:
        """Confirm a booking awaiting approval."""
        return await self._decide(
            request,
            actor,
            catalogue,
            bookings,
            agenda,
            payments,
            db_session,
            booking_id,
            data,
            True,
        )

    @post("/bookings/{booking_id:int}/refuse", opt=PLACE_MANAGER)
    async def refuse(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        db_session: NamedDependency[AsyncSession],
        booking_id: FromPath[int],
        data: URLEncodedBody[DecisionForm],
    ) -> Response[Any]:
        """Refuse a booking awaiting approval; its units are freed."""
        return await self._decide(
            request,
            actor,
            catalogue,
            bookings,
            agenda,
            payments,
            db_session,
            booking_id,
            data,
            False,
        )


def outstanding_of(payment: PaymentRead, received: int) -> int:
    """What is still to be received for a payment due (none once paid or cancelled)."""
    if payment.status not in ("awaiting_on_site", "invoiced"):
        return 0
    credited = payment.refunded_cents if payment.status == "invoiced" else 0
    return max(0, payment.amount_cents - credited - received)


def _error(known: dict[str, str], exc: AppError) -> str:
    return known.get(exc.code, N_("This cannot be done now: the situation changed."))


async def booking_page(
    request: AnyRequest,
    actor: Actor,
    catalogue: CatalogueService,
    agenda: PlaceAgenda,
    payments: PaymentService,
    booking: BookingRead,
    *,
    reason: str = "",
    chosen_means: str = "",
    errors: Errors | None = None,
    status_code: int = 200,
    **form: Any,
) -> Template:
    """A booking's back-office page: who, what, when, its payment, receipts and invoices."""
    place = await catalogue.place_detail(booking.place_id, include_inactive=True)
    day = booking.local_starts_at.date()
    found = await agenda.agenda(
        actor, booking.place_id, day, day + timedelta(days=1), include_cancelled=True
    )
    entry: AgendaEntry | None = next(
        (e for d in found.days for e in d.entries if e.booking.id == booking.id), None
    )
    billing = await payments.booking_billing(actor, booking.id)
    place_cancels = await payments.cancellation_refund(
        await payments.repo.payment_of_booking(booking.id),
        booking,
        payments.bookings.clock(),
        by_place=actor.user_id != booking.booker_user_id,
    )
    receipts = Receipts(payments)
    received = await receipts.of_payment(billing.payment.id) if billing.payment else []
    tz = ZoneInfo(place.timezone)
    due = (
        outstanding_of(billing.payment, sum(r.amount_cents for r in received))
        if billing.payment
        else 0
    )
    return place_page(
        request,
        "manage/booking.html",
        place,
        "/agenda",
        status_code=status_code,
        booking=booking,
        entry=entry,
        billing=billing,
        payment_statuses=PAYMENT_STATUSES,
        means=MEANS,
        chosen_means=chosen_means,
        reason=reason,
        errors=errors or {},
        receipts=received,
        due=due,
        due_text=cents_text(due, i18n_of(request).lang),
        place_cancels=place_cancels,
        today=payments.bookings.clock().astimezone(tz).date(),
        **form,
    )
