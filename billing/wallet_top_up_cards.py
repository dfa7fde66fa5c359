"""Wallet top-ups on Stripe's side, between transactions (never inside one): the intent
created after the top-up is committed, fetched back and applied (:mod:`billing.wallet_top_ups`)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from billing.card_intents import bring_in_line, create_once, fetch_and_apply
from billing.providers.base import IntentState
from billing.runtime import Billing, transaction
from billing.wallet_top_ups import TopUps

logger = logging.getLogger(__name__)


class TopUpCards:
    """The Stripe side of top-ups, between transactions."""

    def __init__(self, billing: Billing) -> None:
        self.billing = billing

    def _top_ups(self, session: AsyncSession) -> TopUps:
        return self.billing.top_ups(session)

    async def start_intent(self, top_up_id: int) -> None:
        """Create the PaymentIntent of a top-up that has none yet."""
        gateway = self.billing.gateway
        if gateway is None:
            return
        async with transaction(self.billing.database, write=False) as session:
            top_up = await self._top_ups(session).get(top_up_id)
            if top_up is None or top_up.intent_id is not None or top_up.status != "pending":
                return
            amount, currency = top_up.amount_cents, top_up.currency
            metadata = {"wallet_top_up_id": str(top_up_id), "place_id": str(top_up.place_id)}
        key = f"mutualab-wallet-top-up-{top_up_id}"
        log = (logger, "top-up", top_up_id)
        intent = await create_once(gateway, amount, currency, key, metadata, log)
        if intent is None:
            return
        async with transaction(self.billing.database) as session:
            top_up = await self._top_ups(session).get(top_up_id, lock=True)
            if top_up is None or top_up.intent_id is not None:
                return
            top_up.intent_id = intent.id
            top_up.client_secret = intent.client_secret
            top_up.updated_at = self.billing.clock()
            session.add(top_up)

    async def sync(self, intent_id: str) -> str:
        """Fetch a PaymentIntent back from Stripe and apply it to its top-up."""

        async def apply(session: AsyncSession, intent: IntentState, now: datetime) -> str:
            return await self._top_ups(session).apply_intent(intent, now)

        return await fetch_and_apply(self.billing, intent_id, apply, logger)

    async def refresh_mine(self, user_id: int) -> None:
        """Bring a person's pending top-ups in line with Stripe (intents made, paid ones
        credited)."""
        async with transaction(self.billing.database, write=False) as session:
            pending = [
                (t.id or 0, t.intent_id)
                for t in await self._top_ups(session).mine(user_id)
                if t.status == "pending"
            ]
        await bring_in_line(pending, self.start_intent, self.sync)
