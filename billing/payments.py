"""Payments: checkout, applying what the card provider reports, cancellations and refunds.

Everything here runs inside one database transaction and never calls the provider: the calls
(create or cancel a PaymentIntent, refund) are made after commit by :mod:`billing.dispatch`,
from the state these methods leave (a card payment without an intent, ``cancel_pending``, a
``pending`` refund). A booking is confirmed only from the provider's own account of a
PaymentIntent (a verified webhook, or the intent fetched back), never from the browser.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from accounts.guests import person_rates
from billing.adjustments import INCLUDED, Adjustments, Paid, give_back
from billing.coupons import stored_terms, terms_from
from billing.events import payment_received
from billing.grouped_invoices import GroupedInvoices, uses_grouping
from billing.invoicing import DocumentService, Party, session_of
from billing.ledger_list import LedgerFilter, ledger
from billing.member_benefits import member_benefits, with_benefits
from billing.models import PAID, BillingDocument, Payment, PaymentStatus, Refund, RefundStatus
from billing.pack_holdings import pack_minutes
from billing.prices import (
    Priced,
    PriceService,
    methods_for,
    refuse_unverified_invoice,
    tiers_of,
    with_adjustments,
)
from billing.providers.base import METHODS, IntentState
from billing.purchase_orders import require_purchase_order
from billing.refund_rows import decided_refund
from billing.refunds import refund_cents
from billing.repository import BillingRepository
from billing.schemas import (
    BookingBilling,
    CancellationRefund,
    CheckoutRequest,
    DocumentSummary,
    LedgerEntry,
    LedgerPage,
    PaymentRead,
    RefundRead,
)
from booking.charging import ChargeRequest
from booking.events import BookingEvent
from booking.models import Booking, BookingStatus
from booking.schemas import BookingCreate, BookingRead, ItemRequest
from booking.service import Bookings
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError

logger = logging.getLogger("mutualab.billing")

# Billing reads and confirms bookings on its own account, not on a caller's.
SYSTEM = Actor(is_admin=True, via="system")
OPEN_CARD = (
    PaymentStatus.PENDING,
    PaymentStatus.REQUIRES_ACTION,
    PaymentStatus.PROCESSING,
    PaymentStatus.FAILED,
)
ENDED_BOOKING = (BookingStatus.CANCELLED, BookingStatus.REFUSED, BookingStatus.EXPIRED)
ACTIVE_BOOKING = (BookingStatus.HELD, BookingStatus.PENDING_APPROVAL, BookingStatus.CONFIRMED)


def quoted_total(payment: Payment) -> int:
    """What the payment's quote totals, tax included (its amount, for an older payment)."""
    return int(payment.quote.get("total_incl_vat_cents", payment.amount_cents))


def refundable(payment: Payment) -> int:
    """What a cancellation may still give back: the current quote, less what was refunded
    beyond the fee a cheaper move kept (that fee is never refunded twice)."""
    quoted = quoted_total(payment)
    return max(0, min(payment.amount_cents - payment.refunded_cents, quoted))


def paid_start(payment: Payment, booking: BookingRead) -> datetime:
    """The start a refund tier is counted from: the one paid for, or the booking's if earlier.

    Moving a booking later cannot buy a better tier (nor can cancelling after such a move).
    """
    return min(payment.paid_starts_at, booking.starts_at)


def stored_quote(priced: Priced) -> dict[str, Any]:
    """The quote as charged, kept on the payment (the invoice is built from it), with the
    coupon it applied (a move re-prices with the same discount)."""
    stored = {**priced.quote.canonical(), "mentions": list(priced.quote.mentions)}
    if priced.coupon is not None:
        stored["coupon"] = stored_terms(priced.coupon)
    return stored


def _live_invoices(
    documents: Sequence[BillingDocument],
) -> list[tuple[BillingDocument, int]]:
    """The invoices not wholly cancelled by credit notes, with what they still bill."""
    credited: dict[int, int] = {}
    for document in documents:
        if document.kind == "credit_note" and document.corrects_id is not None:
            credited[document.corrects_id] = (
                credited.get(document.corrects_id, 0) + document.total_incl_vat_cents
            )
    live = []
    for document in documents:
        if document.kind == "invoice" and document.id is not None:
            left = document.total_incl_vat_cents - credited.get(document.id, 0)
            if left > 0:
                live.append((document, left))
    return live


@dataclass(frozen=True, slots=True)
class BillingConfig:
    """What the services need to know of the deployment."""

    card_available: bool
    publishable_key: str | None = None


def due_payment(
    *,
    booking_id: int,
    place_id: int,
    payer_user_id: int,
    organisation_id: int | None,
    method: str,
    priced: Priced,
    payment_terms_days: int,
    starts_at: datetime,
    now: datetime,
    purchase_order: str | None = None,
    status_reason: str | None = None,
) -> Payment:
    """A new payment of a priced booking, at its quote: what checkout and a manager's unpaid
    booking both record (due ``payment_terms_days`` after today, in the place's zone, when
    invoiced)."""
    info = METHODS[method]
    issued_on = now.astimezone(ZoneInfo(priced.place.timezone)).date()
    return Payment(
        booking_id=booking_id,
        place_id=place_id,
        payer_user_id=payer_user_id,
        organisation_id=organisation_id,
        user_type_code=priced.user_type,
        method=method,
        status=info.initial_status,
        amount_cents=priced.quote.due_cents,
        wallet_cents=priced.quote.wallet_cents,
        currency=priced.quote.currency,
        quote_fingerprint=priced.quote.fingerprint(),
        quote=stored_quote(priced),
        purchase_order=purchase_order,
        due_on=issued_on + timedelta(days=payment_terms_days) if method == "invoice" else None,
        status_reason=status_reason,
        # The wallet paid it all at checkout.
        paid_at=now if method == "wallet" else None,
        paid_starts_at=starts_at,
        created_at=now,
        updated_at=now,
    )


