"""Packs of prepaid hours for people: a place's packs (and buying one, paid on site or by card,
or, for an organisation one administers, on invoice), and my packs with their balance and
history; paying a pack due by card.

A pack by card is paid through Stripe's Payment Element, as a booking is (``payment.js``); it
is credited once Stripe says it is paid (its webhook, or the check on return), never on the
browser's word. The rules are billing's (:mod:`billing.packs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.pack_controllers import DEPENDENCIES as PACKS
from billing.pack_schemas import PurchaseRequest
from billing.packs import PackService
from billing.plan_cards import refresh_pack
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import MEMBERSHIP, PUBLIC, SELF, USER
from kernel.clock import Clock
from kernel.errors import AppError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.booking import card_due_here, payment_element_page
from mutualab.web.pages.manage.plans import CHARGES
from mutualab.web.rendering import page, see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

AnyRequest = Request[Any, Any, Any]
REFUSALS = {
    "pack_not_for_you": N_("This pack is not offered at your rate."),
    "pack_expired": N_("This pack can no longer be bought: its validity is over."),
    "invoice_not_allowed": N_("Paying on invoice is for organisations."),
    "not_organisation_admin": N_("Only an administrator of the organisation buys for it."),
}
# Words for the kinds of movements of a pack.
MOVEMENTS = {
    "bought": N_("Bought"),
    "used": N_("Used by a booking"),
    "given_back": N_("Given back (booking cancelled)"),
    "expired": N_("Expired"),
}
STATES = {
    "pending": N_("waiting for the card payment"),
    "active": N_("in use"),
    "expired": N_("expired"),
    "cancelled": N_("withdrawn (never paid)"),
}


@dataclass
class BuyForm:
    """A pack bought for oneself (on site or by card) or an organisation one administers (on
    invoice)."""

    organisation_id: str = ""
    # For oneself: "on_site" or "card" (where the instance takes cards).
    method: str = "on_site"


class PackPublicPages(Controller):
    """A place's packs, for everyone; buying one, for people logged in."""

    path = "/places/{place_id:int}/packs"
    dependencies = {**CATALOGUE, **PACKS}

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        packs: PackService,
        actor: Actor,
        place_id: int,
        *,
        error: FieldError | None = None,
        status_code: int = 200,
    ) -> Template:
        place = await catalogue.place_detail(place_id)
        administered = [oid for oid, role in actor.organisation_roles.items() if role == "admin"]
        organisations = await packs.billing.organisation_names(administered)
        offered = [p for p in await packs.offered(actor, place_id) if p.active]
        return page(
            request,
            "packs.html",
            status_code=status_code,
            place=place,
            packs=offered,
            names={r.id: r.name for r in place.resources},
            organisations=organisations,
            card_available=packs.card_available,
            error=error,
        )

    @get("/", name="place_packs", opt=PUBLIC)
    async def packs_page(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        packs: NamedDependency[PackService],
        actor: NamedDependency[Actor],
        place_id: FromPath[int],
    ) -> Template:
        """The packs of prepaid hours of a place: hours, equipment, price, validity; buy one."""
        return await self._page(request, catalogue, packs, actor, place_id)

    @post("/{pack_id:int}/buy", guards=[require_user], opt=USER)
    async def buy(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        packs: NamedDependency[PackService],
        actor: NamedDependency[Actor],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        pack_id: FromPath[int],
        data: URLEncodedBody[BuyForm],
    ) -> Response[Any]:
        """Buy a pack: on site or by card for oneself, on invoice for an organisation one
        administers."""
        organisation = data.organisation_id.strip()
        method = "card" if data.method == "card" and packs.card_available else "on_site"
        try:
            request_body = PurchaseRequest.model_validate(
                {
                    "organisation_id": int(organisation) if organisation.isdigit() else None,
                    "payment_method": "invoice" if organisation else method,
                }
            )
            pack = await packs.repo.pack(pack_id)
            if pack is None or pack.place_id != place_id:
                raise NotFoundError(f"No pack with id {pack_id}.", code="pack_not_found")
            async with db_session.begin_nested():
                bought = await packs.purchase(actor, pack_id, request_body, clock())
        except (ValidationError, AppError) as exc:
            if isinstance(exc, AppError) and exc.status_code == 404:
                raise
            code = exc.code if isinstance(exc, AppError) else ""
            error = FieldError(REFUSALS.get(code, N_("This pack cannot be bought.")))
            return await self._page(
                request, catalogue, packs, actor, place_id, error=error, status_code=409
            )
        if bought.charge is not None and bought.charge.method == "card":
            return see_other(f"/account/packs/{bought.id}/pay")
        return see_other("/account/packs", notice="pack_bought")


class PackPages(Controller):
    """My packs of prepaid hours."""

    path = "/account/packs"
    dependencies = PACKS
    guards = [require_user]

    @get("/", name="my_packs", opt=SELF)
    async def mine(
        self,
        request: AnyRequest,
        packs: NamedDependency[PackService],
        actor: NamedDependency[Actor],
    ) -> Template:
        """My packs and my organisations': hours left, last day, history, invoices."""
        return page(
            request,
            "account/packs.html",
            private=True,
            holdings=await packs.mine(actor),
            movements=MOVEMENTS,
            states=STATES,
            charges=CHARGES,
        )

    @get("/{holding_id:int}/pay", opt=MEMBERSHIP)
    async def pay_form(
        self,
        request: AnyRequest,
        state: State,
        actor: NamedDependency[Actor],
        holding_id: FromPath[int],
        payment_intent: FromQuery[str] = "",
    ) -> Response[Any]:
        """Pay a pack bought by card, through Stripe's Payment Element."""
        held = await refresh_pack(billing_of(state), actor, holding_id)
        if payment_intent:
            # Back from Stripe: the refresh above asked Stripe itself how it went.
            return see_other("/account/packs", notice="payment_checked")
        if not card_due_here(held.charge, held.user_id, actor):
            return see_other("/account/packs")
        return payment_element_page(
            request,
            state,
            "account/pack_pay.html",
            f"/account/packs/{holding_id}/pay",
            held=held,
            charge=held.charge,
            publishable_key=billing_of(state).config.publishable_key,
        )

    @post("/{holding_id:int}/pay", opt=MEMBERSHIP)
    async def pay_check(
        self, state: State, actor: NamedDependency[Actor], holding_id: FromPath[int]
    ) -> Response[Any]:
        """Ask Stripe how the pack's card payment went (never the browser)."""
        await refresh_pack(billing_of(state), actor, holding_id)
        return see_other("/account/packs", notice="payment_checked")
