"""Wallets: a place's managers credit them and see who holds what; a person sees their own.

Thin handlers: parse, authorize, call the service.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.wallet_schemas import WalletCredit, WalletRead
from billing.wallets import Wallets
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import BEARER, PLACE_MANAGER, SELF
from kernel.clock import Clock

Me = NamedDependency[Actor]
WalletsDep = NamedDependency[Wallets]


def provide_wallets(db_session: NamedDependency[AsyncSession], state: State) -> Wallets:
    """Wallets in this request's transaction."""
    return billing_of(state).prices(db_session).wallets


WALLETS = {"wallets": Provide(provide_wallets, sync_to_thread=False)}


class PlaceWalletController(Controller):
    """The wallets of a place, for its managers."""

    path = "/api/places/{place_id:int}/wallets"
    tags = ["billing"]
    dependencies = WALLETS
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/", opt=PLACE_MANAGER)
    async def holders(
        self, wallets: WalletsDep, actor: Me, place_id: FromPath[int]
    ) -> list[WalletRead]:
        """Who holds a wallet at the place, and its balance."""
        return await wallets.holders(actor, place_id)

    @post("/credits", status_code=HTTP_201_CREATED, opt=PLACE_MANAGER)
    async def credit(
        self,
        wallets: WalletsDep,
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: JSONBody[WalletCredit],
    ) -> WalletRead:
        """Put money in a person's wallet at the place, with the reason (a ledger row)."""
        return await wallets.credit(actor, place_id, data, clock())

    @get("/{wallet_id:int}", opt=PLACE_MANAGER)
    async def history(
        self, wallets: WalletsDep, actor: Me, place_id: FromPath[int], wallet_id: FromPath[int]
    ) -> WalletRead:
        """A wallet of the place with its movements, newest first."""
        return await wallets.history(actor, place_id, wallet_id)


class MyWalletController(Controller):
    """The wallets of the logged-in person."""

    path = "/api/me/wallets"
    tags = ["billing"]
    dependencies = WALLETS
    guards = [require_user]
    security = BEARER
    opt = SELF

    @get("/", opt=SELF)
    async def mine(self, wallets: WalletsDep, actor: Me) -> list[WalletRead]:
        """My wallets at every place, with their movements (newest first)."""
        return await wallets.mine(actor)


CONTROLLERS = [PlaceWalletController, MyWalletController]
