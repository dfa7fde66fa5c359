"""Membership periods paid by card: one PaymentIntent per period, created and fetched back
after commit, never inside a transaction.

We create a PaymentIntent for each period rather than a Stripe Subscription: the period's
invoice must be numbered in the place's own chain (Stripe Subscriptions issue Stripe's own
invoices), periods follow the place's calendar (a school year with fixed dates, local
midnights across DST), and the local Stripe peer the tests use does not carry Subscriptions
far enough to rely on. A renewal's intent is paid by the member from their account page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from billing.card_intents import bring_in_line, create_once, fetch_and_apply
from billing.charge_setup import START_INTENT_JOB
from billing.pack_schemas import HoldingRead
from billing.plan_repository import PlanRepository
from billing.plan_schemas import ChargeRead, MembershipRead
from billing.runtime import Billing, transaction
from billing.ticket_schemas import TicketRead
from kernel.auth.actor import Actor
from kernel.jobs import JobRegistry

ChargedRead = TypeVar("ChargedRead", bound="_Charged")

logger = logging.getLogger(__name__)


class MembershipCards:
    """The Stripe side of memberships, after commit."""

    def __init__(self, billing: Billing) -> None:
        self.billing = billing

    async def start_intent(self, charge_id: int) -> None:
        """Create the PaymentIntent of a card charge that has none yet."""
        gateway = self.billing.gateway
        if gateway is None:
            return
        async with transaction(self.billing.database, write=False) as session:
            charge = await PlanRepository(session).charge(charge_id)
            if charge is None or charge.intent_id is not None or charge.status != "pending":
                return
            amount, currency = charge.amount_cents, charge.currency
            metadata = {"plan_charge_id": str(charge.id), "place_id": str(charge.place_id)}
            if charge.registration_id is not None:
                metadata["registration_id"] = str(charge.registration_id)
        key = f"mutualab-plan-charge-{charge_id}"
        log = (logger, "plan charge", charge_id)
        intent = await create_once(gateway, amount, currency, key, metadata, log)
        if intent is None:
            return
        async with transaction(self.billing.database) as session:
            repo = PlanRepository(session)
            charge = await repo.charge(charge_id, lock=True)
            if charge is None or charge.intent_id is not None:
                return
            charge.intent_id = intent.id
            charge.client_secret = intent.client_secret
            charge.updated_at = self.billing.clock()
            await repo.add(charge)

    async def sync(self, intent_id: str) -> str:
        """Fetch a PaymentIntent back from Stripe and apply it to its charge."""
        return await fetch_and_apply(
            self.billing, intent_id, self.billing.apply_charge_intent, logger
        )

    async def refresh(self, actor: Actor, membership_id: int) -> MembershipRead:
        """A membership visible to ``actor``, its periods due by card first brought in line
        with Stripe: an intent created where none is, a paid one applied (counted, invoiced)."""
        billing = self.billing
        async with transaction(billing.database, write=False) as session:
            read = await billing.memberships(session).read(actor, membership_id, billing.clock())
            repo = billing.memberships(session).repo
            pending: list[tuple[int, str | None]] = []
            for period in read.periods:
                charge = await repo.charge(period.charge.id) if period.charge else None
                if charge is not None and charge.id and charge.status == "pending":
                    pending.append((charge.id, charge.intent_id))
        # Stripe is called here, between transactions: never inside one.
        await bring_in_line(pending, self.start_intent, self.sync)
        async with transaction(billing.database, write=False) as session:
            return await billing.memberships(session).read(actor, membership_id, billing.clock())

    async def renew(self) -> None:
        """The renewal job: next periods of renewing memberships, unpaid ones lapsed."""
        async with transaction(self.billing.database) as session:
            done = await self.billing.memberships(session).renew_and_lapse(self.billing.clock())
        if done.renewed or done.lapsed or done.reminded:
            logger.info(
                "%s membership(s) renewed, %s period(s) lapsed, %s reminder(s)",
                done.renewed,
                done.lapsed,
                done.reminded,
            )


class _Charged(Protocol):
    """A read with the charge it is paid by (a ticket, a pack held)."""

    @property
    def charge(self) -> ChargeRead | None:
        """Its charge (None: free)."""


async def _in_line_with_stripe(
    billing: Billing, read: Callable[[AsyncSession], Awaitable[ChargedRead]]
) -> ChargedRead:
    """What ``read`` gives, its charge due by card first brought in line with Stripe (its intent
    created where none is, a paid one applied). Stripe is called between transactions, never
    inside one."""
    async with transaction(billing.database, write=False) as session:
        first = await read(session)
    charge = first.charge
    if charge is None or charge.status != "pending":
        return first
    async with transaction(billing.database, write=False) as session:
        stored = await PlanRepository(session).charge(charge.id)
        intent_id = stored.intent_id if stored is not None else None
    cards = MembershipCards(billing)
    await bring_in_line([(charge.id, intent_id)], cards.start_intent, cards.sync)
    async with transaction(billing.database, write=False) as session:
        return await read(session)


async def refresh_ticket(billing: Billing, actor: Actor, registration_id: int) -> TicketRead:
    """A registration's ticket visible to ``actor``, its card payment first brought in line
    with Stripe (paid: invoiced, the registration confirmed)."""

    async def read(session: AsyncSession) -> TicketRead:
        return await billing.tickets(session).read(actor, registration_id)

    return await _in_line_with_stripe(billing, read)


async def refresh_pack(billing: Billing, actor: Actor, holding_id: int) -> HoldingRead:
    """A pack held visible to ``actor``, its card payment first brought in line with Stripe
    (paid: the pack credited and invoiced)."""

    async def read(session: AsyncSession) -> HoldingRead:
        return await billing.packs(session).read(actor, holding_id)

    return await _in_line_with_stripe(billing, read)


async def expire_packs(billing: Billing) -> None:
    """The expiry job: packs past their validity are expired (their minutes are over)."""
    async with transaction(billing.database) as session:
        done = await billing.packs(session).expire(billing.clock())
    if done:
        logger.info("%s pack(s) of prepaid hours expired", done)


def register(registry: JobRegistry, billing: Billing, hourly: str, every_minute: str) -> None:
    """The charge jobs: a card charge's intent, the hourly renewals of memberships and expiry of
    packs, and each minute the tickets unpaid in time released and the cancelled ones settled."""
    cards = MembershipCards(billing)

    async def settle_tickets() -> None:
        settled = await billing.settle_tickets()
        if settled:
            logger.info("%s ticket(s) released or settled", settled)

    async def expire() -> None:
        await expire_packs(billing)

    async def start_intent(payload: dict[str, Any]) -> None:
        await cards.start_intent(int(payload["charge_id"]))

    registry.job(START_INTENT_JOB, start_intent)
    registry.every("memberships.renew", hourly, cards.renew)
    registry.every("tickets.settle", every_minute, settle_tickets)
    registry.every("packs.expire", hourly, expire)
