"""What a charge of the ``plan_charge`` table (a membership's period, a pack, a ticket) is set up
with alike: its first status, its due day, the job that asks the provider for its
PaymentIntent, and the seller and buyer its invoice names.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organisation, User
from billing.models import PaymentStatus, PlaceBilling
from billing.prices import PriceService
from billing.repository import BillingRepository
from kernel.jobs import enqueue
from resources.models import Place
from resources.service import CatalogueService

# Named after memberships, which came first: queued jobs carry this name.
START_INTENT_JOB = "memberships.start_intent"
INITIAL_STATUS = {
    "card": PaymentStatus.PENDING,
    "on_site": PaymentStatus.AWAITING_ON_SITE,
    "invoice": PaymentStatus.INVOICED,
}

Parties = tuple[tuple[Place, PlaceBilling], tuple[User, Organisation | None]]


def due_on(method: str, today: date, payment_terms_days: int) -> date | None:
    """The day a charge stored with ``method`` is due: on invoice, the place's terms after
    ``today`` (in its zone); any other way is paid before or at the desk."""
    return today + timedelta(days=payment_terms_days) if method == "invoice" else None


async def start_card_intent(session: AsyncSession, charge_id: int | None, dedupe_key: str) -> None:
    """Queue the PaymentIntent's creation, run after commit (never inside this transaction)."""
    await enqueue(session, START_INTENT_JOB, {"charge_id": charge_id}, dedupe_key=dedupe_key)


async def invoice_parties(
    catalogue: CatalogueService,
    prices: PriceService,
    billing: BillingRepository,
    place_id: int,
    buyer_id: int,
    organisation_id: int | None,
) -> Parties:
    """The place with its billing settings, and the buyer with the organisation paying."""
    place = await catalogue.require_place(place_id)
    settings = await prices.settings_of(place_id)
    buyer = await billing.user(buyer_id)
    assert buyer is not None
    organisation = (
        await billing.organisation(organisation_id) if organisation_id is not None else None
    )
    return (place, settings), (buyer, organisation)
