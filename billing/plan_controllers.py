"""HTTP routes of membership plans and memberships."""

from __future__ import annotations

from litestar import Controller
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.memberships import MembershipService
from billing.plan_cards import MembershipCards
from billing.plan_schemas import (
    MembershipRead,
    PlanQuoteRead,
    PlanQuoteRequest,
    PlanRead,
    PlanWrite,
    ReceiveRequest,
    SubscribeRequest,
)
from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin, require_manager, require_user
from kernel.auth.rules import ADMIN, BEARER, MEMBERSHIP, PLACE_MANAGER, PUBLIC, USER
from kernel.clock import Clock
from kernel.routes import get, post, put

Me = NamedDependency[Actor]
Now = NamedDependency[Clock]


def provide_memberships(
    db_session: NamedDependency[AsyncSession], state: State
) -> MembershipService:
    """Memberships in this request's transaction."""
    return billing_of(state).memberships(db_session)


DEPENDENCIES = {"memberships": Provide(provide_memberships, sync_to_thread=False)}
Memberships = NamedDependency[MembershipService]


class PlanController(Controller):
    """Plans a place (or the platform) offers, defined by its managers."""

    path = "/api"
    tags = ["memberships"]
    dependencies = DEPENDENCIES
    security = BEARER
    opt = PUBLIC

    @get("/places/{place_id:int}/plans", opt=PUBLIC)
    async def plans(self, memberships: Memberships, place_id: FromPath[int]) -> list[PlanRead]:
        """The membership plans offered at a place (its own and the platform's)."""
        return await memberships.plans_at(place_id)

    @post(
        "/places/{place_id:int}/plans",
        status_code=HTTP_201_CREATED,
        guards=[require_manager],
        opt=PLACE_MANAGER,
    )
    async def create(
        self,
        memberships: Memberships,
        actor: Me,
        clock: Now,
        place_id: FromPath[int],
        data: JSONBody[PlanWrite],
    ) -> PlanRead:
        """Define a membership plan of the place."""
        return await memberships.save_plan(actor, place_id, data, clock())

    @post("/plans", status_code=HTTP_201_CREATED, guards=[require_admin], opt=ADMIN)
    async def create_platform(
        self, memberships: Memberships, actor: Me, clock: Now, data: JSONBody[PlanWrite]
    ) -> PlanRead:
        """Define a platform-wide plan (held at any place)."""
        return await memberships.save_plan(actor, None, data, clock())

    @put("/plans/{plan_id:int}", guards=[require_manager], opt=PLACE_MANAGER)
    async def replace(
        self,
        memberships: Memberships,
        actor: Me,
        clock: Now,
        plan_id: FromPath[int],
        data: JSONBody[PlanWrite],
    ) -> PlanRead:
        """Replace a plan (its memberships keep their periods; renewals take the new terms)."""
        return await memberships.save_plan(actor, None, data, clock(), plan_id=plan_id)


class MembershipController(Controller):
    """Subscribing, one's memberships, cancelling; who holds what, for managers."""

    path = "/api"
    tags = ["memberships"]
    dependencies = DEPENDENCIES
    guards = [require_user]
    security = BEARER
    opt = USER

    @post("/plans/{plan_id:int}/quote", status_code=HTTP_200_OK, opt=USER)
    async def quote(
        self,
        memberships: Memberships,
        actor: Me,
        clock: Now,
        plan_id: FromPath[int],
        data: JSONBody[PlanQuoteRequest],
    ) -> PlanQuoteRead:
        """The first period's price for me, after a coupon and my wallet (nothing is kept)."""
        return await memberships.quote(actor, plan_id, data, clock())

    @post("/plans/{plan_id:int}/memberships", status_code=HTTP_201_CREATED, opt=USER)
    async def subscribe(
        self,
        memberships: Memberships,
        actor: Me,
        clock: Now,
        plan_id: FromPath[int],
        data: JSONBody[SubscribeRequest],
    ) -> MembershipRead:
        """Subscribe to a plan: card (pay the period's PaymentIntent), on site, or on invoice
        (organisations); the first period maybe after a coupon and paid partly or wholly from
        the wallet, at the quoted price (``409 price_changed`` else)."""
        return await memberships.subscribe(actor, plan_id, data, clock())

    @get("/me/memberships", opt=USER)
    async def mine(self, memberships: Memberships, actor: Me, clock: Now) -> list[MembershipRead]:
        """My memberships and my organisations'."""
        return await memberships.mine(actor, clock())

    @get("/memberships/{membership_id:int}", opt=MEMBERSHIP)
    async def read(
        self, memberships: Memberships, actor: Me, clock: Now, membership_id: FromPath[int]
    ) -> MembershipRead:
        """One membership, its periods, charges and invoices."""
        return await memberships.read(actor, membership_id, clock())

    @post("/memberships/{membership_id:int}/cancel", status_code=HTTP_200_OK, opt=MEMBERSHIP)
    async def cancel(
        self, memberships: Memberships, actor: Me, clock: Now, membership_id: FromPath[int]
    ) -> MembershipRead:
        """Cancel at the end of the current period (no renewal)."""
        return await memberships.cancel(actor, membership_id, clock())

    @post("/memberships/{membership_id:int}/renew", status_code=HTTP_200_OK, opt=MEMBERSHIP)
    async def renew(
        self, memberships: Memberships, actor: Me, clock: Now, membership_id: FromPath[int]
    ) -> MembershipRead:
        """Take the next period now (from 30 days before the current one ends)."""
        return await memberships.renew(actor, membership_id, clock())

    @post(
        "/memberships/{membership_id:int}/receive",
        status_code=HTTP_200_OK,
        guards=[require_manager],
        opt=PLACE_MANAGER,
    )
    async def receive(
        self,
        memberships: Memberships,
        actor: Me,
        clock: Now,
        membership_id: FromPath[int],
        data: JSONBody[ReceiveRequest],
    ) -> MembershipRead:
        """Record the money of the period due on site (the invoice follows)."""
        del data  # the means is printed nowhere yet; asked so the desk says it
        return await memberships.receive(actor, membership_id, clock())

    @post("/memberships/{membership_id:int}/refresh", status_code=HTTP_200_OK, opt=MEMBERSHIP)
    async def refresh(
        self, state: State, actor: Me, membership_id: FromPath[int]
    ) -> MembershipRead:
        """Create the PaymentIntent of a period due by card, or fetch it back from Stripe and
        apply it (a paid period counts and is invoiced)."""
        return await MembershipCards(billing_of(state)).refresh(actor, membership_id)

    @get("/places/{place_id:int}/memberships", guards=[require_manager], opt=PLACE_MANAGER)
    async def at_place(
        self, memberships: Memberships, actor: Me, clock: Now, place_id: FromPath[int]
    ) -> list[MembershipRead]:
        """Who holds which plan at the place."""
        return await memberships.at_place(actor, place_id, clock())


CONTROLLERS = [PlanController, MembershipController]
