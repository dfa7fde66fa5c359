"""Wallet top-ups: a person pays by card into their wallet at a place.

A top-up is a row (pending) made in a transaction; its PaymentIntent is created after commit
(never inside a transaction, one idempotency key per top-up); the wallet is credited when
Stripe says the intent succeeded (its webhook, or a refresh that fetches it back), exactly
once: the top-up's row lock and status decide, and a movement names its top-up uniquely.

Not invoiced: a wallet pays any resource of the place, at any VAT rate (a multi-purpose
voucher in the sense of the VAT directive, art. 30 bis): VAT is due when the money is spent,
on the invoice of the booking it pays, where the wallet is the means of payment. The
movement ("top_up") is the person's receipt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from billing.providers.base import IntentState
from billing.wallet_models import WalletMovement, WalletTopUp
from billing.wallet_repository import WalletRepository
from kernel.auth.actor import Actor
from kernel.errors import ConflictError, ForbiddenError
from resources.service import CatalogueService

logger = logging.getLogger(__name__)


class TopUps:
    """Top-ups in one transaction: started by the holder, applied from Stripe's word."""

    def __init__(self, session: AsyncSession, catalogue: CatalogueService) -> None:
        self.session = session
        self.catalogue = catalogue

    async def start(
        self, actor: Actor, place_id: int, amount_cents: int, card_available: bool, now: datetime
    ) -> WalletTopUp:
        """A pending top-up of the actor's wallet at an active place."""
        if actor.user_id is None:
            raise ForbiddenError(
                "A wallet is a person's: top it up from a user account.",
                code="user_account_required",
            )
        await self.catalogue.active_place(place_id)
        if not card_available:
            raise ConflictError(
                "Card payments are not available on this instance.",
                code="card_payments_unavailable",
            )
        row = WalletTopUp(
            place_id=place_id,
            user_id=actor.user_id,
            amount_cents=amount_cents,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, top_up_id: int, *, lock: bool = False) -> WalletTopUp | None:
        """A top-up, locked for update when asked."""
        query = select(WalletTopUp).where(WalletTopUp.id == top_up_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def mine(self, user_id: int) -> Sequence[WalletTopUp]:
        """A person's top-ups, newest first."""
        rows = await self.session.exec(
            select(WalletTopUp)
            .where(WalletTopUp.user_id == user_id)
            .order_by(col(WalletTopUp.id).desc())
        )
        return rows.all()

    async def apply_intent(self, intent: IntentState, now: datetime) -> str:
        """A PaymentIntent as the provider reports it: a paid one credits its top-up's wallet,
        once, however often and in whatever order it is reported."""
        found = (
            await self.session.exec(select(WalletTopUp).where(WalletTopUp.intent_id == intent.id))
        ).first()
        if found is None or found.id is None:
            return "unknown_payment_intent"
        top_up = await self.get(found.id, lock=True)
        assert top_up is not None and top_up.id is not None
        if top_up.status == "succeeded":
            return "already_credited"
        if intent.amount != top_up.amount_cents or intent.currency != top_up.currency:
            logger.error("PaymentIntent %s does not match top-up %s", intent.id, top_up.id)
            return "amount_mismatch"
        if intent.status == "canceled":
            top_up.status = "canceled"
            top_up.updated_at = now
            self.session.add(top_up)
            return "canceled"
        if intent.status != "succeeded":
            return intent.status
        wallets = WalletRepository(self.session)
        wallet_id = await wallets.ensure(top_up.place_id, top_up.user_id, now)
        balance = await wallets.credit(wallet_id, top_up.amount_cents, now)
        await wallets.add(
            WalletMovement(
                wallet_id=wallet_id,
                kind="top_up",
                amount_cents=top_up.amount_cents,
                balance_after_cents=balance,
                reason="Rechargement par carte",
                top_up_id=top_up.id,
                created_at=now,
            )
        )
        top_up.status = "succeeded"
        top_up.paid_at = now
        top_up.updated_at = now
        self.session.add(top_up)
        return "wallet_topped_up"