def summary(document: BillingDocument) -> DocumentSummary:
    """A document without its content."""
    assert document.id is not None
    content = document.content if isinstance(document.content, dict) else {}
    due_text = (content.get("payment") or {}).get("due_on")
    due_on = date.fromisoformat(due_text) if isinstance(due_text, str) else None
    return DocumentSummary(
        id=document.id,
        kind=document.kind,
        number=document.number,
        issued_at=document.issued_at,
        booking_id=document.booking_id,
        payment_id=document.payment_id,
        plan_charge_id=document.plan_charge_id,
        total_incl_vat_cents=document.total_incl_vat_cents,
        corrects_id=document.corrects_id,
        period=(content.get("period") or {}).get("label"),
        sessions=len(content.get("sessions") or [None]),
        due_on=due_on,
    )


class ManagerCharge:
    """A priced booking a manager makes without checkout, recorded as due once stored."""

    def __init__(
        self, payments: PaymentService, request: ChargeRequest, priced: Priced, method: str
    ) -> None:
        self.payments = payments
        self.request = request
        self.priced = priced
        self.method = method

    async def record(self, booking: Booking, now: datetime) -> None:
        """Record the payment due (a series' dates share one quote, unless a date is longer or
        shorter in real time, across a change of clocks)."""
        priced = self.priced
        if booking.ends_at - booking.starts_at != self.request.ends_at - self.request.starts_at:
            priced = await self.payments.prices.price(
                [ItemRequest(resource_id=rid, quantity=q) for rid, q in self.request.items],
                booking.starts_at,
                booking.ends_at,
                self.request.user_type,
            )
        await self.payments.record_unpaid(self.request, priced, self.method, booking, now)


