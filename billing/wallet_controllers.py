"""Wallets: a place's managers credit them and see who holds what; a person sees their own.

Thin handlers: parse, authorize, call the service.
"""

from __future__ import annotations

from litestar import Controller
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.runtime import transaction
from billing.wallet_models import WalletTopUp
from billing.wallet_schemas import TopUpRead, TopUpWrite, WalletCredit, WalletRead
from billing.wallet_top_up_cards import TopUpCards
from billing.wallets import Wallets
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import BEARER, PLACE_MANAGER, SELF, USER
from kernel.clock import Clock
from kernel.idempotency import IDEMPOTENCY_OPT
from kernel.routes import get, post

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


def top_up_read(row: WalletTopUp) -> TopUpRead:
    """A top-up as its payer sees it (the client secret only while it is to be paid)."""
    return TopUpRead(
        id=row.id or 0,
        place_id=row.place_id,
        amount_cents=row.amount_cents,
        currency=row.currency,
        status=row.status,
        client_secret=row.client_secret if row.status == "pending" else None,
        created_at=row.created_at,
        paid_at=row.paid_at,
    )


class TopUpController(Controller):
    """Top-ups of my wallet by card: Stripe is called between transactions, never in one."""

    path = "/api"
    tags = ["billing"]
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/places/{place_id:int}/wallets/top-ups", status_code=HTTP_201_CREATED, opt=USER)
    async def top_up(
        self,
        state: State,
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: JSONBody[TopUpWrite],
    ) -> TopUpRead:
        """Start paying money into my wallet at the place by card: the PaymentIntent's client
        secret; the wallet is credited when Stripe says it is paid."""
        billing = billing_of(state)
        async with transaction(billing.database) as session:
            made = await billing.top_ups(session).start(
                actor, place_id, data.amount_cents, billing.config.card_available, clock()
            )
            top_up_id = made.id or 0
        await TopUpCards(billing).start_intent(top_up_id)
        async with transaction(billing.database, write=False) as session:
            row = await billing.top_ups(session).get(top_up_id)
        assert row is not None
        return top_up_read(row)

    # Repeats harmlessly and calls Stripe: no idempotency key is held across the call.
    @post(
        "/me/wallets/top-ups/refresh",
        status_code=HTTP_200_OK,
        opt={**SELF, IDEMPOTENCY_OPT: False},
    )
    async def refresh(self, state: State, actor: Me) -> list[TopUpRead]:
        """My top-ups, the pending ones first brought in line with Stripe (a paid one is
        credited, once)."""
        billing = billing_of(state)
        if actor.user_id is None:
            return []
        await TopUpCards(billing).refresh_mine(actor.user_id)
        async with transaction(billing.database, write=False) as session:
            return [top_up_read(r) for r in await billing.top_ups(session).mine(actor.user_id)]


CONTROLLERS = [PlaceWalletController, MyWalletController, TopUpController]
