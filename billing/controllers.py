"""Thin HTTP controllers of billing: parse, authorize, call the services.

Most handlers use the request's transaction (``db_session``). Checkout, refresh and the Stripe
webhook manage their own short transactions instead, because they call Stripe and a provider call
must never run inside a transaction: checkout commits the held booking and its payment, *then*
creates the PaymentIntent (idempotency key per booking and attempt) and records it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, MediaType, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.facturx import facturx_pdf
from billing.facturx.export import export_public_buyers
from billing.facturx.senders import DownloadSender
from billing.invoicing import DocumentService
from billing.ledger_list import InvoiceState, LedgerFilter, month_of
from billing.member_benefits import member_benefits
from billing.models import BillingDocument
from billing.payments import SYSTEM, PaymentService, summary
from billing.prices import PriceService
from billing.providers.base import ProviderError, WebhookSignatureError
from billing.receipts import Receipts
from billing.render import PRINT_POLICY, invoice_html, invoice_pdf
from billing.repository import BillingRepository
from billing.runtime import Billing, transaction
from billing.schemas import (
    BillingSettingsRead,
    BillingSettingsWrite,
    BookingBilling,
    CheckoutRead,
    CheckoutRequest,
    DocumentRead,
    LedgerPage,
    PaymentRead,
    PriceListRead,
    PriceListWrite,
    QuoteRead,
    QuoteRequest,
    RecordPayment,
    WebhookAck,
)
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import BEARER, BOOKING, PLACE_MANAGER, PUBLIC, USER
from kernel.clock import Clock
from kernel.errors import AppError, InvalidInputError, NotFoundError, is_database_unavailable
from kernel.idempotency import IDEMPOTENCY_OPT, JSON_HEADERS, claim_of, created_json, release
from kernel.routes import get, post, put

Me = NamedDependency[Actor]
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
Words = Annotated[
    str, QueryParameter(max_length=100, description="client, e-mail, number or purchase order")
]
FromDate = Annotated[date, QueryParameter(name="from", description="first local date of issue")]
ToDate = Annotated[date, QueryParameter(name="to", description="local date after the last one")]
IssueMonth = Annotated[str, QueryParameter(max_length=7, description="month of issue, YYYY-MM")]


class InvalidSignature(AppError):
    """A webhook that does not carry a valid Stripe signature."""

    status_code = 400
    code = "invalid_signature"
    title = "Invalid signature"


class ProviderUnavailable(AppError):
    """The card provider could not be reached; the caller may retry."""

    status_code = 503
    code = "payment_provider_unavailable"
    title = "Payment provider unavailable"


def billing_of(state: State) -> Billing:
    """The application's billing runtime."""
    billing: Billing = state.billing
    return billing


def provide_prices(db_session: NamedDependency[AsyncSession], state: State) -> PriceService:
    """Price lists, settings and quotes in this request's transaction."""
    return billing_of(state).prices(db_session)


def provide_payments(db_session: NamedDependency[AsyncSession], state: State) -> PaymentService:
    """Payments in this request's transaction."""
    return billing_of(state).services(db_session)


PRICES = {"prices": Provide(provide_prices, sync_to_thread=False)}
PAYMENTS = {"payments": Provide(provide_payments, sync_to_thread=False)}
Prices = NamedDependency[PriceService]
Payments = NamedDependency[PaymentService]


