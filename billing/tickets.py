"""Session tickets: priced per user type, quoted, registered and paid through one charge.

A ticket is charged as a membership's period is (``plan_charge``, one per registration): the
same PaymentIntent job, the same invoice in the place's one chain, the same money received on
site. What differs is what it is for (``registration_id``), and that a cancelled ticket is
settled by the place's refund tiers (:meth:`TicketService.settle`).

The quote is :func:`billing.pricing.quote` over one line (the seats at the user type's price),
and registering recomputes it: a fingerprint that moved is ``409 price_changed`` with the quote
as it is now, nothing registered. The seats are taken by the programme's one conditional
``UPDATE`` in the same transaction as the charge, so a ticket awaiting its card payment holds
its seats (never oversold); unpaid after :data:`CARD_HOLD`, it is released.

Cancelled registrations (by the person, by the place, below the minimum) are settled after
their commit by :meth:`TicketService.settle`: each charge, under its row lock and once
(``settled_at``), gets its credit note and refund (by the tiers when the person cancelled, in
full when the place did); card refunds are sent to Stripe by the billing dispatch, deduplicated
by their idempotency key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from billing.charge_setup import INITIAL_STATUS, due_on, invoice_parties, start_card_intent
from billing.invoicing import DocumentService
from billing.memberships import charge_read
from billing.models import PaymentStatus, PlanCharge, Refund, RefundStatus
from billing.plan_quote import plan_vat
from billing.plan_repository import PlanRepository
from billing.plan_schemas import ChargeRead
from billing.prices import Priced, PriceService, regime_of, tiers_of
from billing.pricing import (
    QuoteRequestLine,
    Rate,
    VatRegime,
    excl_vat_cents,
    incl_vat_cents,
    quote,
)
from billing.providers.base import IntentState
from billing.purchase_orders import require_purchase_order
from billing.refund_rows import decided_refund
from billing.refunds import refund_cents
from billing.repository import BillingRepository
from billing.schemas import QuoteRead
from billing.ticket_schemas import TicketOrder, TicketPricesWrite, TicketRead
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, InvalidInputError
from programme.models import ProgrammeSession, Registration, RegistrationStatus
from programme.reads import session_read
from programme.registrations import Registrations, registration_not_found
from programme.repository import ProgrammeRepository
from programme.schemas import RegistrationCreate, SessionRead
from programme.sessions import not_found
from resources.service import CatalogueService

ANY = "*"
# A ticket awaiting its card payment holds its seats this long.
CARD_HOLD = timedelta(minutes=20)
UNPAID = (PaymentStatus.PENDING, PaymentStatus.AWAITING_ON_SITE)
BATCH = 200


def session_vat(row: ProgrammeSession) -> VatRegime:
    """The VAT regime of a session's tickets."""
    return plan_vat(row.ticket_vat_kind, row.ticket_vat_rate_bp, row.ticket_vat_mention)


def price_of(row: ProgrammeSession, user_type: str) -> int | None:
    """A seat's price excl. VAT for ``user_type`` (its own, else ``*``'s); 0 for a session
    without prices; None when the session has prices but none for this user type."""
    if not row.ticket_prices:
        return 0
    by_type = {p["user_type"]: int(p["price_cents"]) for p in row.ticket_prices}
    return by_type.get(user_type, by_type.get(ANY))


def ticket_line(
    row: ProgrammeSession, tz: ZoneInfo, price_cents: int, seats: int
) -> QuoteRequestLine:
    """The quote line of ``seats`` seats at ``price_cents`` each (excl. VAT)."""
    day = row.starts_at.astimezone(tz)
    label = f"Inscription « {row.title} » du {day:%d/%m/%Y à %H:%M} ({seats} place(s))"
    rate = Rate(flat_fee_cents=price_cents * seats, free=price_cents == 0)
    return QuoteRequestLine(label, rate, session_vat(row), row.starts_at, row.ends_at, seats)


