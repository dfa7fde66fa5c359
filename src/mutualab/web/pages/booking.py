"""The citizen's booking pages: choose a time, review the quote, pay, see the booking.

Prices, rules and payments are the services' (:class:`PriceService`, :class:`PaymentService`,
:class:`Bookings`, :class:`FeedService`); these handlers turn the forms into their requests
and their refusals into messages next to the fields.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from billing.controllers import PAYMENTS, billing_of
from billing.member_benefits import member_benefits
from billing.models import PaymentStatus
from billing.payments import PaymentService
from billing.plan_schemas import ChargeRead
from billing.prices import tiers_of
from billing.providers.base import ProviderError
from billing.runtime import transaction
from billing.schemas import CheckoutRequest, QuoteRead
from booking.controllers import AVAILABILITY, BOOKINGS
from booking.feeds.controllers import FEEDS
from booking.feeds.service import FeedService
from booking.models import BookingStatus
from booking.schemas import BookingRead, ItemRequest
from booking.service import Availability, Bookings, Waitlist
from booking.waitlist_controllers import WAITLIST
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import BOOKING, SELF, USER
from kernel.errors import AppError, NotFoundError
from kernel.routes import get, post
from mutualab.web.booking_forms import (
    REFUSALS,
    SLOT_FIELDS,
    SLOT_MESSAGES,
    WORDS,
    CheckoutForm,
    Slot,
    SlotForm,
    parse_slot,
    refusal,
    review_url,
    subscribe_links,
)
from mutualab.web.forms import Errors, ordered
from mutualab.web.rendering import i18n_of, page, see_other
from mutualab.web.scripts import OWN_SCRIPTS, with_policy
from resources.controllers import CATALOGUE
from resources.models import Place

AnyRequest = Request[Any, Any, Any]
Text = Annotated[str, QueryParameter(max_length=40)]
CARD_OPEN = (
    PaymentStatus.PENDING,
    PaymentStatus.REQUIRES_ACTION,
    PaymentStatus.PROCESSING,
    PaymentStatus.FAILED,
)
STRIPE_JS = "https://js.stripe.com"
# The card page talks to Stripe only: its script, its frames, its API.
STRIPE_POLICY = {
    "script-src": f"'self' {STRIPE_JS}",
    "frame-src": f"{STRIPE_JS} https://hooks.stripe.com",
    "connect-src": "'self' https://api.stripe.com",
}


def payment_element_page(
    request: AnyRequest, state: State, template: str, path: str, **context: Any
) -> Response[Any]:
    """A page paying by card through Stripe's Payment Element, under the policy that lets it
    talk to Stripe. Stripe sends the card holder back to ``path`` (after 3-D Secure) at our
    public address, never at the request's Host header."""
    public = state.settings.public_base_url.rstrip("/")
    response = page(request, template, private=True, return_url=f"{public}{path}", **context)
    return with_policy(response, STRIPE_POLICY)


def card_due_here(charge: ChargeRead | None, payer_id: int | None, actor: Actor) -> bool:
    """Whether ``actor`` pays ``charge`` by card on our page now: theirs, due by card, with
    the PaymentIntent's client secret."""
    return (
        charge is not None
        and charge.method == "card"
        and charge.status == "pending"
        and bool(charge.client_secret)
        and payer_id == actor.user_id
    )


async def rate_label(request: AnyRequest, staff: StaffService, code: str) -> str:
    """A person's name for a user type, in the page's language."""
    lang = i18n_of(request).lang
    for user_type in await staff.user_types(None):
        if user_type.code == code:
            return user_type.label_fr if lang == "fr" else user_type.label_en
    return code