class PriceController(Controller):
    """Price lists and quotes (public), edited by the managers of the place."""

    path = "/api"
    tags = ["billing"]
    dependencies = PRICES
    opt = PUBLIC

    @get("/places/{place_id:int}/price-lists", opt=PUBLIC)
    async def price_lists(self, prices: Prices, place_id: FromPath[int]) -> list[PriceListRead]:
        """The price lists of a place: per resource or kind, per user type, with VAT."""
        return await prices.price_lists(place_id)

    @put(
        "/places/{place_id:int}/price-lists",
        opt=PLACE_MANAGER,
        guards=[require_manager],
        security=BEARER,
    )
    async def set_price_list(
        self,
        prices: Prices,
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: JSONBody[PriceListWrite],
    ) -> PriceListRead:
        """Create or replace the price list of a resource, or of a kind of resource."""
        return await prices.set_price_list(actor, place_id, data, clock())

    @post("/quotes", status_code=HTTP_200_OK, opt=PUBLIC)
    async def quote(
        self,
        prices: Prices,
        actor: Me,
        clock: NamedDependency[Clock],
        data: JSONBody[QuoteRequest],
    ) -> QuoteRead:
        """Price a booking: lines, discounts (a coupon), VAT and totals, and the fingerprint
        checkout expects."""
        user_type = await prices.user_type_for(actor, data.organisation_id, data.user_type)
        priced = await prices.price(data.items, data.starts_at, data.ends_at, user_type)
        if data.use_wallet and data.organisation_id is not None:
            raise InvalidInputError(
                "A wallet is a person's: it does not pay an organisation's booking.",
                field="use_wallet",
                code="wallet_not_for_organisations",
            )
        now = clock()
        # A quote at a requested rate is anyone's; at the caller's own, their memberships count.
        benefits = (
            await member_benefits(
                prices.repo.session,
                priced,
                user_id=actor.user_id,
                organisation_id=data.organisation_id,
                now=now,
            )
            if data.user_type is None or data.organisation_id is not None
            else None
        )
        priced = await prices.adjust(
            priced,
            coupon_code=data.coupon_code,
            use_wallet=data.use_wallet,
            user_id=actor.user_id,
            now=now,
            strict=True,
            use_packs=data.use_packs,
            organisation_id=data.organisation_id,
            benefits=benefits,
        )
        return await prices.quote_read(priced)


class BillingSettingsController(Controller):
    """How a place bills: payment methods per user type, cancellation refunds, invoices."""

    path = "/api/places/{place_id:int}/billing-settings"
    tags = ["billing"]
    dependencies = PRICES
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/", opt=PLACE_MANAGER)
    async def get_settings(
        self, prices: Prices, actor: Me, place_id: FromPath[int]
    ) -> BillingSettingsRead:
        """The billing settings of the place."""
        return await prices.get_settings(actor, place_id)

    @put("/", opt=PLACE_MANAGER)
    async def set_settings(
        self,
        prices: Prices,
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: JSONBody[BillingSettingsWrite],
    ) -> BillingSettingsRead:
        """Replace the billing settings of the place."""
        return await prices.set_settings(actor, place_id, data, clock())


async def _document(payments: PaymentService, actor: Actor, document_id: int) -> BillingDocument:
    document = await payments.repo.document(document_id)
    if document is None:
        raise NotFoundError(f"No invoice with id {document_id}.", code="invoice_not_found")
    try:
        if document.booking_id is None:
            # A membership's invoice: its subscriber, or a manager of its place.
            await payments.visible_plan_document(actor, document)
        else:
            await payments.visible_booking(actor, document.booking_id)
    except NotFoundError:
        raise NotFoundError(
            f"No invoice with id {document_id}.", code="invoice_not_found"
        ) from None
    return document


