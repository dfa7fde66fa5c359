"""Every query of membership plans, memberships, their periods and charges."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from sqlalchemy import text
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.plans import MembershipPlan, PlanAllowance, PlanSubscription, SubscriptionPeriod
from billing.models import BillingDocument, PlanCharge


class PlanRepository:
    """Reads and writes of plans and memberships."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: object) -> None:
        """Insert or update rows and learn their ids."""
        self.session.add_all(rows)
        await self.session.flush()

    async def lock_holder(self, key: str) -> None:
        """Serialise the subscriptions of one holder to one plan (a transaction-level
        advisory lock): two at once make one membership."""
        number = zlib.crc32(f"membership:{key}".encode()) - 2**31
        await self.session.exec(  # type: ignore[call-overload]
            text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=number)
        )

    async def plan(self, plan_id: int, *, lock: bool = False) -> MembershipPlan | None:
        """One plan."""
        query = select(MembershipPlan).where(col(MembershipPlan.id) == plan_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def plans_at(self, place_id: int, *, active_only: bool) -> list[MembershipPlan]:
        """The place's own plans and the platform's, by name."""
        query = select(MembershipPlan).where(
            or_(col(MembershipPlan.place_id) == place_id, col(MembershipPlan.place_id).is_(None))
        )
        if active_only:
            query = query.where(col(MembershipPlan.active))
        return list((await self.session.exec(query.order_by(col(MembershipPlan.name)))).all())

    async def allowances(self, plan_ids: Sequence[int]) -> dict[int, list[PlanAllowance]]:
        """The allowances of each plan."""
        found: dict[int, list[PlanAllowance]] = {pid: [] for pid in plan_ids}
        if not plan_ids:
            return found
        rows = await self.session.exec(
            select(PlanAllowance)
            .where(col(PlanAllowance.plan_id).in_(plan_ids))
            .order_by(col(PlanAllowance.id))
        )
        for row in rows.all():
            found[row.plan_id].append(row)
        return found

    async def replace_allowances(self, plan_id: int, rows: Sequence[PlanAllowance]) -> None:
        """The plan's allowances become ``rows``."""
        for old in (await self.allowances([plan_id]))[plan_id]:
            await self.session.delete(old)
        await self.session.flush()
        await self.add(*rows)

    async def membership(
        self, membership_id: int, *, lock: bool = False
    ) -> PlanSubscription | None:
        """One membership."""
        query = select(PlanSubscription).where(col(PlanSubscription.id) == membership_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def memberships_of(
        self, user_id: int, organisation_ids: Sequence[int]
    ) -> list[PlanSubscription]:
        """A person's memberships and their organisations', newest first."""
        query = select(PlanSubscription).where(
            or_(
                (col(PlanSubscription.user_id) == user_id)
                & col(PlanSubscription.organisation_id).is_(None),
                col(PlanSubscription.organisation_id).in_(list(organisation_ids) or [0]),
            )
        )
        return list(
            (await self.session.exec(query.order_by(col(PlanSubscription.id).desc()))).all()
        )

    async def memberships_at(self, place_id: int) -> list[PlanSubscription]:
        """Every membership held at a place, newest first."""
        query = select(PlanSubscription).where(col(PlanSubscription.place_id) == place_id)
        return list(
            (await self.session.exec(query.order_by(col(PlanSubscription.id).desc()))).all()
        )

    async def holder_memberships(
        self, plan_id: int, place_id: int, user_id: int, organisation_id: int | None
    ) -> list[PlanSubscription]:
        """The holder's memberships of one plan at one place."""
        query = select(PlanSubscription).where(
            col(PlanSubscription.plan_id) == plan_id, col(PlanSubscription.place_id) == place_id
        )
        if organisation_id is not None:
            query = query.where(col(PlanSubscription.organisation_id) == organisation_id)
        else:
            query = query.where(
                col(PlanSubscription.user_id) == user_id,
                col(PlanSubscription.organisation_id).is_(None),
            )
        return list((await self.session.exec(query)).all())

    async def periods(self, membership_ids: Sequence[int]) -> dict[int, list[SubscriptionPeriod]]:
        """The periods of each membership, in order."""
        found: dict[int, list[SubscriptionPeriod]] = {mid: [] for mid in membership_ids}
        if not membership_ids:
            return found
        rows = await self.session.exec(
            select(SubscriptionPeriod)
            .where(col(SubscriptionPeriod.subscription_id).in_(membership_ids))
            .order_by(col(SubscriptionPeriod.sequence))
        )
        for row in rows.all():
            found[row.subscription_id].append(row)
        return found

    async def charges(self, period_ids: Sequence[int]) -> dict[int, PlanCharge]:
        """The charge of each period that has one."""
        if not period_ids:
            return {}
        rows = await self.session.exec(
            select(PlanCharge).where(col(PlanCharge.period_id).in_(period_ids))
        )
        return {row.period_id: row for row in rows.all() if row.period_id is not None}

    async def charge(self, charge_id: int, *, lock: bool = False) -> PlanCharge | None:
        """One charge."""
        query = select(PlanCharge).where(col(PlanCharge.id) == charge_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def charge_of_intent(self, intent_id: str) -> PlanCharge | None:
        """The charge a PaymentIntent pays, locked."""
        query = select(PlanCharge).where(col(PlanCharge.intent_id) == intent_id).with_for_update()
        return (await self.session.exec(query)).first()

    async def period(self, period_id: int, *, lock: bool = False) -> SubscriptionPeriod | None:
        """One period."""
        query = select(SubscriptionPeriod).where(col(SubscriptionPeriod.id) == period_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def documents(self, charge_ids: Sequence[int]) -> dict[int, list[BillingDocument]]:
        """The documents of each charge."""
        found: dict[int, list[BillingDocument]] = {cid: [] for cid in charge_ids}
        if not charge_ids:
            return found
        rows = await self.session.exec(
            select(BillingDocument)
            .where(col(BillingDocument.plan_charge_id).in_(charge_ids))
            .order_by(col(BillingDocument.id))
        )
        for row in rows.all():
            if row.plan_charge_id is not None:
                found[row.plan_charge_id].append(row)
        return found

    async def live_memberships(self) -> list[PlanSubscription]:
        """Memberships not cancelled, locked (skipping those another worker holds): the
        renewal job decides from their periods."""
        query = (
            select(PlanSubscription)
            .where(col(PlanSubscription.cancelled_at).is_(None))
            .order_by(col(PlanSubscription.id))
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.exec(query)).all())
