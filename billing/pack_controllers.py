"""HTTP routes of packs of prepaid hours."""

from __future__ import annotations

from litestar import Controller
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.pack_schemas import HoldingRead, PackRead, PackReceive, PackWrite, PurchaseRequest
from billing.packs import PackService
from billing.plan_cards import refresh_pack
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager, require_user
from kernel.auth.rules import BEARER, MEMBERSHIP, PLACE_MANAGER, PUBLIC, USER
from kernel.clock import Clock
from kernel.routes import get, post, put

Me = NamedDependency[Actor]
Now = NamedDependency[Clock]


def provide_packs(db_session: NamedDependency[AsyncSession], state: State) -> PackService:
    """Packs in this request's transaction."""
    return billing_of(state).packs(db_session)


DEPENDENCIES = {"packs": Provide(provide_packs, sync_to_thread=False)}
Packs = NamedDependency[PackService]


class PackController(Controller):
    """Packs a place sells, defined by its managers."""

    path = "/api"
    tags = ["packs"]
    dependencies = DEPENDENCIES
    security = BEARER
    opt = PUBLIC

    @get("/places/{place_id:int}/packs", opt=PUBLIC)
    async def offered(self, packs: Packs, actor: Me, place_id: FromPath[int]) -> list[PackRead]:
        """The packs of prepaid hours a place sells (its managers also see withdrawn ones)."""
        return await packs.offered(actor, place_id)

    @post(
        "/places/{place_id:int}/packs",
        status_code=HTTP_201_CREATED,
        guards=[require_manager],
        opt=PLACE_MANAGER,
    )
    async def create(
        self,
        packs: Packs,
        actor: Me,
        clock: Now,
        place_id: FromPath[int],
        data: JSONBody[PackWrite],
    ) -> PackRead:
        """Define a pack of prepaid hours of the place."""
        return await packs.save(actor, place_id, data, clock())

    @put("/places/{place_id:int}/packs/{pack_id:int}", guards=[require_manager], opt=PLACE_MANAGER)
    async def replace(
        self,
        packs: Packs,
        actor: Me,
        clock: Now,
        place_id: FromPath[int],
        pack_id: FromPath[int],
        data: JSONBody[PackWrite],
    ) -> PackRead:
        """Replace a pack (packs already held keep the terms they were bought with)."""
        return await packs.save(actor, place_id, data, clock(), pack_id=pack_id)

    @get("/places/{place_id:int}/packs/holders", guards=[require_manager], opt=PLACE_MANAGER)
    async def holders(self, packs: Packs, actor: Me, place_id: FromPath[int]) -> list[HoldingRead]:
        """Who holds which pack at the place: minutes left, expiry, history."""
        return await packs.holders(actor, place_id)


class PackHoldingController(Controller):
    """Buying a pack, one's packs; the money of a pack bought on site, for managers."""

    path = "/api"
    tags = ["packs"]
    dependencies = DEPENDENCIES
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/packs/{pack_id:int}/purchases", status_code=HTTP_201_CREATED, opt=USER)
    async def purchase(
        self,
        packs: Packs,
        actor: Me,
        clock: Now,
        pack_id: FromPath[int],
        data: JSONBody[PurchaseRequest],
    ) -> HoldingRead:
        """Buy a pack: by card (pay its PaymentIntent: the minutes come when Stripe says it is
        paid), on site (the minutes at once, the money at the desk) or on invoice
        (organisations)."""
        return await packs.purchase(actor, pack_id, data, clock())

    @get("/me/packs", opt=USER)
    async def mine(self, packs: Packs, actor: Me) -> list[HoldingRead]:
        """My packs of prepaid hours and my organisations': minutes left, expiry, history."""
        return await packs.mine(actor)

    # Scoped as a membership: its buyer, its organisation's members, its place's managers.
    @get("/pack-holdings/{holding_id:int}", opt=MEMBERSHIP)
    async def read(self, packs: Packs, actor: Me, holding_id: FromPath[int]) -> HoldingRead:
        """One pack held, with its charge, invoices and history."""
        return await packs.read(actor, holding_id)

    @post("/pack-holdings/{holding_id:int}/refresh", status_code=HTTP_200_OK, opt=MEMBERSHIP)
    async def refresh(self, state: State, actor: Me, holding_id: FromPath[int]) -> HoldingRead:
        """Create the PaymentIntent of a pack bought by card, or fetch it back from Stripe and
        apply it (a paid pack is credited and invoiced)."""
        return await refresh_pack(billing_of(state), actor, holding_id)

    @post(
        "/pack-holdings/{holding_id:int}/receive",
        status_code=HTTP_200_OK,
        guards=[require_manager],
        opt=PLACE_MANAGER,
    )
    async def receive(
        self,
        packs: Packs,
        actor: Me,
        clock: Now,
        holding_id: FromPath[int],
        data: JSONBody[PackReceive],
    ) -> HoldingRead:
        """Record the money of a pack bought on site (the invoice follows)."""
        del data  # the means is printed nowhere yet; asked so the desk says it
        return await packs.receive(actor, holding_id, clock())


CONTROLLERS = [PackController, PackHoldingController]
