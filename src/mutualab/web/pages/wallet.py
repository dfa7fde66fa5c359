"""My wallets: what I hold at each place, and every movement (credits, spending, give-backs).
The rules are billing's (:class:`billing.wallets.Wallets`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from billing.wallet_controllers import WALLETS
from billing.wallets import Wallets
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import SELF
from mutualab.web.i18n import N_
from mutualab.web.rendering import page

AnyRequest = Request[Any, Any, Any]
# Words for the kinds of movements.
MOVEMENTS = {
    "manager_credit": N_("Credited by the place"),
    "refund_credit": N_("Refund"),
    "spend": N_("Booking paid"),
    "give_back": N_("Given back (booking cancelled)"),
}


class WalletPages(Controller):
    """The wallets of the logged-in person."""

    path = "/account/wallet"
    dependencies = WALLETS
    guards = [require_user]
    opt = SELF

    @get("/", name="my_wallet", opt=SELF)
    async def my_wallet(
        self, request: AnyRequest, actor: NamedDependency[Actor], wallets: NamedDependency[Wallets]
    ) -> Template:
        """My balance at each place, and its movements, newest first."""
        return page(
            request,
            "account/wallet.html",
            private=True,
            wallets=await wallets.mine(actor),
            movements=MOVEMENTS,
        )
