"""Read-only question other domains ask about organisations: at whose rate does a member book?

An organisation's type (its rate) and paying on invoice apply only once it was verified: by a
platform admin (everywhere) or by a place (for that place's prices). Until then its members
book at their own rate and cannot pay on invoice.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organisation, OrganisationVerification
from kernel.auth.actor import Actor
from kernel.auth.rates import Rates
from kernel.errors import ForbiddenError


async def verified_places(session: AsyncSession, organisation_id: int) -> frozenset[int]:
    """The places that verified an organisation for their own prices."""
    rows = await session.exec(
        select(OrganisationVerification.place_id).where(
            OrganisationVerification.organisation_id == organisation_id
        )
    )
    return frozenset(rows.all())


async def booking_rates(session: AsyncSession, actor: Actor, organisation_id: int | None) -> Rates:
    """The rates of the actor booking for themselves, or for an organisation they belong to."""
    if organisation_id is None:
        return actor.rates
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or not actor.member_of(organisation_id):
        raise ForbiddenError(
            "You may only book on behalf of an organisation you are a member of.",
            code="not_a_member",
        )
    everywhere = organisation.verified_at is not None
    places = frozenset() if everywhere else await verified_places(session, organisation_id)
    return actor.rates.for_organisation(organisation.user_type_code, everywhere, places)
