"""My wallets: what I hold at each place, and every movement (credits, spending, give-backs,
top-ups), and topping one up by card. The rules are billing's (:class:`billing.wallets.Wallets`,
:mod:`billing.wallet_top_ups`); Stripe is called between transactions, never inside one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError

from billing.controllers import billing_of
from billing.runtime import transaction
from billing.wallet_controllers import WALLETS
from billing.wallet_schemas import TopUpWrite
from billing.wallet_top_up_cards import TopUpCards
from billing.wallets import Wallets
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import SELF
from kernel.errors import AppError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.booking import payment_element_page
from mutualab.web.pages.manage.common import parse_cents
from mutualab.web.rendering import page, see_other

AnyRequest = Request[Any, Any, Any]
# Words for the kinds of movements.
MOVEMENTS = {
    "manager_credit": N_("Credited by the place"),
    "refund_credit": N_("Refund"),
    "spend": N_("Booking paid"),
    "give_back": N_("Given back (booking cancelled)"),
    "top_up": N_("Topped up by card"),
}
AMOUNT_ERROR = FieldError(N_("Enter an amount from 1,00 to 500,00 €."))
Text = Annotated[str, QueryParameter(max_length=200)]


@dataclass
class TopUpForm:
    """Money to pay into my wallet at a place, as typed."""

    place_id: str = ""
    amount: str = ""


class WalletPages(Controller):
    """The wallets of the logged-in person."""

    path = "/account/wallet"
    dependencies = WALLETS
    guards = [require_user]
    opt = SELF

    async def _page(
        self,
        request: AnyRequest,
        state: State,
        actor: Actor,
        wallets: Wallets,
        *,
        errors: Errors | None = None,
        failed_place: int | None = None,
        problem: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "account/wallet.html",
            private=True,
            status_code=status_code,
            wallets=await wallets.mine(actor),
            movements=MOVEMENTS,
            card_available=billing_of(state).config.card_available,
            errors=errors or {},
            failed_place=failed_place,
            problem=problem,
        )

    @get("/", name="my_wallet", opt=SELF)
    async def my_wallet(
        self,
        request: AnyRequest,
        state: State,
        actor: NamedDependency[Actor],
        wallets: NamedDependency[Wallets],
    ) -> Template:
        """My balance at each place, and its movements, newest first."""
        return await self._page(request, state, actor, wallets)

    @post("/top-ups", opt=SELF)
    async def top_up(
        self,
        request: AnyRequest,
        state: State,
        actor: NamedDependency[Actor],
        wallets: NamedDependency[Wallets],
        data: URLEncodedBody[TopUpForm],
    ) -> Response[Any]:
        """Start paying money into my wallet at a place by card (paid on the next page)."""
        place_id = int(data.place_id) if data.place_id.isdigit() else 0
        cents = parse_cents(data.amount)
        try:
            amount = TopUpWrite(amount_cents=cents if cents is not None else 0).amount_cents
        except ValidationError:
            return await self._page(
                request,
                state,
                actor,
                wallets,
                errors={f"amount-{place_id}": AMOUNT_ERROR},
                failed_place=place_id,
                status_code=422,
            )
        billing = billing_of(state)
        try:
            async with transaction(billing.database) as session:
                made = await billing.top_ups(session).start(
                    actor, place_id, amount, billing.config.card_available, billing.clock()
                )
                top_up_id = made.id or 0
        except AppError as exc:
            if isinstance(exc, NotFoundError):
                raise
            return await self._page(
                request,
                state,
                actor,
                wallets,
                problem=str(exc),
                failed_place=place_id,
                status_code=exc.status_code,
            )
        await TopUpCards(billing).start_intent(top_up_id)
        return see_other("/account/wallet/pay")

    @get("/pay", opt=SELF)
    async def pay_form(
        self,
        request: AnyRequest,
        state: State,
        actor: NamedDependency[Actor],
        payment_intent: Text = "",
    ) -> Response[Any]:
        """Pay my latest pending top-up by card, through Stripe's Payment Element."""
        billing = billing_of(state)
        user_id = actor.user_id or 0
        cards = TopUpCards(billing)
        if payment_intent:
            # Back from Stripe: ask Stripe itself how it went, whatever the address says.
            await cards.refresh_mine(user_id)
            return see_other("/account/wallet", notice="payment_checked")
        async with transaction(billing.database, write=False) as session:
            pending = [
                t for t in await billing.top_ups(session).mine(user_id) if t.status == "pending"
            ]
        if not pending:
            return see_other("/account/wallet")
        top_up = pending[0]
        if top_up.intent_id is None:
            await cards.start_intent(top_up.id or 0)
            async with transaction(billing.database, write=False) as session:
                top_up = await billing.top_ups(session).get(top_up.id or 0) or top_up
        async with transaction(billing.database, write=False) as session:
            place = await billing.prices(session).catalogue.require_place(top_up.place_id)
        return payment_element_page(
            request,
            state,
            "account/top_up_pay.html",
            "/account/wallet/pay",
            top_up=top_up,
            place_name=place.name,
            publishable_key=billing.config.publishable_key,
        )

    @post("/pay", opt=SELF)
    async def pay_check(self, state: State, actor: NamedDependency[Actor]) -> Response[Any]:
        """Ask Stripe how my top-ups went (never the browser), then show my wallet."""
        await TopUpCards(billing_of(state)).refresh_mine(actor.user_id or 0)
        return see_other("/account/wallet", notice="payment_checked")
