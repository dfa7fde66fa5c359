"""The port through which booking asks whether a request may be booked without a payment.

Layers point one way (billing -> booking), yet a priced booking must exist only with a payment,
whichever way it is made (``POST /api/bookings``, ``POST /api/series``, a page, a script).
Booking defines this port and calls it on every create that does not come from checkout;
billing implements it (:class:`billing.charges.Charges`) and the composition root injects it.
A listener could not do it: checkout records its payment *after* the booking exists, and a
refusal must come before the one statement that may commit a free booking on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from booking.admission import Booker, Context, Items
from booking.models import Booking
from kernel.auth.actor import Actor
from resources.models import Resource


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    """A booking request as billing prices it: who, what, when, and the catalogue it used."""

    actor: Actor
    place_id: int
    payer_user_id: int
    organisation_id: int | None
    user_type: str
    items: tuple[tuple[int, int], ...]  # (resource id, quantity), by resource id
    resources: Mapping[int, Resource]
    starts_at: datetime
    ends_at: datetime
    # The catalogue revision the request was checked against (None: not known). Price lists
    # move the counter too (migration 0014), so a price view kept for it is current while it is.
    revision: int | None
    # How a manager's booking is to be paid ("on_site" or "invoice"); None: the place's way.
    pay_by: str | None = None


class UnpaidCharge(Protocol):
    """A priced booking a place's manager makes without paying: recorded once it exists."""

    async def record(self, booking: Booking, now: datetime) -> None:
        """Record the payment due (on site or on invoice) for the booking just stored."""


class ChargeGate(Protocol):
    """Billing's answer to "may this be booked without a payment?"."""

    async def unpaid(self, session: AsyncSession, request: ChargeRequest) -> UnpaidCharge | None:
        """None: the request is free, book it as is. A charge: a manager's booking, to record
        once stored. Raises a ``409 payment_required`` (naming checkout) otherwise."""


def charge_request(
    ctx: Context,
    actor: Actor,
    booker: Booker,
    items: Items,
    start: datetime,
    end: datetime,
    pay_by: str | None = None,
) -> ChargeRequest:
    """What billing needs to price a booking request checked against ``ctx``."""
    assert ctx.place.id is not None
    return ChargeRequest(
        actor=actor,
        place_id=ctx.place.id,
        payer_user_id=booker.user_id,
        organisation_id=booker.organisation_id,
        user_type=ctx.user_type,
        items=tuple(items),
        resources=ctx.resources,
        starts_at=start,
        ends_at=end,
        revision=ctx.revision,
        pay_by=pay_by,
    )