class BookingPages(Controller):
    """Choose a time, review its quote, pay, and see the booking."""

    path = "/"
    dependencies = {
        **CATALOGUE,
        **BOOKINGS,
        **AVAILABILITY,
        **STAFF,
        **PAYMENTS,
        **FEEDS,
        **WAITLIST,
    }
    guards = [require_user]
    opt = USER

    async def _review(
        self,
        request: AnyRequest,
        payments: PaymentService,
        staff: StaffService,
        waitlist: Waitlist,
        availability: Availability,
        actor: Actor,
        resource_id: int,
        form: SlotForm,
        *,
        errors: Errors | None = None,
        problem: str | None = None,
        method: str = "",
        status_code: int = 200,
    ) -> Template:
        catalogue = payments.prices.catalogue
        resource = await catalogue.resource_detail(resource_id)
        place: Place = await catalogue.active_place(resource.place_id)
        tz = ZoneInfo(place.timezone)
        errors = dict(errors or {})
        quote: QuoteRead | None = None
        wallet_balance = 0
        use_wallet = False
        slot: Slot | None = None
        if form.day or form.start or form.end:
            slot, slot_errors = parse_slot(form, tz, resource.capacity)
            errors = {**slot_errors, **errors}
        if slot is not None:
            user_type = await payments.prices.user_type_for(actor, None, None)
            try:
                priced = await payments.prices.price(
                    [ItemRequest(resource_id=resource_id, quantity=slot.quantity)],
                    slot.starts_at,
                    slot.ends_at,
                    user_type,
                )
                wallet_balance = await payments.prices.wallets.balance(place.id or 0, actor.user_id)
                use_wallet = form.wallet == "1" and wallet_balance > 0
                now = payments.bookings.clock()
                benefits = await member_benefits(
                    payments.repo.session,
                    priced,
                    user_id=actor.user_id,
                    organisation_id=None,
                    now=now,
                )
                try:
                    priced = await payments.prices.adjust(
                        priced,
                        coupon_code=form.coupon,
                        use_wallet=use_wallet,
                        user_id=actor.user_id,
                        now=now,
                        strict=True,
                        use_packs=True,
                        benefits=benefits,
                    )
                except AppError as exc:
                    # The price without it is shown, and why the code is refused.
                    coupon_errors, message = refusal(exc)
                    errors = {**coupon_errors, **errors}
                    problem = problem or message
                    priced = await payments.prices.adjust(
                        priced,
                        coupon_code=None,
                        use_wallet=use_wallet,
                        user_id=actor.user_id,
                        now=now,
                        strict=True,
                        use_packs=True,
                        benefits=benefits,
                    )
                quote = await payments.prices.quote_read(priced)
            except AppError as exc:
                if isinstance(exc, NotFoundError):
                    raise
                field_errors, message = refusal(exc)
                errors = {**field_errors, **errors}
                problem = problem or message
        settings = await payments.prices.settings_of(place.id or 0)
        methods = quote.payment_methods if quote else []
        # A full slot (or one out of service) that follows the rules: offer its waitlist.
        full = slot is not None and await waitlist.full(
            actor, resource_id, slot.quantity, slot.starts_at, slot.ends_at
        )
        response = page(
            request,
            "booking/review.html",
            **WORDS,
            status_code=status_code if status_code != 200 or not errors else 422,
            private=True,
            resource=resource,
            place=place,
            form=form,
            errors=ordered(errors, SLOT_FIELDS),
            problem=problem,
            slot=slot,
            local=lambda moment: moment.astimezone(tz),
            quote=quote,
            method=method if method in methods else (methods[0] if len(methods) == 1 else ""),
            rate=await rate_label(request, staff, quote.user_type) if quote else "",
            tiers=tiers_of(settings),
            zone=i18n_of(request).zone_name(place.timezone),
            full=full,
            request_only=await availability.needs_approval(actor, resource_id),
            shown=form if slot is not None else None,
            wallet_balance=wallet_balance,
            use_wallet=use_wallet,
        )
        # booking.js re-quotes a changed time without a reload.
        return with_policy(response, OWN_SCRIPTS)

    @get("/resources/{resource_id:int}/book", name="book", opt=USER)
    async def review(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        payments: NamedDependency[PaymentService],
        staff: NamedDependency[StaffService],
        waitlist: NamedDependency[Waitlist],
        availability: NamedDependency[Availability],
        resource_id: FromPath[int],
        day: Text = "",
        start: Text = "",
        end: Text = "",
        quantity: Text = "1",
        coupon: Text = "",
        wallet: Text = "",
    ) -> Template:
        """Choose a time (local to the place) and review its quote, promo code and payment
        methods."""
        form = SlotForm(
            day=day, start=start, end=end, quantity=quantity, coupon=coupon, wallet=wallet
        )
        return await self._review(
            request, payments, staff, waitlist, availability, actor, resource_id, form
        )

    @post("/resources/{resource_id:int}/book", opt=USER)
    async def checkout(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        payments: NamedDependency[PaymentService],
        staff: NamedDependency[StaffService],
        waitlist: NamedDependency[Waitlist],
        availability: NamedDependency[Availability],
        db_session: NamedDependency[AsyncSession],
        state: State,
        resource_id: FromPath[int],
        data: URLEncodedBody[CheckoutForm],
    ) -> Response[Any]:
        """Book the time and quote shown, or re-quote a changed time and ask again."""
        form = data.typed()
        # The review page of this request, again: only why and how it is shown differ.
        show_again = partial(
            self._review, request, payments, staff, waitlist, availability, actor, resource_id, form
        )
        if data.intent == "quote":
            # "Update the price": the review page of the typed time, at its own address.
            return see_other(review_url(resource_id, form))
        resource = await payments.prices.catalogue.resource_detail(resource_id)
        place = await payments.prices.catalogue.active_place(resource.place_id)
        tz = ZoneInfo(place.timezone)
        slot, errors = parse_slot(form, tz, resource.capacity)
        if data.method not in ("card", "on_site", "invoice"):
            errors["method"] = SLOT_MESSAGES["method"]
        if slot is None or errors:
            return await show_again(
                errors=errors,
                method=data.method,
                status_code=422,
            )
        shown, _ = parse_slot(data.shown(), tz, resource.capacity)
        if shown != slot:
            # The fields say another time than the quote on screen (changed, then confirmed
            # without updating the price): never book either silently; show this one's price.
            return await show_again(
                problem=REFUSALS["slot_changed"][1],
                method=data.method,
                status_code=409,
            )
        if data.coupon.strip().upper() != data.shown_coupon.strip().upper():
            # A code typed (or removed) but not applied: show the price with it first.
            return await show_again(
                problem=REFUSALS["coupon_changed"][1],
                method=data.method,
                status_code=409,
            )
        if (data.wallet == "1") != (data.shown_wallet == "1"):
            # "Pay from my wallet" ticked or unticked but not applied: show that price first.
            return await show_again(
                problem=REFUSALS["wallet_changed"][1],
                method=data.method,
                status_code=409,
            )
        try:
            request_body = CheckoutRequest.model_validate(
                {
                    "items": [{"resource_id": resource_id, "quantity": slot.quantity}],
                    "starts_at": slot.starts_at,
                    "ends_at": slot.ends_at,
                    "method": data.method,
                    "quote_fingerprint": data.fingerprint,
                    "coupon_code": data.shown_coupon.strip() or None,
                    "use_wallet": data.shown_wallet == "1",
                }
            )
        except ValueError:
            # A fingerprint that is not one: the page was tampered with or is very old.
            return await show_again(
                problem=REFUSALS["price_changed"][1],
                status_code=409,
            )
        try:
            async with db_session.begin_nested():
                payment, booking, _ = await payments.checkout(
                    actor, request_body, billing_of(state).clock()
                )
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            field_errors, problem = refusal(exc)
            return await show_again(
                errors=field_errors,
                problem=problem,
                method=data.method,
                status_code=exc.status_code,
            )
        if payment.method == "card":
            return see_other(f"/account/bookings/{booking.id}/pay")
        if booking.status == BookingStatus.PENDING_APPROVAL:
            return see_other(f"/account/bookings/{booking.id}", notice="requested")
        return see_other(f"/account/bookings/{booking.id}", notice="booked")

    @get("/account/bookings/{booking_id:int}", name="booking", opt=BOOKING)
    async def booking(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        payments: NamedDependency[PaymentService],
        booking_id: FromPath[int],
    ) -> Template:
        """A booking: reference, time, payment, calendar, invoices, and how to cancel it."""
        booking = await payments.visible_booking(actor, booking_id)
        billing = await payments.booking_billing(actor, booking_id)
        place = await payments.prices.catalogue.require_place(booking.place_id)
        return page(
            request,
            "booking/detail.html",
            **WORDS,
            private=True,
            booking=booking,
            billing=billing,
            place=place,
            zone=i18n_of(request).zone_name(place.timezone),
        )

    @post("/account/calendar-feed", opt=SELF)
    async def calendar_feed(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        feeds: NamedDependency[FeedService],
    ) -> Template:
        """A new private address of my bookings' calendar (the previous one stops working)."""
        feed = await feeds.create_user_feed(actor)
        # copy.js: the address's copy button.
        return with_policy(
            page(
                request,
                "booking/feed.html",
                private=True,
                feed=feed,
                links=subscribe_links(feed.url, feed.webcal_url),
            ),
            OWN_SCRIPTS,
        )

    async def _card_payment(self, state: State, actor: Actor, booking: BookingRead) -> Any:
        billing = billing_of(state)
        async with transaction(billing.database, write=False) as session:
            services = billing.services(session)
            found = await services.repo.payment_of_booking(booking.id)
            if found is None or found.method != "card":
                return None
            payment_id = found.id
        assert payment_id is not None
        # Created after the checkout's commit; if that has not happened yet, do it now.
        if found.intent_id is None and found.status in CARD_OPEN:
            await billing.start_intent(payment_id)
        async with transaction(billing.database, write=False) as session:
            services = billing.services(session)
            return await services.read(await services.visible_payment(actor, payment_id), actor)

    @get("/account/bookings/{booking_id:int}/pay", name="pay", opt=BOOKING)
    async def pay_form(
        self,
        request: AnyRequest,
        state: State,
        actor: NamedDependency[Actor],
        bookings: NamedDependency[Bookings],
        booking_id: FromPath[int],
        payment_intent: Text = "",
    ) -> Response[Any]:
        """Pay a held booking by card, through Stripe's Payment Element."""
        booking = await bookings.get(actor, booking_id)
        payment = await self._card_payment(state, actor, booking)
        if payment is not None and payment_intent and payment_intent == payment.intent_id:
            # Back from Stripe: ask Stripe itself how it went, whatever the address says.
            return await self._check_card(state, actor, booking_id)
        if (
            payment is None
            or payment.status not in CARD_OPEN
            or booking.status != BookingStatus.HELD
        ):
            return see_other(f"/account/bookings/{booking_id}")
        return payment_element_page(
            request,
            state,
            "booking/pay.html",
            f"/account/bookings/{booking_id}/pay",
            booking=booking,
            payment=payment,
        )

    @post("/account/bookings/{booking_id:int}/pay", opt=BOOKING)
    async def pay_check(
        self, state: State, actor: NamedDependency[Actor], booking_id: FromPath[int]
    ) -> Response[Any]:
        """Ask Stripe how the card payment went (never the browser), then show the booking."""
        return await self._check_card(state, actor, booking_id)

    async def _check_card(self, state: State, actor: Actor, booking_id: int) -> Response[Any]:
        billing = billing_of(state)
        # Short transactions of our own: the provider is called between them, never inside.
        async with transaction(billing.database, write=False) as session:
            services = billing.services(session)
            await services.visible_booking(actor, booking_id)
            payment = await services.repo.payment_of_booking(booking_id)
        if payment is not None and payment.method == "card" and payment.intent_id is not None:
            try:
                await billing.sync_intent(payment.intent_id)
            except ProviderError:
                return see_other(f"/account/bookings/{booking_id}", notice="payment_unknown")
        return see_other(f"/account/bookings/{booking_id}", notice="payment_checked")


__all__ = ["BookingPages", "rate_label"]
