"""Coupons of a place, for its managers (thin handlers: parse, authorize, call the service)."""

from __future__ import annotations

from litestar import Controller
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.controllers import billing_of
from billing.coupon_schemas import CouponRead, CouponUseRead, CouponWrite
from billing.coupons import Coupons
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import BEARER, PLACE_MANAGER
from kernel.clock import Clock
from kernel.routes import get, post, put

Me = NamedDependency[Actor]


def provide_coupons(db_session: NamedDependency[AsyncSession], state: State) -> Coupons:
    """Coupons in this request's transaction."""
    return billing_of(state).prices(db_session).coupons


class CouponController(Controller):
    """A place's coupons: a percentage or an amount off, within dates and limits."""

    path = "/api/places/{place_id:int}/coupons"
    tags = ["billing"]
    dependencies = {"coupons": Provide(provide_coupons, sync_to_thread=False)}
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/", opt=PLACE_MANAGER)
    async def list_coupons(
        self, coupons: NamedDependency[Coupons], actor: Me, place_id: FromPath[int]
    ) -> list[CouponRead]:
        """The coupons of the place, with their uses."""
        return await coupons.of_place(actor, place_id)

    @post("/", status_code=HTTP_201_CREATED, opt=PLACE_MANAGER)
    async def create_coupon(
        self,
        coupons: NamedDependency[Coupons],
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: JSONBody[CouponWrite],
    ) -> CouponRead:
        """Add a coupon (409 coupon_code_taken when the place has the code already)."""
        return await coupons.save(actor, place_id, data, clock())

    @get("/{coupon_id:int}", opt=PLACE_MANAGER)
    async def get_coupon(
        self,
        coupons: NamedDependency[Coupons],
        actor: Me,
        place_id: FromPath[int],
        coupon_id: FromPath[int],
    ) -> CouponRead:
        """A coupon of the place."""
        return await coupons.get(actor, place_id, coupon_id)

    @put("/{coupon_id:int}", opt=PLACE_MANAGER)
    async def update_coupon(
        self,
        coupons: NamedDependency[Coupons],
        actor: Me,
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        coupon_id: FromPath[int],
        data: JSONBody[CouponWrite],
    ) -> CouponRead:
        """Replace a coupon (its uses stay counted; active false withdraws it)."""
        return await coupons.save(actor, place_id, data, clock(), coupon_id)

    @get("/{coupon_id:int}/uses", opt=PLACE_MANAGER)
    async def coupon_uses(
        self,
        coupons: NamedDependency[Coupons],
        actor: Me,
        place_id: FromPath[int],
        coupon_id: FromPath[int],
    ) -> list[CouponUseRead]:
        """Who used the coupon, for which booking, and how much it took off."""
        return await coupons.uses(actor, place_id, coupon_id)


CONTROLLERS = [CouponController]
