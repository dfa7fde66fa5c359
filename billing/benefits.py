"""What a person's (or an organisation's) memberships give them at a place at a moment.

:func:`benefits_for` reads the plans held (their active periods covering the moment), their
included minutes and what the holder's bookings have used of them in each period;
:func:`combine` and :func:`usage` are the pure part. The quote takes them through
:mod:`billing.member_benefits`: included minutes first, then the member discount.

Included minutes are used by the holder's live bookings (held, awaiting approval, confirmed)
that start in the period, in the order they were booked, whatever they were charged: a
booking of a resource with its own allowance and its kind's counts against both. A cancelled
booking uses what its refund tier kept of its included minutes (``payment.included_kept_minutes``,
0 when they came back whole).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.plans import (
    MembershipPlan,
    PeriodStatus,
    PlanAllowance,
    PlanSubscription,
    SubscriptionPeriod,
)
from billing.models import Payment
from booking.models import Booking, BookingItem
from booking.repository import BookingRepository
from resources.repository import CatalogueRepository


@dataclass(frozen=True, slots=True)
class Allowance:
    """Minutes included on a resource (or every resource of a kind) in one period."""

    plan_id: int
    resource_id: int | None
    resource_kind: str | None
    included_minutes: int
    used_minutes: int
    period_starts_at: datetime
    period_ends_at: datetime

    @property
    def remaining_minutes(self) -> int:
        """What is left of the period's minutes (never below zero)."""
        return max(0, self.included_minutes - self.used_minutes)

    def applies_to(self, resource_id: int, kind: str) -> bool:
        """Whether a booking of ``resource_id`` (of ``kind``) may use these minutes."""
        if self.resource_id is not None:
            return self.resource_id == resource_id
        return self.resource_kind == kind


@dataclass(frozen=True, slots=True)
class Benefits:
    """Every benefit held at a place at a moment (none: :data:`NO_BENEFITS`)."""

    plan_ids: tuple[int, ...]
    # The best percentage off resources among the plans held.
    discount_percent: int
    members_access: bool
    extra_horizon_days: int
    allowances: tuple[Allowance, ...]

    def allowances_for(self, resource_id: int, kind: str) -> tuple[Allowance, ...]:
        """The allowances a booking of ``resource_id`` may use: the resource's own first,
        then its kind's."""
        own = [a for a in self.allowances if a.resource_id == resource_id]
        kinds = [a for a in self.allowances if a.resource_id is None and a.applies_to(0, kind)]
        return tuple(own + kinds)

    def included_minutes_left(self, resource_id: int, kind: str) -> int:
        """Minutes still included for a booking of ``resource_id``."""
        return sum(a.remaining_minutes for a in self.allowances_for(resource_id, kind))


NO_BENEFITS = Benefits((), 0, False, 0, ())


@dataclass(frozen=True, slots=True)
class HeldPlan:
    """A plan held over one period, with its allowances (resource id, kind, minutes)."""

    plan_id: int
    discount_percent: int
    members_access: bool
    extra_horizon_days: int
    starts_at: datetime
    ends_at: datetime
    allowances: tuple[tuple[int | None, str | None, int], ...]


def usage(
    items: Iterable[tuple[int, int, int]],
    kinds: Mapping[int, str],
    resource_id: int | None,
    resource_kind: str | None,
) -> int:
    """Minutes used of one allowance by booked items (booking id, resource id, minutes): each
    booking once, however many of its resources the allowance covers."""
    used: dict[int, int] = {}
    for booking_id, rid, minutes in items:
        matches = rid == resource_id if resource_id is not None else kinds.get(rid) == resource_kind
        if matches:
            used[booking_id] = minutes
    return sum(used.values())


def combine(
    held: Sequence[HeldPlan],
    items_of: Mapping[tuple[datetime, datetime], Sequence[tuple[int, int, int]]],
    kinds: Mapping[int, str],
) -> Benefits:
    """The benefits of the plans held, their allowances' use counted from the booked items
    of each plan's period."""
    if not held:
        return NO_BENEFITS
    allowances = tuple(
        Allowance(
            plan_id=plan.plan_id,
            resource_id=rid,
            resource_kind=kind,
            included_minutes=minutes,
            used_minutes=usage(items_of[(plan.starts_at, plan.ends_at)], kinds, rid, kind),
            period_starts_at=plan.starts_at,
            period_ends_at=plan.ends_at,
        )
        for plan in sorted(held, key=lambda p: p.plan_id)
        for rid, kind, minutes in plan.allowances
    )
    return Benefits(
        plan_ids=tuple(sorted({p.plan_id for p in held})),
        discount_percent=max(p.discount_percent for p in held),
        members_access=any(p.members_access for p in held),
        extra_horizon_days=max(p.extra_horizon_days for p in held),
        allowances=allowances,
    )


