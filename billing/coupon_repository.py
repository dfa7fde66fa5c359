"""Every query of coupons and their uses (the billing domain's, kept apart from the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from billing.coupon_models import Coupon, CouponRedemption

# One statement decides a use: the row lock it takes makes a second spender of the last use
# wait, then find nothing to update (READ COMMITTED re-reads the row after the lock).
_TAKE_USE = text(
    """
    UPDATE coupon SET uses = uses + 1, updated_at = :now
    WHERE id = :coupon_id AND active AND (max_uses IS NULL OR uses < max_uses)
    RETURNING max_uses_per_person
    """
)
_GIVE_BACK = text("UPDATE coupon SET uses = uses - 1, updated_at = :now WHERE id = :coupon_id")


class CouponRepository:
    """Reads and writes of coupons and their uses."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: Coupon | CouponRedemption) -> None:
        """Insert or update rows and learn their ids."""
        self.session.add_all(rows)
        await self.session.flush()

    async def of_place(self, place_id: int) -> list[Coupon]:
        """Every coupon of a place, by code."""
        rows = await self.session.exec(
            select(Coupon).where(Coupon.place_id == place_id).order_by(col(Coupon.code))
        )
        return list(rows.all())

    async def get(self, place_id: int, coupon_id: int) -> Coupon | None:
        """A coupon of a place."""
        rows = await self.session.exec(
            select(Coupon).where(Coupon.place_id == place_id, Coupon.id == coupon_id)
        )
        return rows.first()

    async def by_code(self, place_id: int, code: str) -> Coupon | None:
        """The coupon of a place with this code (upper case)."""
        rows = await self.session.exec(
            select(Coupon).where(Coupon.place_id == place_id, Coupon.code == code)
        )
        return rows.first()

    async def uses_of_person(self, coupon_id: int, user_id: int) -> int:
        """How many uses of a coupon a person holds (given back ones not counted)."""
        rows = await self.session.exec(
            select(func.count())
            .select_from(CouponRedemption)
            .where(
                CouponRedemption.coupon_id == coupon_id,
                CouponRedemption.user_id == user_id,
                col(CouponRedemption.released_at).is_(None),
            )
        )
        return int(rows.one())

    async def take_use(self, coupon_id: int, now: datetime) -> tuple[bool, int | None]:
        """Count one more use if one is left: (taken, the per-person limit)."""
        connection = await self.session.connection()
        result = await connection.execute(_TAKE_USE, {"coupon_id": coupon_id, "now": now})
        row = result.first()
        return (False, None) if row is None else (True, row[0])

    async def give_back(self, coupon_id: int, now: datetime) -> None:
        """One use less (its booking ended with nothing paid)."""
        connection = await self.session.connection()
        await connection.execute(_GIVE_BACK, {"coupon_id": coupon_id, "now": now})

    async def redemption_of_payment(
        self, payment_id: int, *, lock: bool = False
    ) -> CouponRedemption | None:
        """The coupon use of a payment, if any."""
        query = select(CouponRedemption).where(CouponRedemption.payment_id == payment_id)
        rows = await self.session.exec(query.with_for_update() if lock else query)
        return rows.first()

    async def redemption_of_plan_charge(
        self, plan_charge_id: int, *, lock: bool = False
    ) -> CouponRedemption | None:
        """The coupon use of a membership period's charge, if any."""
        query = select(CouponRedemption).where(CouponRedemption.plan_charge_id == plan_charge_id)
        rows = await self.session.exec(query.with_for_update() if lock else query)
        return rows.first()

    async def redemptions(
        self, coupon_id: int, limit: int = 200
    ) -> Sequence[tuple[CouponRedemption, User]]:
        """The uses of a coupon, newest first, with who used it."""
        rows = await self.session.exec(
            select(CouponRedemption, User)
            .join(User, col(User.id) == CouponRedemption.user_id)
            .where(CouponRedemption.coupon_id == coupon_id)
            .order_by(col(CouponRedemption.id).desc())
            .limit(limit)
        )
        return list(rows.all())
