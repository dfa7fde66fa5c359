"""Memberships for people: a place's plans (and subscribing to one, paid on site or by card,
or, for an organisation one administers, on invoice; the first period maybe after a promo code
and paid first from my wallet, its price shown before subscribing), my memberships with their
periods and invoices, paying a period due by card, cancelling one at the end of its period.

A period by card is paid through Stripe's Payment Element, as a booking is (``payment.js``);
the period counts once Stripe says it is paid (its webhook, or the check on return), never on
the browser's word. The rules are billing's (:mod:`billing.memberships`,
:mod:`billing.plan_cards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.memberships import MembershipService
from billing.plan_cards import MembershipCards
from billing.plan_controllers import DEPENDENCIES as MEMBERSHIPS
from billing.plan_schemas import PlanQuoteRead, PlanQuoteRequest, SubscribeRequest
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import MEMBERSHIP, PUBLIC, SELF, USER
from kernel.clock import Clock
from kernel.errors import AppError
from kernel.routes import get, post
from mutualab.web.forms import FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.booking import payment_element_page
from mutualab.web.pages.manage.plans import CHARGES, PERIODS, STATES
from mutualab.web.rendering import page, see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

AnyRequest = Request[Any, Any, Any]
Text = Annotated[str, QueryParameter(max_length=200)]
REFUSALS = {
    "already_subscribed": N_("You already hold this plan here."),
    "plan_not_for_you": N_("This plan is not offered at your rate."),
    "invoice_not_allowed": N_("Paying on invoice is for organisations."),
    "not_organisation_admin": N_("Only an administrator of the organisation subscribes for it."),
    "coupon_unknown": N_("This code is not a promo code of this place."),
    "coupon_not_started": N_("This code cannot be used yet."),
    "coupon_expired": N_("This code has expired."),
    "coupon_exhausted": N_("This code has been used as many times as it may be."),
    "coupon_limit_reached": N_("You have used this code as many times as you may."),
    "coupon_not_for_rate": N_("This code is not offered at your rate."),
    "coupon_not_for_plan": N_("This code does not apply to this membership."),
    "wallet_not_for_organisations": N_("A wallet pays its holder's memberships only."),
    "quote_required": N_(
        "Here is the price with your code or your wallet: check it, then confirm."
    ),
    "price_changed": N_(
        "The price changed since you reviewed it: check the new price below, then confirm."
    ),
}


@dataclass
class SubscribeForm:
    """A subscription, as chosen: for oneself or an organisation, renewing or not."""

    organisation_id: str = ""
    auto_renew: str = ""
    # For oneself: "on_site" or "card" (where the instance takes cards).
    method: str = "on_site"
    coupon_code: str = ""
    use_wallet: str = ""
    # The price on screen (its fingerprint), and whether the button asked for the price only.
    quote_fingerprint: str = ""
    intent: str = ""


class PlanPublicPages(Controller):
    """A place's plans, for everyone; subscribing, for people logged in."""

    path = "/places/{place_id:int}/plans"
    dependencies = {**CATALOGUE, **MEMBERSHIPS}

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        memberships: MembershipService,
        actor: Actor,
        place_id: int,
        *,
        error: FieldError | None = None,
        status_code: int = 200,
        quoted: PlanQuoteRead | None = None,
        chosen: SubscribeForm | None = None,
    ) -> Template:
        place = await catalogue.place_detail(place_id)
        plans = await memberships.plans_at(place_id)
        administered = [oid for oid, role in actor.organisation_roles.items() if role == "admin"]
        return page(
            request,
            "plans.html",
            status_code=status_code,
            place=place,
            plans=plans,
            periods=PERIODS,
            names={r.id: r.name for r in place.resources},
            organisations=await memberships.organisation_names(administered),
            card_available=memberships.card_available,
            wallet_balance=await memberships.prices.wallets.balance(place_id, actor.user_id),
            error=error,
            quoted=quoted,
            chosen=chosen,
        )

    @get("/", name="place_plans", opt=PUBLIC)
    async def plans(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        memberships: NamedDependency[MembershipService],
        actor: NamedDependency[Actor],
        place_id: FromPath[int],
    ) -> Template:
        """The membership plans of a place: price, period, benefits; subscribe."""
        return await self._page(request, catalogue, memberships, actor, place_id)

    @post("/{plan_id:int}/subscribe", guards=[require_user], opt=USER)
    async def subscribe(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        memberships: NamedDependency[MembershipService],
        actor: NamedDependency[Actor],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        plan_id: FromPath[int],
        data: URLEncodedBody[SubscribeForm],
    ) -> Response[Any]:
        """Subscribe: on site for oneself, on invoice for an organisation one administers;
        with a promo code or the wallet, the price is shown first, then confirmed."""
        organisation = data.organisation_id.strip()
        method = "card" if data.method == "card" and memberships.card_available else "on_site"
        asked = {
            "place_id": place_id,
            "organisation_id": int(organisation) if organisation.isdigit() else None,
            "coupon_code": data.coupon_code.strip() or None,
            "use_wallet": data.use_wallet == "on",
        }
        code = ""
        try:
            if data.intent == "quote" or (
                (asked["coupon_code"] or asked["use_wallet"]) and not data.quote_fingerprint
            ):
                # The price first: subscribing then charges exactly what was shown.
                code = "" if data.intent == "quote" else "quote_required"
            else:
                request_body = SubscribeRequest.model_validate(
                    {
                        **asked,
                        "payment_method": "invoice" if organisation else method,
                        "auto_renew": data.auto_renew == "on",
                        "quote_fingerprint": data.quote_fingerprint or None,
                    }
                )
                async with db_session.begin_nested():
                    made = await memberships.subscribe(actor, plan_id, request_body, clock())
                if any(
                    p.charge is not None
                    and p.charge.method == "card"
                    and p.charge.status == "pending"
                    for p in made.periods
                ):
                    return see_other(f"/account/memberships/{made.id}/pay")
                return see_other("/account/memberships", notice="membership_made")
        except (ValidationError, AppError) as exc:
            if isinstance(exc, AppError) and exc.status_code == 404:
                raise
            code = exc.code if isinstance(exc, AppError) else ""
            if code != "price_changed":
                error = FieldError(REFUSALS.get(code, N_("This plan cannot be subscribed.")))
                return await self._page(
                    request, catalogue, memberships, actor, place_id, error=error, status_code=409
                )
        try:
            quoted = await memberships.quote(
                actor, plan_id, PlanQuoteRequest.model_validate(asked), clock()
            )
        except (ValidationError, AppError) as exc:
            if isinstance(exc, AppError) and exc.status_code == 404:
                raise
            refused = exc.code if isinstance(exc, AppError) else ""
            error = FieldError(REFUSALS.get(refused, N_("This plan cannot be subscribed.")))
            return await self._page(
                request, catalogue, memberships, actor, place_id, error=error, status_code=409
            )
        return await self._page(
            request,
            catalogue,
            memberships,
            actor,
            place_id,
            error=FieldError(REFUSALS[code]) if code else None,
            status_code=409 if code == "price_changed" else 200,
            quoted=quoted,
            chosen=data,
        )