class TicketService:
    """Ticket prices, quotes, paid registrations and their settlement on one session."""

    def __init__(
        self,
        prices: PriceService,
        documents: DocumentService,
        registrations: Registrations,
        catalogue: CatalogueService,
        *,
        card_available: bool,
    ) -> None:
        self.prices = prices
        self.documents = documents
        self.registrations = registrations
        self.catalogue = catalogue
        self.programme: ProgrammeRepository = registrations.repo
        self.plans = PlanRepository(self.programme.session)
        self.billing = BillingRepository(self.programme.session)
        self.card_available = card_available
        self.clock = registrations.clock

    # prices -----------------------------------------------------------------------------
    async def set_prices(
        self, actor: Actor, session_id: int, data: TicketPricesWrite
    ) -> list[SessionRead]:
        """Set a session's ticket prices (and its series' that have not started)."""
        row = await self.programme.get(session_id, lock=True)
        if row is None:
            raise not_found(session_id)
        place = await self.catalogue.managed_place(actor, row.place_id)
        vat = regime_of(data.vat)
        codes = await self.billing.user_type_codes()
        seen: set[str] = set()
        prices: list[dict[str, Any]] = []
        for index, item in enumerate(data.prices):
            field = f"prices[{index}].user_type"
            if item.user_type in seen:
                raise InvalidInputError("Each user type once.", field=field, code="duplicate")
            if item.user_type != ANY and item.user_type not in codes:
                raise InvalidInputError(
                    f"Unknown user type {item.user_type!r}.", field=field, code="unknown_user_type"
                )
            seen.add(item.user_type)
            excl = (
                excl_vat_cents(item.price_cents, vat)
                if data.amounts_include_vat
                else item.price_cents
            )
            prices.append(
                {
                    "user_type": item.user_type,
                    "price_cents": excl,
                    "price_incl_vat_cents": incl_vat_cents(excl, vat),
                }
            )
        now = self.clock()
        rows = [row]
        if data.whole_series:
            rows += [r for r in await self._series(row) if r.id != row.id and r.starts_at > now]
        for each in rows:
            each.ticket_prices = prices
            each.ticket_vat_kind = vat.kind.value
            each.ticket_vat_rate_bp = int(vat.rate.scaleb(2))
            each.ticket_vat_mention = vat.mention
            each.priced = any(p["price_cents"] > 0 for p in prices)
        await self.programme.add(*rows)
        return [session_read(r, place, now) for r in rows]

    async def _series(self, row: ProgrammeSession) -> list[ProgrammeSession]:
        found = await self.programme.session.exec(
            select(ProgrammeSession)
            .where(ProgrammeSession.series_key == row.series_key)
            .order_by(col(ProgrammeSession.starts_at))
            .with_for_update()
        )
        return list(found.all())

    # quotes -----------------------------------------------------------------------------
    async def priced(
        self, actor: Actor, session_id: int, seats: int, organisation_id: int | None
    ) -> Priced:
        """The ticket of ``seats`` seats for the actor (or their organisation)."""
        row = await self.programme.get(session_id)
        if row is None:
            raise not_found(session_id)
        rates = await self.prices.user_type_for(actor, organisation_id, None)
        assert not isinstance(rates, str)
        user_type = rates.at(row.place_id)
        refusal = rates.invoice_refusal(row.place_id)
        price = price_of(row, user_type)
        if price is None:
            raise ConflictError(
                f"This session is not offered to the user type {user_type!r}.",
                code="no_rate",
                extra={"session_id": session_id, "user_type": user_type},
            )
        place = await self.catalogue.active_place(row.place_id)
        line = ticket_line(row, ZoneInfo(place.timezone), price, seats)
        return Priced(place, user_type, [], quote([line]), [line], refusal is None, refusal)

    async def quote(
        self, actor: Actor, session_id: int, seats: int, organisation_id: int | None
    ) -> QuoteRead:
        """What registering ``seats`` seats costs, with its fingerprint."""
        return await self.prices.quote_read(
            await self.priced(actor, session_id, seats, organisation_id)
        )

    async def _moved(self, priced: Priced) -> NoReturn:
        current = await self.prices.quote_read(priced)
        raise ConflictError(
            "The price changed since it was quoted: check the new price and try again.",
            code="price_changed",
            extra={"quote": current.model_dump(mode="json")},
        )

    # registering ------------------------------------------------------------------------
    async def order(self, actor: Actor, session_id: int, data: TicketOrder) -> TicketRead:
        """Register at the quoted price and charge it (on site, on invoice, or by card)."""
        priced = await self.priced(actor, session_id, data.seats, data.organisation_id)
        if priced.quote.fingerprint() != data.fingerprint:
            await self._moved(priced)
        read = await self.prices.quote_read(priced)
        free = priced.quote.is_free
        method = data.payment_method
        if not free and method not in read.payment_methods:
            raise ConflictError(
                f"This payment method is not offered here for the user type {priced.user_type!r}.",
                code="payment_method_not_allowed",
                extra={"allowed": read.payment_methods},
            )
        if not free and method == "invoice" and data.organisation_id is None:
            raise ConflictError(
                "Paying on invoice is for organisations.", code="invoice_not_allowed"
            )
        if not free:
            await require_purchase_order(
                self.billing, data.organisation_id, method, data.purchase_order
            )
        if data.waitlist and not free and method != "on_site":
            # A place in the waitlist is paid once seats come: at the desk, not in advance.
            raise InvalidInputError(
                "Waiting for seats of a paid session is paid on site.",
                field="payment_method",
                code="waitlist_on_site_only",
            )
        registered = await self.registrations.register(
            actor,
            session_id,
            RegistrationCreate(seats=data.seats, waitlist=data.waitlist),
            ticketed=True,
            tell=free or method != "card",
        )
        if free:
            return TicketRead(registration=registered, charge=None)
        now = self.clock()
        settings = await self.prices.settings_of(priced.place.id or 0)
        tz = ZoneInfo(priced.place.timezone)
        stored = {**priced.quote.canonical(), "mentions": list(priced.quote.mentions)}
        charge = PlanCharge(
            registration_id=registered.id,
            place_id=priced.place.id or 0,
            payer_user_id=registered.user_id,
            organisation_id=data.organisation_id,
            method=method,
            status=INITIAL_STATUS[method],
            amount_cents=priced.quote.total_incl_vat_cents,
            quote=stored,
            purchase_order=data.purchase_order,
            due_on=due_on(method, now.astimezone(tz).date(), settings.payment_terms_days),
            created_at=now,
            updated_at=now,
        )
        await self.plans.add(charge)
        if method == "invoice":
            await self._invoice(charge, now)
        elif method == "card":
            await start_card_intent(self.plans.session, charge.id, f"membership-intent-{charge.id}")
        return await self.read(actor, registered.id)

    async def _invoice(self, charge: PlanCharge, now: datetime) -> None:
        assert charge.registration_id is not None
        registration = await self.programme.registration(charge.registration_id)
        assert registration is not None
        row = await self.programme.get(registration.session_id)
        assert row is not None
        seller, buyer = await invoice_parties(
            self.catalogue,
            self.prices,
            self.billing,
            charge.place_id,
            charge.payer_user_id,
            charge.organisation_id,
        )
        tz = ZoneInfo(seller[0].timezone)
        local = row.starts_at.astimezone(tz)
        about = {
            "booking": None,
            "ticket": {
                "registration_id": registration.id,
                "session_id": row.id,
                "title": row.title,
                "seats": registration.seats,
                "local_start": local.strftime("%Y-%m-%d %H:%M"),
                "timezone": tz.key,
            },
            "service_date": local.date().isoformat(),
        }
        await self.documents.issue_charge_invoice(seller, buyer, charge, about, now)

    async def _paid(self, charge: PlanCharge, now: datetime) -> None:
        """The ticket is paid: invoiced (on invoice it was already), the person told."""
        charge.status = PaymentStatus.SUCCEEDED
        charge.paid_at = now
        charge.updated_at = now
        await self.plans.add(charge)
        if charge.method != "invoice":
            await self._invoice(charge, now)
        if charge.method == "card" and charge.registration_id is not None:
            await self.registrations.confirmed(charge.registration_id)

    async def receive(self, actor: Actor, registration_id: int) -> TicketRead:
        """A manager records the ticket's money received at the desk (the invoice follows)."""
        charge = await self._charge(actor, registration_id, manager=True, lock=True)
        if charge is None or charge.status != PaymentStatus.AWAITING_ON_SITE:
            raise ConflictError("Nothing is due on site.", code="nothing_due")
        await self._paid(charge, self.clock())
        return await self.read(actor, registration_id)

    async def apply_intent(self, intent: IntentState, now: datetime) -> str:
        """A ticket's PaymentIntent as the provider reports it: paid once; paid after its hold
        was released, given back in full."""
        charge = await self.plans.charge_of_intent(intent.id)
        if charge is None or charge.registration_id is None:
            return "unknown_payment_intent"
        if charge.status == PaymentStatus.SUCCEEDED or charge.paid_at is not None:
            return "already_paid"
        if intent.status != "succeeded" or intent.amount != charge.amount_cents:
            return intent.status
        if charge.status == PaymentStatus.CANCELLED:
            # Paid too late: the seats went back, so the money goes back too (nothing invoiced).
            charge.paid_at = now
            charge.refunded_cents = charge.amount_cents
            charge.status = PaymentStatus.REFUNDED
            await self.plans.add(charge)
            await self.plans.add(
                Refund(
                    plan_charge_id=charge.id,
                    amount_cents=charge.amount_cents,
                    reason="paid_after_release",
                    status=RefundStatus.PENDING,
                    idempotency_key=f"mutualab-refund-charge-{charge.id}",
                    created_at=now,
                )
            )
            return "refunded_late"
        await self._paid(charge, now)
        return "paid"

    # reads ------------------------------------------------------------------------------
    async def _charge(
        self, actor: Actor, registration_id: int, *, manager: bool = False, lock: bool = False
    ) -> PlanCharge | None:
        registration = await self.programme.registration(registration_id)
        if registration is None:
            raise registration_not_found(registration_id)
        row = await self.programme.get(registration.session_id)
        assert row is not None
        allowed = actor.manages(row.place_id) or (
            not manager and registration.user_id == actor.user_id
        )
        if not allowed:
            raise registration_not_found(registration_id)
        query = select(PlanCharge).where(col(PlanCharge.registration_id) == registration_id)
        if lock:
            query = query.with_for_update()
        return (await self.plans.session.exec(query)).first()

    async def read(self, actor: Actor, registration_id: int) -> TicketRead:
        """A registration with its ticket's charge and invoices."""
        registered = await self.registrations.get(actor, registration_id)
        charge = await self._charge(actor, registration_id)
        if charge is None:
            return TicketRead(registration=registered, charge=None)
        documents = await self.plans.documents([charge.id or 0])
        return TicketRead(
            registration=registered, charge=charge_read(charge, documents.get(charge.id or 0, []))
        )

    async def charges_of(self, registration_ids: list[int]) -> dict[int, ChargeRead]:
        """The charges of registrations (none: free), with their invoices, by registration."""
        if not registration_ids:
            return {}
        found = await self.plans.session.exec(
            select(PlanCharge).where(col(PlanCharge.registration_id).in_(registration_ids))
        )
        charges = list(found.all())
        documents = await self.plans.documents([c.id for c in charges if c.id is not None])
        return {
            c.registration_id: charge_read(c, documents.get(c.id or 0, []))
            for c in charges
            if c.registration_id is not None
        }

    # after commit: holds released, cancellations settled ----------------------------------
    async def release_unpaid(self, now: datetime) -> int:
        """Release the seats of card tickets still unpaid :data:`CARD_HOLD` after ordering."""
        found = await self.plans.session.exec(
            select(PlanCharge)
            .where(
                col(PlanCharge.registration_id).is_not(None),
                PlanCharge.method == "card",
                PlanCharge.status == PaymentStatus.PENDING,
                col(PlanCharge.created_at) <= now - CARD_HOLD,
            )
            .order_by(col(PlanCharge.id))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        released = 0
        for charge in found.all():
            assert charge.registration_id is not None
            await self.registrations.release(charge.registration_id, "unpaid")
            charge.status = PaymentStatus.CANCELLED
            charge.settled_at = now
            charge.updated_at = now
            await self.plans.add(charge)
            released += 1
        return released

    async def settle(self, now: datetime) -> int:
        """Settle the tickets of cancelled registrations, each once: nothing was paid, the
        charge is cancelled; else a credit note and a refund, by the place's tiers when the
        person cancelled, in full when the place (or the minimum) did."""
        found = await self.plans.session.exec(
            select(PlanCharge, Registration)
            .join(Registration, col(Registration.id) == col(PlanCharge.registration_id))
            .where(
                Registration.status == RegistrationStatus.CANCELLED,
                col(PlanCharge.settled_at).is_(None),
            )
            .order_by(col(PlanCharge.id))
            .limit(BATCH)
            .with_for_update(of=PlanCharge, skip_locked=True)
        )
        settled = 0
        for charge, registration in found.all():
            await self._settle(charge, registration, now)
            settled += 1
        return settled

    async def _settle(self, charge: PlanCharge, registration: Registration, now: datetime) -> None:
        charge.settled_at = now
        charge.updated_at = now
        if charge.status in UNPAID:
            # Nothing paid, nothing invoiced yet: nothing is due any more.
            charge.status = PaymentStatus.CANCELLED
            await self.plans.add(charge)
            return
        row = await self.programme.get(registration.session_id)
        assert row is not None and registration.cancelled_at is not None
        settings = await self.prices.settings_of(charge.place_id)
        decision = refund_cents(
            charge.amount_cents - charge.refunded_cents,
            row.starts_at,
            registration.cancelled_at,
            tiers_of(settings),
            by_place=registration.cancel_reason != "cancelled_by_person",
        )
        if decision.amount_cents == 0:
            await self.plans.add(charge)
            return
        invoices = [
            d
            for d in (await self.plans.documents([charge.id or 0])).get(charge.id or 0, [])
            if d.kind == "invoice"
        ]
        credit = None
        if invoices:
            place = await self.catalogue.require_place(charge.place_id)
            buyer = await self.billing.user(charge.payer_user_id)
            assert buyer is not None
            organisation = (
                await self.billing.organisation(charge.organisation_id)
                if charge.organisation_id is not None
                else None
            )
            credit = await self.documents.issue_charge_credit_note(
                (place, settings),
                (buyer, organisation),
                charge,
                invoices[0],
                decision.amount_cents,
                f"Annulation de l'inscription à « {row.title} » : remboursement "
                f"{decision.percent} % ({decision.tier_label}).",
                now,
            )
        unpaid_invoice = charge.status == PaymentStatus.INVOICED
        charge.refunded_cents += decision.amount_cents
        whole = charge.refunded_cents == charge.amount_cents
        if unpaid_invoice:
            # Nothing was paid: the credit note reduces what is due.
            if whole:
                charge.status = PaymentStatus.CANCELLED
            await self.plans.add(charge)
            return
        charge.status = PaymentStatus.REFUNDED if whole else PaymentStatus.PARTIALLY_REFUNDED
        await self.plans.add(charge)
        await self.plans.add(
            decided_refund(
                decision,
                "cancellation",
                charge.method,
                f"mutualab-refund-charge-{charge.id}",
                now,
                plan_charge_id=charge.id,
                credit_note_id=credit.id if credit is not None else None,
            )
        )
