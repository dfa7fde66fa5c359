"""A holder's memberships as the quote takes them: included minutes per resource, the discount.

:func:`billing.benefits.benefits_for` says what the plans held give (allowances per resource or
kind, with what is left of each period); the quote pipeline (:mod:`billing.adjustments`) takes
minutes per resource of the booking. :func:`included_per_resource` hands each allowance's
minutes left to one resource of the booking only (its own resource first, then the first of
its kind), so one allowance is never spent twice by a booking of several resources.

Included minutes are counted from the holder's live bookings, and from what a cancelled
booking's refund tier kept of them (``payment.included_kept_minutes``): they come back in the
same proportion as money.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from billing import adjustments
from billing.benefits import Benefits as Held
from billing.benefits import benefits_for
from billing.prices import Priced, with_adjustments
from resources.models import Resource


def included_per_resource(held: Held, resources: Sequence[Resource]) -> dict[int, int]:
    """Minutes included per resource of a booking: each allowance's minutes left go to the
    first resource it applies to (a resource's own allowance before its kind's)."""
    left = [a.remaining_minutes for a in held.allowances]
    included: dict[int, int] = {}
    for pass_own in (True, False):
        for resource in resources:
            rid = resource.id or 0
            for index, allowance in enumerate(held.allowances):
                own = allowance.resource_id is not None
                if own != pass_own or not left[index]:
                    continue
                if allowance.applies_to(rid, resource.kind):
                    included[rid] = included.get(rid, 0) + left[index]
                    left[index] = 0
    return included


def with_earlier(held: Held, earlier: Sequence[tuple[datetime, int, Sequence[Resource]]]) -> Held:
    """``held`` with the minutes that earlier dates of one request (a series' dates, booked in
    the same checkout) will use: each date (start, minutes, resources) counts once against every
    allowance of its period that covers one of its resources, as ``benefits_for`` counts a
    booking."""
    if not earlier:
        return held
    allowances = []
    for allowance in held.allowances:
        extra = sum(
            minutes
            for start, minutes, resources in earlier
            if allowance.period_starts_at <= start < allowance.period_ends_at
            and any(allowance.applies_to(r.id or 0, r.kind) for r in resources)
        )
        allowances.append(replace(allowance, used_minutes=allowance.used_minutes + extra))
    return replace(held, allowances=tuple(allowances))


def quote_benefits(held: Held, resources: Sequence[Resource]) -> adjustments.Benefits:
    """The pipeline's input for a booking of ``resources`` by a holder of ``held``."""
    return adjustments.Benefits(
        included_minutes=included_per_resource(held, resources),
        discount_percent=Decimal(held.discount_percent),
    )


async def member_benefits(
    session: AsyncSession,
    priced: Priced,
    *,
    user_id: int | None,
    organisation_id: int | None,
    now: datetime,
    lock: bool = False,
    excluding: Collection[int] = (),
    earlier: Sequence[tuple[datetime, int, Sequence[Resource]]] = (),
) -> adjustments.Benefits:
    """What the booker's (or their organisation's) memberships at the priced place give the
    priced booking (their periods covering its start); ``lock`` and ``excluding`` as in
    :func:`billing.benefits.benefits_for`, ``earlier`` as in :func:`with_earlier`."""
    if user_id is None or priced.place.id is None:
        return adjustments.Benefits()
    held = await benefits_for(
        session,
        user_id=user_id,
        organisation_id=organisation_id,
        place_id=priced.place.id,
        at=priced.lines[0].start,
        now=now,
        lock=lock,
        excluding=excluding,
    )
    return quote_benefits(with_earlier(held, earlier), priced.resources)


def with_benefits(priced: Priced, benefits: adjustments.Benefits) -> Priced:
    """``priced`` with only the membership's benefits (a re-price that keeps nothing else)."""
    return with_adjustments(priced, adjustments.Adjustments(benefits=benefits))