class MembershipPages(Controller):
    """My memberships."""

    path = "/account/memberships"
    dependencies = MEMBERSHIPS
    guards = [require_user]

    @get("/", name="my_memberships", opt=SELF)
    async def mine(
        self,
        request: AnyRequest,
        memberships: NamedDependency[MembershipService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
    ) -> Template:
        """My memberships and my organisations': periods, payments, invoices."""
        held = await memberships.mine(actor, clock())
        return page(
            request,
            "account/memberships.html",
            private=True,
            memberships=held,
            places=await memberships.place_names(sorted({m.place_id for m in held})),
            states=STATES,
            charges=CHARGES,
        )

    @get("/{membership_id:int}/pay", opt=MEMBERSHIP)
    async def pay_form(
        self,
        request: AnyRequest,
        state: State,
        actor: NamedDependency[Actor],
        membership_id: FromPath[int],
        payment_intent: Text = "",
    ) -> Response[Any]:
        """Pay a period due by card, through Stripe's Payment Element."""
        cards = MembershipCards(billing_of(state))
        held = await cards.refresh(actor, membership_id)
        if payment_intent:
            # Back from Stripe: the refresh above asked Stripe itself how it went.
            return see_other("/account/memberships", notice="payment_checked")
        due = [
            p.charge
            for p in held.periods
            if p.charge is not None and p.charge.method == "card" and p.charge.status == "pending"
        ]
        if not due or actor.user_id != held.user_id:
            return see_other("/account/memberships")
        return payment_element_page(
            request,
            state,
            "account/membership_pay.html",
            f"/account/memberships/{membership_id}/pay",
            held=held,
            charge=due[0],
            publishable_key=billing_of(state).config.publishable_key,
        )

    @post("/{membership_id:int}/pay", opt=MEMBERSHIP)
    async def pay_check(
        self, state: State, actor: NamedDependency[Actor], membership_id: FromPath[int]
    ) -> Response[Any]:
        """Ask Stripe how the period's card payment went (never the browser)."""
        await MembershipCards(billing_of(state)).refresh(actor, membership_id)
        return see_other("/account/memberships", notice="payment_checked")

    @post("/{membership_id:int}/renew", opt=MEMBERSHIP)
    async def renew(
        self,
        memberships: NamedDependency[MembershipService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        membership_id: FromPath[int],
    ) -> Response[Any]:
        """Take the next period now (paid as the first was)."""
        await memberships.renew(actor, membership_id, clock())
        return see_other("/account/memberships", notice="membership_renewed")

    @post("/{membership_id:int}/cancel", opt=MEMBERSHIP)
    async def cancel(
        self,
        memberships: NamedDependency[MembershipService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        membership_id: FromPath[int],
    ) -> Response[Any]:
        """Cancel a membership: it ends with its current period."""
        await memberships.cancel(actor, membership_id, clock())
        return see_other("/account/memberships", notice="membership_cancelled")