class PaymentController(Controller):
    """Checkout and payments of the logged-in user; invoices of their bookings."""

    path = "/api"
    tags = ["billing"]
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/checkout", status_code=HTTP_201_CREATED, opt=USER)
    async def checkout(
        self,
        request: Request[Any, Any, Any],
        state: State,
        actor: Me,
        data: JSONBody[CheckoutRequest],
    ) -> CheckoutRead:
        """Book and pay at the quoted price (409 price_changed if it moved)."""
        billing = billing_of(state)
        async with transaction(billing.database) as session:
            services = billing.services(session)
            payment, _, priced = await services.checkout(actor, data, billing.clock())
            # The answer is read before the commit: once stored, the booking is answered 201
            # even if the database goes away right after.
            created = CheckoutRead(
                booking=await services.bookings.get(SYSTEM, payment.booking_id),
                payment=await services.read(payment, actor),
                quote=await services.prices.quote_read(priced),
            )
            payment_id = payment.id
            claim = claim_of(request)
            if claim is not None:
                # This transaction is the handler's own (the card call must follow its commit):
                # the answer a retry with the same key gets is stored in it, with the booking.
                await claim.keep(session, HTTP_201_CREATED, JSON_HEADERS, created_json(created))
        if claim is not None:
            # Stored with the booking: the key's lock ends now, before the card call (no
            # transaction stays open across a call to Stripe); a retry replays that answer.
            await release(request)
        assert payment_id is not None
        if payment.method != "card":
            return created
        # After commit: the booking is held whatever Stripe answers; a failed call is retried by
        # POST /api/payments/{id}/refresh or the next dispatch.
        try:
            await billing.start_intent(payment_id)
            async with transaction(billing.database, write=False) as session:
                services = billing.services(session)
                payment_row = await services.repo.payment(payment_id)
                assert payment_row is not None
                return created.model_copy(
                    update={"payment": await services.read(payment_row, actor)}
                )
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            return created  # the intent's details come with POST /api/payments/{id}/refresh

    @get("/payments/{payment_id:int}", opt=BOOKING, dependencies=PAYMENTS)
    async def get_payment(
        self, payments: Payments, actor: Me, payment_id: FromPath[int]
    ) -> PaymentRead:
        """A payment: status, why it ended so, refunds and documents."""
        return await payments.read(await payments.visible_payment(actor, payment_id), actor)

    # Reads the PaymentIntent back from Stripe: as often as one likes, so no idempotency key
    # (its lock would be held across the call to Stripe).
    @post(
        "/payments/{payment_id:int}/refresh",
        status_code=HTTP_200_OK,
        opt={**BOOKING, IDEMPOTENCY_OPT: False},
    )
    async def refresh(self, state: State, actor: Me, payment_id: FromPath[int]) -> PaymentRead:
        """Ask Stripe for the PaymentIntent's state and apply it (after the card holder paid)."""
        billing = billing_of(state)
        async with transaction(billing.database, write=False) as session:
            payment = await billing.services(session).visible_payment(actor, payment_id)
        try:
            if payment.method == "card" and payment.intent_id is None:
                await billing.start_intent(payment_id)
            elif payment.method == "card" and payment.intent_id is not None:
                await billing.sync_intent(payment.intent_id)
                await billing.dispatch()
        except ProviderError as exc:
            raise ProviderUnavailable(f"Stripe could not be reached: {exc}") from exc
        async with transaction(billing.database, write=False) as session:
            services = billing.services(session)
            return await services.read(await services.visible_payment(actor, payment_id), actor)

    @get("/bookings/{booking_id:int}/billing", opt=BOOKING, dependencies=PAYMENTS)
    async def booking_billing(
        self, payments: Payments, actor: Me, booking_id: FromPath[int]
    ) -> BookingBilling:
        """What a booking costs and how it was paid, refunded and invoiced."""
        return await payments.booking_billing(actor, booking_id)

    @get("/invoices/{invoice_id:int}", opt=BOOKING, dependencies=PAYMENTS)
    async def get_invoice(
        self, payments: Payments, actor: Me, invoice_id: FromPath[int]
    ) -> DocumentRead:
        """An invoice or credit note with its sealed content and chain hashes."""
        document = await _document(payments, actor, invoice_id)
        return DocumentRead(
            **summary(document).model_dump(),
            place_id=document.place_id,
            previous_hash=document.previous_hash,
            hash=document.hash,
            content=document.content,
        )

    @get(
        "/invoices/{invoice_id:int}/print",
        opt=BOOKING,
        dependencies=PAYMENTS,
        media_type=MediaType.HTML,
    )
    async def print_invoice(
        self, payments: Payments, actor: Me, invoice_id: FromPath[int]
    ) -> Response[str]:
        """The invoice or credit note as a printable page."""
        document = await _document(payments, actor, invoice_id)
        return Response(
            invoice_html(document.content, document.hash),
            media_type=MediaType.HTML,
            headers={"Content-Security-Policy": PRINT_POLICY},
        )

    @get(
        "/invoices/{invoice_id:int}/pdf",
        opt=BOOKING,
        dependencies=PAYMENTS,
        media_type="application/pdf",
    )
    async def invoice_pdf(
        self, payments: Payments, actor: Me, invoice_id: FromPath[int]
    ) -> Response[bytes]:
        """The invoice or credit note as a PDF file."""
        document = await _document(payments, actor, invoice_id)
        return Response(
            invoice_pdf(document.content, document.hash),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{document.number}.pdf"'},
        )

    @get(
        "/invoices/{invoice_id:int}/facturx",
        opt=BOOKING,
        dependencies=PAYMENTS,
        media_type="application/pdf",
        response_description="The Factur-X PDF/A-3 (application/pdf) with factur-x.xml inside",
    )
    async def invoice_facturx(
        self, payments: Payments, actor: Me, invoice_id: FromPath[int]
    ) -> Response[bytes]:
        """The invoice or credit note as Factur-X: a PDF/A-3 carrying its EN 16931 XML."""
        document = await _document(payments, actor, invoice_id)
        # Embedding fonts and the XML takes a tenth of a second: not on the event loop.
        pdf = await anyio.to_thread.run_sync(facturx_pdf, document.content, document.hash)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{document.number}-facturx.pdf"'
            },
        )


