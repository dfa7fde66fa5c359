"""The wallets of a place: who holds what, every movement, and crediting one with the reason.

Wallets are billing's (:class:`billing.wallets.Wallets`); the page turns the form into its
request model and its refusals into field errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError

from billing.wallet_controllers import WALLETS
from billing.wallet_schemas import WalletCredit, WalletRead
from billing.wallets import Wallets
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, first_errors, ordered
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_cents, place_page
from mutualab.web.pages.wallet import MOVEMENTS
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead
from resources.service import CatalogueService

FIELDS = ["email", "amount", "reason"]
MESSAGES = {
    "email": FieldError(N_("Enter the e-mail address of a person with an account.")),
    "amount": FieldError(N_("Enter an amount like 10,00 (at most 100 000,00).")),
    "amount_cents": FieldError(N_("Enter an amount like 10,00 (at most 100 000,00).")),
    "reason": FieldError(N_("Say why (300 characters at most): the person sees it.")),
}


@dataclass
class CreditForm:
    """Money to put in a person's wallet, as typed."""

    email: str = ""
    amount: str = ""
    reason: str = ""


class WalletPages(Controller):
    """The wallets of the places I manage."""

    path = "/manage/places/{place_id:int}/wallets"
    dependencies = {**CATALOGUE, **WALLETS}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        wallets: Wallets,
        place: PlaceRead,
        *,
        form: CreditForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        holders: list[WalletRead] = [
            await wallets.history(actor, place.id, w.id)
            for w in await wallets.holders(actor, place.id)
        ]
        return place_page(
            request,
            "manage/wallets.html",
            place,
            "/wallets",
            status_code=status_code,
            holders=holders,
            movements=MOVEMENTS,
            form=form or CreditForm(),
            errors=errors or {},
        )

    async def _place(self, actor: Actor, catalogue: CatalogueService, place_id: int) -> PlaceRead:
        await catalogue.managed_place(actor, place_id)
        return await catalogue.place_detail(place_id, include_inactive=True)

    @get("/", opt=PLACE_MANAGER)
    async def wallets_page(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        wallets: NamedDependency[Wallets],
        place_id: FromPath[int],
    ) -> Template:
        """Who holds a wallet at the place, their movements, and a form to credit one."""
        place = await self._place(actor, catalogue, place_id)
        return await self._page(request, actor, wallets, place)

    @post("/credits", opt=PLACE_MANAGER)
    async def credit(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        wallets: NamedDependency[Wallets],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[CreditForm],
    ) -> Response[Any]:
        """Put money in a person's wallet at the place, with the reason."""
        place = await self._place(actor, catalogue, place_id)
        errors: Errors = {}
        cents = parse_cents(data.amount)
        if cents is None:
            errors["amount"] = MESSAGES["amount"]
        credit: WalletCredit | None = None
        try:
            credit = WalletCredit.model_validate(
                {"email": data.email, "amount_cents": cents or 0, "reason": data.reason}
            )
        except ValidationError as exc:
            for name, message in first_errors(exc, MESSAGES).items():
                errors.setdefault("amount" if name == "amount_cents" else name, message)
        if credit is not None and not errors:
            try:
                await wallets.credit(actor, place_id, credit, clock())
            except InvalidInputError:
                errors["email"] = MESSAGES["email"]
        if credit is None or errors:
            return await self._page(
                request,
                actor,
                wallets,
                place,
                form=data,
                errors=ordered(errors, FIELDS),
                status_code=422,
            )
        return see_other(f"/manage/places/{place_id}/wallets", notice="wallet_credited")