async def held_plans(
    session: AsyncSession,
    *,
    user_id: int,
    organisation_id: int | None,
    place_id: int,
    at: datetime,
    lock: bool = False,
) -> list[HeldPlan]:
    """The plans the holder holds at ``place_id`` at ``at`` (active periods covering it);
    ``lock`` takes their periods' rows ``FOR UPDATE`` (serialises spending included minutes)."""
    holder = (
        col(PlanSubscription.organisation_id) == organisation_id
        if organisation_id is not None
        else (col(PlanSubscription.user_id) == user_id)
        & col(PlanSubscription.organisation_id).is_(None)
    )
    query = (
        select(MembershipPlan, SubscriptionPeriod)
        .join(PlanSubscription, col(PlanSubscription.plan_id) == MembershipPlan.id)
        .join(SubscriptionPeriod, col(SubscriptionPeriod.subscription_id) == PlanSubscription.id)
        .where(
            holder,
            col(PlanSubscription.place_id) == place_id,
            col(SubscriptionPeriod.status) == PeriodStatus.ACTIVE,
            col(SubscriptionPeriod.starts_at) <= at,
            col(SubscriptionPeriod.ends_at) > at,
        )
        .order_by(col(SubscriptionPeriod.id))
    )
    if lock:
        # In id order, so two checkouts of one holder never wait for each other crosswise.
        query = query.with_for_update(of=SubscriptionPeriod)
    rows = (await session.exec(query)).all()
    plan_ids = sorted({plan.id for plan, _ in rows if plan.id is not None})
    allowances: dict[int, list[tuple[int | None, str | None, int]]] = {}
    if plan_ids:
        for allowance in (
            await session.exec(
                select(PlanAllowance)
                .where(col(PlanAllowance.plan_id).in_(plan_ids))
                .order_by(col(PlanAllowance.id))
            )
        ).all():
            allowances.setdefault(allowance.plan_id, []).append(
                (allowance.resource_id, allowance.resource_kind, allowance.minutes)
            )
    return [
        HeldPlan(
            plan_id=plan.id or 0,
            discount_percent=plan.discount_percent,
            members_access=plan.members_access,
            extra_horizon_days=plan.extra_horizon_days,
            starts_at=period.starts_at,
            ends_at=period.ends_at,
            allowances=tuple(allowances.get(plan.id or 0, ())),
        )
        for plan, period in rows
    ]


async def kept_items(
    session: AsyncSession,
    *,
    place_id: int,
    booker_user_id: int,
    organisation_id: int | None,
    start: datetime,
    end: datetime,
) -> list[tuple[int, int, int]]:
    """(booking id, resource id, minutes kept) of one scope's cancelled bookings starting in
    [start, end) whose refund tier kept some of their included minutes."""
    query = (
        select(Booking.id, BookingItem.resource_id, Payment.included_kept_minutes)
        .join(BookingItem, col(BookingItem.booking_id) == Booking.id)
        .join(Payment, col(Payment.booking_id) == Booking.id)
        .where(
            col(Payment.included_kept_minutes) > 0,
            col(Booking.place_id) == place_id,
            col(Booking.starts_at) >= start,
            col(Booking.starts_at) < end,
        )
    )
    if organisation_id is not None:
        query = query.where(col(Booking.organisation_id) == organisation_id)
    else:
        query = query.where(
            col(Booking.booker_user_id) == booker_user_id, col(Booking.organisation_id).is_(None)
        )
    return [(int(b or 0), r, m) for b, r, m in (await session.exec(query)).all()]


async def benefits_for(
    session: AsyncSession,
    *,
    user_id: int,
    organisation_id: int | None,
    place_id: int,
    at: datetime,
    now: datetime | None = None,
    lock: bool = False,
    excluding: Collection[int] = (),
) -> Benefits:
    """The benefits a person (or an organisation, ``organisation_id``) holds at ``place_id``
    at ``at``, with what their bookings (live at ``now``, default ``at``; but not those
    ``excluding``, being priced) used of the included minutes of each period.

    ``lock``: the periods' rows are locked first, so a checkout reads the minutes used only
    once any other checkout spending them has committed (READ COMMITTED reads afresh).
    """
    held = await held_plans(
        session,
        user_id=user_id,
        organisation_id=organisation_id,
        place_id=place_id,
        at=at,
        lock=lock,
    )
    if not held:
        return NO_BENEFITS
    bookings = BookingRepository(session)
    items_of: dict[tuple[datetime, datetime], list[tuple[int, int, int]]] = {}
    for plan in held:
        span = (plan.starts_at, plan.ends_at)
        if span not in items_of and plan.allowances:
            items = await bookings.booked_items(
                place_id=place_id,
                booker_user_id=user_id,
                organisation_id=organisation_id,
                start=plan.starts_at,
                end=plan.ends_at,
                now=now or at,
            )
            kept = await kept_items(
                session,
                place_id=place_id,
                booker_user_id=user_id,
                organisation_id=organisation_id,
                start=plan.starts_at,
                end=plan.ends_at,
            )
            items_of[span] = [item for item in items + kept if item[0] not in excluding]
        items_of.setdefault(span, [])
    resource_ids = sorted({rid for items in items_of.values() for _, rid, _ in items})
    resources = await CatalogueRepository(session).resources_by_ids(resource_ids)
    kinds = {rid: r.kind for rid, r in resources.items()}
    return combine(held, items_of, kinds)