class BillingManagerController(Controller):
    """What the managers of a place do with payments and invoices."""

    path = "/api"
    tags = ["billing"]
    dependencies = PAYMENTS
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @post("/payments/{payment_id:int}/record", status_code=HTTP_200_OK, opt=PLACE_MANAGER)
    async def record(
        self,
        payments: Payments,
        actor: Me,
        clock: NamedDependency[Clock],
        payment_id: FromPath[int],
        data: JSONBody[RecordPayment],
    ) -> PaymentRead:
        """Record that what is still due was received today, on site or by transfer (on-site
        payments are invoiced then); a receipt keeps it."""
        payment = await Receipts(payments).receive_rest(actor, payment_id, data.means, clock())
        return await payments.read(payment, actor)

    @get("/places/{place_id:int}/invoices", opt=PLACE_MANAGER)
    async def place_invoices(
        self,
        payments: Payments,
        actor: Me,
        place_id: FromPath[int],
        limit: Limit = 50,
        offset: Offset = 0,
        q: Words = "",
        month: IssueMonth = "",
        status: InvoiceState | None = None,
    ) -> LedgerPage:
        """The invoices and credit notes of the place, newest first: whom each bills, its
        purchase order, where it stands; narrowed by words, month of issue and state."""
        narrowed = LedgerFilter(q, month_of(month), status)
        if month and narrowed.month is None:
            raise InvalidInputError(
                "Give the month of issue as YYYY-MM.", field="month", code="invalid_month"
            )
        return await payments.place_documents(actor, place_id, limit, offset, narrowed)

    @get(
        "/places/{place_id:int}/facturx-export",
        opt=PLACE_MANAGER,
        media_type="application/zip",
        response_description="A ZIP of Factur-X PDFs with a slip (bordereau.csv) and SHA256SUMS",
    )
    async def facturx_export(
        self,
        payments: Payments,
        actor: Me,
        place_id: FromPath[int],
        start: FromDate,
        end: ToDate,
    ) -> Response[bytes]:
        """The place's invoices and credit notes to public bodies issued over a period, as
        Factur-X files ready to deposit on Chorus Pro (a ZIP)."""
        place = await payments.prices.catalogue.managed_place(actor, place_id)
        delivery = await export_public_buyers(payments.repo, place, start, end, DownloadSender())
        return Response(
            delivery.content,
            media_type=delivery.media_type,
            headers={"Content-Disposition": f'attachment; filename="{delivery.filename}"'},
        )


class StripeWebhookController(Controller):
    """Events Stripe sends: verified on the raw body, stored by id, applied once."""

    path = "/api/stripe"
    tags = ["billing"]
    opt = PUBLIC

    # Stripe's events carry whole objects (a PaymentIntent with its charges): more room than
    # the app's default body limit, still bounded.
    @post("/webhook", status_code=HTTP_200_OK, opt=PUBLIC, request_max_body_size=1024 * 1024)
    async def webhook(self, state: State, request: Request[Any, Any, Any]) -> WebhookAck:
        """Receive a Stripe event (400 and nothing changed when the signature is not valid)."""
        billing = billing_of(state)
        if billing.gateway is None:
            raise InvalidSignature("Card payments are not configured on this instance.")
        payload = await request.body()
        try:
            event = billing.gateway.verify_webhook(payload, request.headers.get("stripe-signature"))
        except WebhookSignatureError as exc:
            raise InvalidSignature(f"The Stripe signature is not valid: {exc}") from exc
        try:
            outcome = await billing.handle_webhook(event)
        except ProviderError as exc:
            # Not stored: Stripe delivers the event again later.
            raise ProviderUnavailable(f"Stripe could not be reached: {exc}") from exc
        return WebhookAck(received=True, event_id=event.id, outcome=outcome)


CONTROLLERS = [
    PriceController,
    BillingSettingsController,
    PaymentController,
    BillingManagerController,
    StripeWebhookController,
]

__all__ = ["CONTROLLERS", "BillingRepository", "DocumentService"]
