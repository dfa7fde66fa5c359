"""Whether someone is a member of a place at a moment, and what the booking rules grant them.

One statement over the active periods covering the moment. A person booking for themselves
counts their own subscriptions; booking for an organisation, the organisation's (as quotas
count them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.plans import MembershipPlan, PeriodStatus, PlanSubscription, SubscriptionPeriod


@dataclass(frozen=True, slots=True)
class Standing:
    """The plans held at a place at a moment, and what the booking rules make of them."""

    plan_ids: tuple[int, ...]
    # A plan giving access to members-only resources is among them.
    members_access: bool
    # The longest extra booking horizon among them, in days.
    extra_horizon_days: int

    @property
    def is_member(self) -> bool:
        """Whether any plan is held."""
        return bool(self.plan_ids)


NOT_A_MEMBER = Standing((), False, 0)


async def standing(
    session: AsyncSession,
    *,
    user_id: int,
    organisation_id: int | None,
    place_id: int,
    at: datetime,
) -> Standing:
    """The standing of a person (or of an organisation) at ``place_id`` at ``at``."""
    holder = (
        col(PlanSubscription.organisation_id) == organisation_id
        if organisation_id is not None
        else (col(PlanSubscription.user_id) == user_id)
        & col(PlanSubscription.organisation_id).is_(None)
    )
    query = (
        select(
            func.array_agg(func.distinct(MembershipPlan.id)),
            func.bool_or(MembershipPlan.members_access),
            func.max(MembershipPlan.extra_horizon_days),
        )
        .select_from(SubscriptionPeriod)
        .join(PlanSubscription, col(PlanSubscription.id) == SubscriptionPeriod.subscription_id)
        .join(MembershipPlan, col(MembershipPlan.id) == PlanSubscription.plan_id)
        .where(
            holder,
            col(PlanSubscription.place_id) == place_id,
            col(SubscriptionPeriod.status) == PeriodStatus.ACTIVE,
            col(SubscriptionPeriod.starts_at) <= at,
            col(SubscriptionPeriod.ends_at) > at,
        )
    )
    plans, access, horizon = (await session.exec(query)).one()
    if not plans:
        return NOT_A_MEMBER
    return Standing(tuple(sorted(plans)), bool(access), int(horizon or 0))