class PaymentService:
    """Checkout, payment state, cancellations, refunds and the payer's views."""

    def __init__(
        self,
        repository: BillingRepository,
        prices: PriceService,
        documents: DocumentService,
        bookings: Bookings,
        config: BillingConfig,
    ) -> None:
        self.repo = repository
        self.prices = prices
        self.documents = documents
        self.bookings = bookings
        self.config = config
        self.grouped = GroupedInvoices(repository, prices, documents, bookings)

    # reads --------------------------------------------------------------------------
    async def read(self, payment: Payment, actor: Actor) -> PaymentRead:
        """A payment as the API shows it (the client secret only to the payer)."""
        assert payment.id is not None
        refunds = await self.repo.refunds_of([payment.id])
        documents = await self.repo.documents_of_booking(payment.booking_id)
        mine = actor.user_id is not None and actor.user_id == payment.payer_user_id
        return PaymentRead(
            id=payment.id,
            booking_id=payment.booking_id,
            place_id=payment.place_id,
            method=payment.method,
            status=payment.status,
            amount_cents=payment.amount_cents,
            refunded_cents=payment.refunded_cents,
            wallet_cents=payment.wallet_cents,
            wallet_refunded_cents=payment.wallet_refunded_cents,
            currency=payment.currency,
            attempt=payment.attempt,
            intent_id=payment.intent_id,
            client_secret=payment.client_secret if mine else None,
            publishable_key=self.config.publishable_key if payment.method == "card" else None,
            purchase_order=payment.purchase_order,
            due_on=payment.due_on,
            on_site_means=payment.on_site_means,
            failure_code=payment.failure_code,
            failure_message=payment.failure_message,
            status_reason=payment.status_reason,
            status_detail=payment.status_detail,
            paid_at=payment.paid_at,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
            refunds=[
                RefundRead(
                    id=r.id or 0,
                    amount_cents=r.amount_cents,
                    percent=r.percent,
                    reason=r.reason,
                    detail=r.detail,
                    status=r.status,
                    credit_note_id=r.credit_note_id,
                    created_at=r.created_at,
                    completed_at=r.completed_at,
                )
                for r in refunds
            ],
            documents=[summary(d) for d in documents if d.payment_id == payment.id],
        )

    async def visible_booking(self, actor: Actor, booking_id: int) -> BookingRead:
        """A booking the actor may see (its booker, its organisation, its place's managers)."""
        return await self.bookings.get(actor, booking_id)

    async def visible_plan_document(self, actor: Actor, document: BillingDocument) -> None:
        """A membership's document: its buyer, a member of the organisation it bills, or a
        manager of its place; 404 otherwise."""
        if (
            actor.manages(document.place_id)
            or (actor.user_id is not None and document.buyer_user_id == actor.user_id)
            or (document.organisation_id is not None and actor.member_of(document.organisation_id))
        ):
            return
        raise NotFoundError(f"No invoice with id {document.id}.", code="invoice_not_found")

    async def visible_payment(
        self, actor: Actor, payment_id: int, *, lock: bool = False
    ) -> Payment:
        """A payment of a booking the actor may see; 404 otherwise."""
        payment = await self.repo.payment(payment_id, lock=lock)
        if payment is None:
            raise NotFoundError(f"No payment with id {payment_id}.", code="payment_not_found")
        try:
            await self.visible_booking(actor, payment.booking_id)
        except NotFoundError:
            raise NotFoundError(
                f"No payment with id {payment_id}.", code="payment_not_found"
            ) from None
        return payment

    async def booking_billing(self, actor: Actor, booking_id: int) -> BookingBilling:
        """The payment, refunds and documents of a booking."""
        await self.visible_booking(actor, booking_id)
        payment = await self.repo.payment_of_booking(booking_id)
        documents = await self.repo.documents_of_booking(booking_id)
        return BookingBilling(
            booking_id=booking_id,
            payment=await self.read(payment, actor) if payment is not None else None,
            documents=[summary(d) for d in documents],
            if_cancelled_now=await self.cancellation_refund(
                payment, await self.visible_booking(actor, booking_id), self.bookings.clock()
            ),
        )

    async def documents_of_bookings(
        self, bookings: Sequence[BookingRead]
    ) -> dict[int, list[DocumentSummary]]:
        """The documents of bookings read through the booking service (so visible to the caller)."""
        found: dict[int, list[DocumentSummary]] = {b.id: [] for b in bookings}
        for booking_id, document in await self.repo.documents_by_booking(sorted(found)):
            found[booking_id].append(summary(document))
        return found

    async def cancellation_refund(
        self,
        payment: Payment | None,
        booking: BookingRead,
        now: datetime,
        *,
        by_place: bool = False,
    ) -> CancellationRefund | None:
        """What the booker would get back by cancelling at ``now`` (None: nothing to cancel);
        ``by_place``: the place cancels it (everything paid comes back).

        The same decision :meth:`_refund_on_cancel` applies, so the page can show it first.
        """
        if booking.status not in ACTIVE_BOOKING:
            return None
        packs_back = 0
        used = await self.prices.packs.used_by(booking.id)
        used_minutes = sum(used.values())
        if payment is not None and used:
            percent = await self._time_back_percent(
                payment, booking, BookingStatus.CANCELLED, now, by_place=by_place
            )
            packs_back = sum(v * percent // 100 for v in used.values())
        if payment is None or payment.status not in (*PAID, PaymentStatus.INVOICED):
            # A share paid from the wallet comes back whole: the booking was never paid.
            return CancellationRefund(
                outcome="nothing_paid",
                amount_cents=0,
                percent=0,
                reason="nothing_paid",
                tier="",
                wallet_cents=(
                    payment.wallet_cents - payment.wallet_refunded_cents if payment else 0
                ),
                pack_minutes=packs_back,
                pack_minutes_used=used_minutes,
            )
        settings = await self.prices.settings_of(payment.place_id)
        decision = refund_cents(
            refundable(payment),
            paid_start(payment, booking),
            now,
            tiers_of(settings),
            by_place=by_place,
        )
        wallet_left = payment.wallet_cents - payment.wallet_refunded_cents
        return CancellationRefund(
            outcome="less_to_pay" if payment.status == PaymentStatus.INVOICED else "refund",
            amount_cents=decision.amount_cents,
            percent=decision.percent,
            reason=decision.reason.value,
            tier=decision.tier_label,
            wallet_cents=give_back(Paid(wallet_cents=wallet_left), decision.percent).wallet_cents,
            pack_minutes=packs_back,
            pack_minutes_used=used_minutes,
        )

    async def place_documents(
        self,
        actor: Actor,
        place_id: int,
        limit: int,
        offset: int,
        narrowed: LedgerFilter | None = None,
    ) -> LedgerPage:
        """The invoices and credit notes of a place its managers see, newest first: whom each
        bills and where it stands, narrowed by words, month of issue and state."""
        await self.prices.catalogue.managed_place(actor, place_id)
        session = self.repo.session
        found, total = await ledger(
            session, place_id, narrowed or LedgerFilter(), self.bookings.clock(), limit, offset
        )
        documents = {
            d.id: d for d in await self.repo.documents_by_ids([r.document_id for r in found])
        }
        items = [
            LedgerEntry(
                **summary(documents[r.document_id]).model_dump(),
                client=r.client,
                email=r.email,
                purchase_order=r.purchase_order,
                state=r.state,
            )
            for r in found
        ]
        return LedgerPage(items=items, total=total, limit=limit, offset=offset)

    # checkout -----------------------------------------------------------------------
    async def checkout(
        self, actor: Actor, data: CheckoutRequest, now: datetime
    ) -> tuple[Payment, BookingRead, Priced]:
        """Re-quote, check the fingerprint, book (held for card payments) and record the payment."""
        if actor.user_id is None:
            raise ForbiddenError(
                "Bookings are made by a user account, not an admin token.",
                code="user_account_required",
            )
        if data.use_wallet and data.organisation_id is not None:
            raise InvalidInputError(
                "A wallet is a person's: it does not pay an organisation's booking.",
                field="use_wallet",
                code="wallet_not_for_organisations",
            )
        user_type = await self.prices.user_type_for(actor, data.organisation_id, None)
        base = await self.prices.price(data.items, data.starts_at, data.ends_at, user_type)
        # The holder's periods are locked before their included minutes are counted: a
        # checkout racing for the same minutes counts them once this one has committed.
        benefits = await member_benefits(
            self.repo.session,
            base,
            user_id=actor.user_id,
            organisation_id=data.organisation_id,
            now=now,
            lock=True,
        )
        # A coupon that can no longer be used is left out, a wallet's share follows its
        # balance, included minutes follow what other bookings used: the price then changed.
        priced = await self.prices.adjust(
            base,
            coupon_code=data.coupon_code,
            use_wallet=data.use_wallet,
            user_id=actor.user_id,
            now=now,
            strict=False,
            use_packs=data.use_packs,
            organisation_id=data.organisation_id,
            benefits=benefits,
        )
        if priced.quote.fingerprint() != data.quote_fingerprint:
            await self._quote_moved(priced)
        place = priced.place
        assert place.id is not None
        settings = await self.prices.settings_of(place.id)
        if priced.quote.is_free:
            method = "free"
        elif not priced.quote.due_cents:
            method = "wallet"  # the wallet pays it all
        else:
            method = data.method
        refuse_unverified_invoice(method, settings, priced.user_type, priced.invoice_refusal)
        if method not in ("free", "wallet"):
            allowed = [
                m
                for m in methods_for(settings, priced.user_type)
                if m != "invoice" or priced.may_invoice
            ]
            if method not in allowed:
                raise ConflictError(
                    f"This place does not accept {METHODS[method].label_fr.lower()} for the "
                    f"user type {priced.user_type!r}"
                    + ("" if priced.may_invoice else " (invoices: verified organisations)")
                    + ".",
                    code="payment_method_not_allowed",
                    extra={"allowed": allowed},
                )
            if method == "card" and not self.config.card_available:
                raise ConflictError(
                    "Card payments are not available on this instance.",
                    code="card_payments_unavailable",
                )
        await require_purchase_order(self.repo, data.organisation_id, method, data.purchase_order)
        info = METHODS[method]
        booking = await self.bookings.create(
            actor,
            BookingCreate(
                items=data.items,
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                organisation_id=data.organisation_id,
                notes=data.notes,
                hold_minutes=settings.hold_minutes if info.holds else None,
            ),
            checkout=True,
        )
        if booking.status == BookingStatus.PENDING_APPROVAL and method == "card":
            raise ConflictError(
                "This booking needs a manager's approval first: pay on site or on invoice.",
                code="approval_required",
            )
        payment = due_payment(
            booking_id=booking.id,
            place_id=place.id,
            payer_user_id=actor.user_id,
            organisation_id=data.organisation_id,
            method=method,
            priced=priced,
            payment_terms_days=settings.payment_terms_days,
            starts_at=booking.starts_at,
            now=now,
            purchase_order=data.purchase_order,
        )
        await self.repo.add(payment)
        assert payment.id is not None
        wallets = self.prices.wallets
        taken = pack_minutes(priced.quote)
        if taken:
            # Under each pack's row lock; a savepoint, so the new quote sees the packs as they
            # are if one was used elsewhere since the quote (then nothing is booked).
            savepoint = await self.repo.session.begin_nested()
            if not await self.prices.packs.take(taken, booking.id, booking.starts_at, now):
                await savepoint.rollback()
                await self._quote_moved(
                    await self.prices.adjust(
                        base,
                        coupon_code=data.coupon_code,
                        use_wallet=data.use_wallet,
                        user_id=actor.user_id,
                        now=now,
                        strict=False,
                        use_packs=True,
                        organisation_id=data.organisation_id,
                        benefits=benefits,
                    )
                )
            await savepoint.commit()
        if priced.coupon is not None:
            discount = -sum(
                a.total_incl_vat_cents for a in priced.quote.adjustments if a.kind == "coupon"
            )
            if not await self.prices.coupons.redeem(
                priced.coupon, actor.user_id, booking.id, payment.id, discount, now
            ):
                # Its last use went to someone else since the quote: nothing is booked.
                balance = await wallets.balance(place.id, actor.user_id) if data.use_wallet else 0
                await self._quote_moved(
                    with_adjustments(
                        base,
                        Adjustments(benefits=benefits, packs=priced.packs, wallet_cents=balance),
                    )
                )
        if priced.quote.wallet_cents and not await wallets.spend(
            place.id, actor.user_id, priced.quote.wallet_cents, booking.id, payment.id, now
        ):
            # The wallet was spent elsewhere since the quote: nothing is booked.
            balance = await wallets.balance(place.id, actor.user_id)
            await self._quote_moved(
                with_adjustments(
                    base,
                    Adjustments(
                        benefits=benefits,
                        packs=priced.packs,
                        coupon=priced.coupon,
                        wallet_cents=balance,
                    ),
                )
            )
        if info.invoice_on == "confirmation" and booking.status == BookingStatus.CONFIRMED:
            await self._invoice(payment, booking, now)
        return payment, booking, priced

    async def _quote_moved(self, priced: Priced) -> NoReturn:
        """409 ``price_changed`` with the quote as it is now."""
        current = await self.prices.quote_read(priced)
        raise ConflictError(
            "The price changed since it was quoted: check the new price and try again.",
            code="price_changed",
            extra={"quote": current.model_dump(mode="json")},
        )

    # bookings made without checkout (booking.charging) -----------------------------------
    async def unpaid_charge(self, request: ChargeRequest) -> ManagerCharge | None:
        """None for a free request; a manager's booking to record as due; else 409
        ``payment_required`` with the quote and where to pay."""
        priced = await self.prices.price(
            [ItemRequest(resource_id=rid, quantity=q) for rid, q in request.items],
            request.starts_at,
            request.ends_at,
            request.user_type,
        )
        if priced.quote.is_free:
            return None
        if not request.actor.manages(request.place_id):
            current = await self.prices.quote_read(priced)
            raise ConflictError(
                "This booking has a price: book it through checkout (POST /api/checkout, or "
                "POST /api/series/checkout for a series), which takes the payment.",
                code="payment_required",
                extra={
                    "checkout": "/api/checkout",
                    "quote": current.model_dump(mode="json"),
                },
            )
        settings = await self.prices.settings_of(request.place_id)
        allowed = methods_for(settings, request.user_type)
        if request.pay_by is not None:
            return ManagerCharge(self, request, priced, await self._desk_method(request))
        # A manager's booking is paid at the desk, unless the place takes only invoices from
        # this user type.
        method = "invoice" if "invoice" in allowed and "on_site" not in allowed else "on_site"
        return ManagerCharge(self, request, priced, method)

    async def _desk_method(self, request: ChargeRequest) -> str:
        """How the front desk said a booking is paid: on site, or on invoice for a person
        whose address is verified (an invoice names a buyer who is who they say)."""
        if request.pay_by not in ("on_site", "invoice"):
            raise InvalidInputError(
                "Pay on site or on invoice.", field="pay_by", code="invalid_payment_method"
            )
        if request.pay_by == "invoice":
            refusal = (
                await person_rates(self.repo.session, request.payer_user_id)
            ).invoice_refusal(request.place_id)
            if refusal is not None:
                raise ConflictError(
                    "This person cannot be invoiced: their e-mail address is not verified. "
                    "Take the payment on site.",
                    code="invoice_not_allowed",
                    extra={"reason": refusal},
                )
        return request.pay_by

    async def record_unpaid(
        self, request: ChargeRequest, priced: Priced, method: str, booking: Booking, now: datetime
    ) -> Payment:
        """The payment due of a priced booking a manager made without checkout."""
        assert booking.id is not None
        info = METHODS[method]
        settings = await self.prices.settings_of(request.place_id)
        payment = due_payment(
            booking_id=booking.id,
            place_id=request.place_id,
            payer_user_id=request.payer_user_id,
            organisation_id=request.organisation_id,
            method=method,
            priced=priced,
            payment_terms_days=settings.payment_terms_days,
            starts_at=booking.starts_at,
            now=now,
            status_reason="booked_by_manager",
        )
        await self.repo.add(payment)
        if info.invoice_on == "confirmation" and booking.status == BookingStatus.CONFIRMED:
            await self._invoice(payment, await self.bookings.get(SYSTEM, booking.id), now)
        return payment

    # documents ------------------------------------------------------------------------
    async def _party(self, payment: Payment, booking: BookingRead) -> Party:
        place = await self.prices.catalogue.require_place(payment.place_id)
        buyer = await self.repo.user(payment.payer_user_id)
        assert buyer is not None
        organisation = (
            await self.repo.organisation(payment.organisation_id)
            if payment.organisation_id is not None
            else None
        )
        settings = await self.prices.settings_of(payment.place_id)
        return Party(place, settings, buyer, organisation, booking)

    async def invoice(self, payment: Payment, booking: BookingRead, now: datetime) -> None:
        """Invoice a confirmed booking at its payment's quote (once; nothing for a free one)."""
        await self._invoice(payment, booking, now)

    async def _invoice(self, payment: Payment, booking: BookingRead, now: datetime) -> None:
        documents = await self.repo.documents_of_booking(booking.id)
        if _live_invoices(documents) or quoted_total(payment) == 0:
            return
        if await self.invoiced_later(payment):
            # The place groups its invoices, or issues them later: due once issued.
            assert payment.id is not None
            await self.grouped.issue_due(payment.place_id, now, [payment.id])
            return
        await self.documents.issue_invoice(await self._party(payment, booking), payment, now)

    async def invoiced_later(self, payment: Payment) -> bool:
        """Whether ``payment`` is invoiced by the place's grouped invoices (then it is due from
        their issue, not from its booking)."""
        grouping = uses_grouping(await self.prices.settings_of(payment.place_id), payment.method)
        if grouping and await self.repo.invoice_line_of(payment.id or 0) is None:
            payment.due_on = None
        return grouping

    async def cancel_invoice(
        self, payment: Payment, booking: BookingRead, reason: str, now: datetime
    ) -> None:
        """Cancel what the payment's live invoice still bills by a credit note (a payment
        recorded by mistake had issued it); the next one is issued when it is paid."""
        documents = await self.repo.documents_of_booking(payment.booking_id)
        for invoice, left in _live_invoices(documents):
            if invoice.payment_id == payment.id:
                party = await self._party(payment, booking)
                await self.documents.issue_credit_note(party, payment, invoice, left, reason, now)

    async def _invoice_of(self, payment: Payment) -> BillingDocument | None:
        documents = await self.repo.documents_of_booking(payment.booking_id)
        invoices = [
            d
            for d in documents
            if d.kind == "invoice"
            and (d.payment_id == payment.id or session_of(d, payment.id) is not None)
        ]
        return invoices[-1] if invoices else None

    # card payments ---------------------------------------------------------------------
    async def apply_intent(self, intent: IntentState, now: datetime) -> str:
        """Bring a payment in line with its PaymentIntent as the provider reports it.

        Safe to repeat and in any order: a paid payment never goes back, a failure reported
        after a success is ignored. Returns what was done (stored as the webhook's outcome).
        Locks are taken booking first, then payment, as a cancellation takes them.
        """
        found = await self.repo.payment_of_intent(intent.id)
        if found is None:
            return "unknown_payment_intent"
        assert found.id is not None
        if intent.amount != found.amount_cents or intent.currency != found.currency:
            logger.error(
                "PaymentIntent %s is %s %s but payment %s expects %s %s",
                intent.id,
                intent.amount,
                intent.currency,
                found.id,
                found.amount_cents,
                found.currency,
            )
            return "amount_mismatch"
        if intent.status == "succeeded" and found.status not in PAID:
            return await self._paid(found.id, found.booking_id, now)
        payment = await self.repo.payment(found.id, lock=True)
        assert payment is not None
        if payment.status in PAID:
            return "already_paid"
        if intent.status == "canceled":
            payment.status = PaymentStatus.CANCELLED
            payment.cancel_pending = False
        elif intent.status in ("requires_action", "processing"):
            if payment.status == PaymentStatus.CANCELLED:
                return "no_change"
            payment.status = PaymentStatus(intent.status)
        elif intent.status == "requires_payment_method" and (
            intent.failure_code or intent.failure_message
        ):
            if payment.status == PaymentStatus.CANCELLED:
                return "no_change"
            payment.status = PaymentStatus.FAILED
            payment.failure_code = intent.failure_code
            payment.failure_message = intent.failure_message
        else:
            return "no_change"
        payment.updated_at = now
        await self.repo.add(payment)
        return payment.status

    async def _paid(self, payment_id: int, booking_id: int, now: datetime) -> str:
        try:
            booking = await self.bookings.confirm_hold(booking_id)
        except (ConflictError, NotFoundError) as exc:
            state = exc.extra.get("booking_status", "gone")
            payment = await self.repo.payment(payment_id, lock=True)
            assert payment is not None
            if payment.status in PAID:
                return "already_paid"  # a concurrent delivery confirmed it first
            # The money arrived but the booking is gone (its hold expired and the slot was
            # released, or it was cancelled): give everything back and say why.
            reason = (
                "paid_after_hold_expired"
                if state == BookingStatus.EXPIRED
                else "paid_after_cancellation"
            )
            payment.status = PaymentStatus.REFUNDED
            payment.paid_at = now
            payment.refunded_cents = payment.amount_cents
            payment.cancel_pending = False
            payment.status_reason = reason
            payment.status_detail = (
                "Le paiement est arrivé après l'expiration de la réservation provisoire : le "
                "créneau a été libéré et le paiement est intégralement remboursé."
                if state == BookingStatus.EXPIRED
                else "Le paiement est arrivé après l'annulation de la réservation : il est "
                "intégralement remboursé."
            )
            payment.updated_at = now
            await self.repo.add(payment)
            await self.repo.add(
                Refund(
                    payment_id=payment_id,
                    amount_cents=payment.amount_cents,
                    percent=100,
                    reason=reason,
                    detail=payment.status_detail,
                    status=RefundStatus.PENDING,
                    idempotency_key=f"mutualab-refund-payment-{payment_id}-{reason}",
                    created_at=now,
                )
            )
            return reason
        payment = await self.repo.payment(payment_id, lock=True)
        assert payment is not None
        payment.status = PaymentStatus.SUCCEEDED
        payment.paid_at = now
        payment.cancel_pending = False
        payment.failure_code = None
        payment.failure_message = None
        payment.updated_at = now
        await self.repo.add(payment)
        await payment_received(self.repo.session, payment)
        await self._invoice(payment, booking, now)
        return "confirmed"

    # booking events (called inside the booking's transaction) ----------------------------
    async def booking_changed(self, event: BookingEvent) -> None:
        """A move is re-priced; approval invoices on-invoice bookings; cancellation refunds by
        the place's policy; an ended hold has its PaymentIntent cancelled (after commit). A paid
        hold confirmed (which billing did itself) changes nothing."""
        if event.moved_from is not None:
            await self._moved(event)
            return
        approved = (
            event.status == BookingStatus.CONFIRMED
            and event.previous == BookingStatus.PENDING_APPROVAL
        )
        if not approved and event.status not in ENDED_BOOKING:
            return
        payment = await self.repo.payment_of_booking(event.booking_id, lock=True)
        if payment is None:
            return
        booking = await self.bookings.get(SYSTEM, event.booking_id)
        if approved:
            if METHODS[payment.method].invoice_on == "confirmation":
                await self._invoice(payment, booking, event.at)
            return
        await self._packs_back(payment, booking, event)
        await self._included_kept(payment, booking, event)
        payment.updated_at = event.at
        if payment.status in (*OPEN_CARD, PaymentStatus.AWAITING_ON_SITE, PaymentStatus.FREE):
            # Ended with nothing paid: its coupon use and its wallet share are given back.
            assert payment.id is not None
            if payment.quote.get("coupon"):
                await self.prices.coupons.release(payment.id, event.at)
            await self._wallet_back(
                payment, payment.wallet_cents - payment.wallet_refunded_cents, event.at
            )
        if payment.status in OPEN_CARD:
            payment.status_reason = f"booking_{event.status}"
            if payment.intent_id is not None:
                payment.cancel_pending = True
            else:
                payment.status = PaymentStatus.CANCELLED
        elif payment.status == PaymentStatus.AWAITING_ON_SITE:
            payment.status = PaymentStatus.CANCELLED
            payment.status_reason = f"booking_{event.status}"
        elif payment.status in (
            PaymentStatus.SUCCEEDED,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.INVOICED,
        ):
            await self._refund_on_cancel(payment, booking, event)
        await self.repo.add(payment)

    async def _time_back_percent(
        self,
        payment: Payment,
        booking: BookingRead,
        status: BookingStatus,
        at: datetime,
        *,
        by_place: bool,
    ) -> int:
        """The share of its pack minutes and included minutes an ended booking gives back:
        whole when it ended before it was ever confirmed (hold expired, refused, a card hold
        never paid), else by the place's refund tiers, as money."""
        if status != BookingStatus.CANCELLED or payment.status in OPEN_CARD:
            return 100
        settings = await self.prices.settings_of(payment.place_id)
        return refund_cents(
            0, paid_start(payment, booking), at, tiers_of(settings), by_place=by_place
        ).percent

    async def _packs_back(
        self, payment: Payment, booking: BookingRead, event: BookingEvent
    ) -> None:
        """Give back the pack minutes an ended booking took (a movement per pack)."""
        if not await self.prices.packs.used_by(event.booking_id):
            return
        percent = await self._time_back_percent(
            payment, booking, event.status, event.at, by_place=event.by_place
        )
        await self.prices.packs.give_back(
            event.booking_id,
            percent,
            f"Annulation de la réservation {booking.reference} ({percent} %)",
            event.at,
        )

    async def _included_kept(
        self, payment: Payment, booking: BookingRead, event: BookingEvent
    ) -> None:
        """Keep, on the payment, the included minutes the refund tier does not give back: the
        holder's allowance counts them as used (:func:`billing.benefits.benefits_for`)."""
        covered = max(
            (
                int(c["minutes"])
                for c in payment.quote.get("coverage", [])
                if c.get("source") == INCLUDED
            ),
            default=0,
        )
        if not covered:
            return
        percent = await self._time_back_percent(
            payment, booking, event.status, event.at, by_place=event.by_place
        )
        payment.included_kept_minutes = covered - covered * percent // 100

    async def _wallet_back(self, payment: Payment, cents: int, now: datetime) -> None:
        """Put ``cents`` of what the wallet paid back into it (nothing for 0)."""
        if cents <= 0:
            return
        assert payment.id is not None
        await self.prices.wallets.give_back(
            payment.place_id,
            payment.payer_user_id,
            cents,
            payment.booking_id,
            payment.id,
            "Annulation de la réservation",
            now,
        )
        payment.wallet_refunded_cents += cents

    async def _refund_on_cancel(
        self, payment: Payment, booking: BookingRead, event: BookingEvent
    ) -> None:
        assert payment.id is not None
        settings = await self.prices.settings_of(payment.place_id)
        decision = refund_cents(
            refundable(payment),
            paid_start(payment, booking),
            event.at,
            tiers_of(settings),
            by_place=event.by_place,
        )
        # What the wallet paid comes back by the same tier (a means of payment like any other).
        wallet_left = payment.wallet_cents - payment.wallet_refunded_cents
        wallet_back = give_back(Paid(wallet_cents=wallet_left), decision.percent).wallet_cents
        invoice = await self._invoice_of(payment)
        if (
            invoice is None
            and payment.status == PaymentStatus.INVOICED
            and uses_grouping(settings, payment.method)
        ):
            # Its grouped invoice is not issued yet: the session is simply not invoiced.
            payment.status = PaymentStatus.CANCELLED
            payment.status_reason = "cancelled_before_invoice"
            payment.status_detail = "Annulée avant l'émission de la facture : rien n'est dû."
            await self._wallet_back(payment, wallet_left, event.at)
            return
        payment.status_reason = f"cancelled_{decision.reason.value}"
        payment.status_detail = f"{decision.percent} % ({decision.tier_label})"
        if decision.amount_cents == 0 and wallet_back == 0:
            return
        credit_note_id = None
        if invoice is not None:
            credit = await self.documents.issue_credit_note(
                await self._party(payment, booking),
                payment,
                invoice,
                decision.amount_cents + wallet_back,
                f"Annulation de la réservation {booking.reference} : remboursement "
                f"{decision.percent} % ({decision.tier_label}).",
                event.at,
            )
            credit_note_id = credit.id
        await self._wallet_back(payment, wallet_back, event.at)
        unpaid_invoice = payment.status == PaymentStatus.INVOICED
        payment.refunded_cents += decision.amount_cents
        everything_back = (
            payment.refunded_cents == payment.amount_cents
            and payment.wallet_refunded_cents == payment.wallet_cents
        )
        if unpaid_invoice:
            # Nothing was paid: the credit note reduces what is due.
            if everything_back:
                payment.status = PaymentStatus.CANCELLED
            return
        payment.status = (
            PaymentStatus.REFUNDED if everything_back else PaymentStatus.PARTIALLY_REFUNDED
        )
        if decision.amount_cents == 0:
            return
        # The booker may ask for the refund in their wallet at the place: it is given there at
        # once and no money moves (no refund to the card or at the desk): the credit note
        # leaves the customer a credit, which the wallet holds.
        if event.refund_to == "wallet" and event.actor_user_id == payment.payer_user_id:
            await self.prices.wallets.give_back(
                payment.place_id,
                payment.payer_user_id,
                decision.amount_cents,
                payment.booking_id,
                payment.id,
                f"Remboursement de l'annulation de {booking.reference} ({decision.tier_label})",
                event.at,
                kind="refund_credit",
            )
            return
        await self.repo.add(
            decided_refund(
                decision,
                "cancellation",
                payment.method,
                f"mutualab-refund-payment-{payment.id}-{payment.refunded_cents}",
                event.at,
                payment_id=payment.id,
                credit_note_id=credit_note_id,
            )
        )

    # moves (a reschedule, heard as a booking event) --------------------------------------
    async def _moved(self, event: BookingEvent) -> None:
        """Re-price a moved booking at its user type, as checkout would quote the new range.

        The same total moves as is; a cheaper one gives the difference back by the place's
        refund tiers (counted from the start paid for); a dearer one is a ``409 price_changed``
        unless nothing is paid yet and the request pays the difference the same way (on site,
        or on invoice). An invoice already issued is never changed: a credit note cancels what
        it still bills for, and a new invoice bills the new times.
        """
        if await self.prices.packs.used_by(event.booking_id):
            # Its hours came from packs valid at the old start: cancel (they come back by the
            # refund tiers) and book the new time through checkout.
            raise ConflictError(
                "This booking was paid with prepaid hours: cancel it and book the new time.",
                code="paid_with_packs",
            )
        booking = await self.bookings.get(SYSTEM, event.booking_id)
        payment = await self.repo.payment_of_booking(event.booking_id, lock=True)
        priced = await self.prices.price(
            [ItemRequest(resource_id=i.resource_id, quantity=i.quantity) for i in booking.items],
            booking.starts_at,
            booking.ends_at,
            payment.user_type_code if payment is not None else booking.user_type_code,
        )
        # The booker's memberships at the new start, the booking's own time not counted as
        # used (it is what is moved). Not under the periods' lock: the move holds its booking's
        # locks already, and checkout takes the periods' first (the other order could deadlock).
        benefits = await member_benefits(
            self.repo.session,
            priced,
            user_id=booking.booker_user_id,
            organisation_id=booking.organisation_id,
            now=event.at,
            excluding=(booking.id,),
        )
        terms = terms_from(payment.quote.get("coupon")) if payment is not None else None
        if terms is not None:
            # The discount the booking was paid with stays (its use is already counted).
            priced = with_adjustments(priced, Adjustments(benefits=benefits, coupon=terms))
        else:
            priced = with_benefits(priced, benefits)
        new_total = priced.quote.total_incl_vat_cents
        if payment is None:
            if new_total:
                # Booked free (before the resource had a price): a priced range needs checkout.
                await self._price_changed(priced, 0, [])
            return
        current = quoted_total(payment)
        difference = new_total - current
        refunded = 0
        if difference and payment.wallet_cents:
            # Paid partly from the wallet: cancel and book the new range through checkout.
            await self._price_changed(priced, difference, [])
        if difference > 0:
            allowed = (
                [payment.method]
                if payment.status in (PaymentStatus.INVOICED, PaymentStatus.AWAITING_ON_SITE)
                else []
            )
            if event.pay_difference is None or event.pay_difference not in allowed:
                await self._price_changed(priced, difference, allowed)
            payment.amount_cents += difference
        elif difference < 0 and payment.status == PaymentStatus.AWAITING_ON_SITE:
            payment.amount_cents += difference  # nothing paid yet: less is due
        elif difference < 0 and payment.status in OPEN_CARD:
            # The card payment under way is for the old amount.
            await self._price_changed(priced, difference, [])
        elif difference < 0:
            refunded = await self._refund_move(payment, booking, -difference, event)
        payment.quote = stored_quote(priced)
        payment.quote_fingerprint = priced.quote.fingerprint()
        payment.updated_at = event.at
        await self.repo.add(payment)
        await self._reinvoice(payment, booking, -difference - refunded, event.at)

    async def _price_changed(self, priced: Priced, difference: int, allowed: list[str]) -> None:
        current = await self.prices.quote_read(priced)
        raise ConflictError(
            "This move changes the price: "
            + (
                f"say how the difference is paid (pay_difference: {', '.join(allowed)})."
                if allowed
                else "cancel this booking and book the new range through checkout."
            ),
            code="price_changed",
            extra={
                "quote": current.model_dump(mode="json"),
                "difference_cents": difference,
                "pay_difference": allowed,
            },
        )

    async def _refund_move(
        self, payment: Payment, booking: BookingRead, cheaper_by: int, event: BookingEvent
    ) -> int:
        """Give back what a cheaper move saves, by the place's tiers; what was given back."""
        assert payment.id is not None
        if payment.status not in (*PAID, PaymentStatus.INVOICED):
            return 0
        settings = await self.prices.settings_of(payment.place_id)
        decision = refund_cents(
            min(cheaper_by, payment.amount_cents - payment.refunded_cents),
            paid_start(payment, booking),
            event.at,
            tiers_of(settings),
            by_place=event.by_place,
        )
        if decision.amount_cents == 0:
            return 0
        payment.refunded_cents += decision.amount_cents
        if payment.status == PaymentStatus.INVOICED:
            return decision.amount_cents  # nothing paid: the credit note reduces what is due
        payment.status = PaymentStatus.PARTIALLY_REFUNDED
        await self.repo.add(
            decided_refund(
                decision,
                "move",
                payment.method,
                f"mutualab-refund-payment-{payment.id}-{payment.refunded_cents}",
                event.at,
                payment_id=payment.id,
            )
        )
        return decision.amount_cents

    async def _reinvoice(
        self, payment: Payment, booking: BookingRead, kept: int, now: datetime
    ) -> None:
        """Credit the invoice of the old times (less the fee ``kept`` of a cheaper move) and
        invoice the new times at the payment's new quote."""
        invoice = await self._invoice_of(payment)
        if invoice is None:
            return  # not invoiced yet: the invoice, when issued, has the new times and price
        assert invoice.id is not None
        credited = sum(
            d.total_incl_vat_cents
            for d in await self.repo.documents_of_booking(payment.booking_id)
            if d.kind == "credit_note" and d.corrects_id == invoice.id
        )
        session = session_of(invoice, payment.id)
        billed = (
            int(session["total_incl_vat_cents"])
            if session is not None
            else invoice.total_incl_vat_cents
        )
        amount = billed - credited - max(kept, 0)
        party = await self._party(payment, booking)
        if amount > 0:
            await self.documents.issue_credit_note(
                party,
                payment,
                invoice,
                amount,
                f"Modification de la réservation {booking.reference} : nouvelle facture pour "
                f"le nouveau créneau.",
                now,
            )
        if payment.quote.get("total_incl_vat_cents", 0):
            await self.documents.issue_invoice(party, payment, now)
