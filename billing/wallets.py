"""Wallets: money a person holds at a place, credited by a manager (with a reason) or by a
refund, spent on bookings as a means of payment, given back when a booking is cancelled.

Every movement is a ledger row with the balance it left. Spending is one conditional UPDATE in
the checkout's transaction (:meth:`WalletRepository.spend`): the balance never goes below zero,
and of two bookings spending the last euros at once one wins.
"""

from __future__ import annotations

from datetime import datetime

from billing.wallet_models import Wallet, WalletMovement
from billing.wallet_repository import WalletRepository
from billing.wallet_schemas import WalletCredit, WalletMovementRead, WalletRead
from kernel.auth.actor import Actor
from kernel.errors import InvalidInputError, NotFoundError
from resources.service import CatalogueService


def movement_read(row: WalletMovement) -> WalletMovementRead:
    """A movement as the API shows it."""
    return WalletMovementRead(
        id=row.id or 0,
        kind=row.kind,
        amount_cents=row.amount_cents,
        balance_after_cents=row.balance_after_cents,
        reason=row.reason,
        booking_id=row.booking_id,
        payment_id=row.payment_id,
        plan_charge_id=row.plan_charge_id,
        created_at=row.created_at,
    )


class Wallets:
    """Wallets of people at places: their managers credit them, their holders spend them."""

    def __init__(self, repository: WalletRepository, catalogue: CatalogueService) -> None:
        self.repo = repository
        self.catalogue = catalogue

    async def _read(
        self, wallets: list[tuple[Wallet, str, str]], with_movements: bool
    ) -> list[WalletRead]:
        ids = [w.id or 0 for w, _, _ in wallets]
        moves = await self.repo.movements(ids) if with_movements else []
        places = await self.catalogue.places_by_ids(sorted({w.place_id for w, _, _ in wallets}))
        return [
            WalletRead(
                id=wallet.id or 0,
                place_id=wallet.place_id,
                place_name=places[wallet.place_id].name if wallet.place_id in places else "",
                user_id=wallet.user_id,
                display_name=name,
                email=email,
                balance_cents=wallet.balance_cents,
                currency=wallet.currency,
                updated_at=wallet.updated_at,
                movements=[movement_read(m) for m in moves if m.wallet_id == wallet.id],
            )
            for wallet, name, email in wallets
        ]

    # managers ---------------------------------------------------------------------------
    async def holders(self, actor: Actor, place_id: int) -> list[WalletRead]:
        """Who holds a wallet at the place, and how much."""
        await self.catalogue.managed_place(actor, place_id)
        found = [(w, u.display_name, u.email) for w, u in await self.repo.of_place(place_id)]
        return await self._read(found, with_movements=False)

    async def history(self, actor: Actor, place_id: int, wallet_id: int) -> WalletRead:
        """A wallet of the place with its movements."""
        await self.catalogue.managed_place(actor, place_id)
        wallet = await self.repo.get(place_id, wallet_id)
        if wallet is None:
            raise NotFoundError(f"No wallet with id {wallet_id}.", code="wallet_not_found")
        user = await self.repo.user(wallet.user_id)
        assert user is not None
        return (await self._read([(wallet, user.display_name, user.email)], True))[0]

    async def credit(
        self, actor: Actor, place_id: int, data: WalletCredit, now: datetime
    ) -> WalletRead:
        """Put money in a person's wallet at the place, saying why."""
        await self.catalogue.managed_place(actor, place_id)
        user = await self.repo.user_by_email(data.email.strip().lower())
        if user is None or user.id is None:
            raise InvalidInputError(
                "No account has this e-mail address.", field="email", code="user_not_found"
            )
        wallet_id = await self.repo.ensure(place_id, user.id, now)
        balance = await self.repo.credit(wallet_id, data.amount_cents, now)
        await self.repo.add(
            WalletMovement(
                wallet_id=wallet_id,
                kind="manager_credit",
                amount_cents=data.amount_cents,
                balance_after_cents=balance,
                reason=data.reason,
                by_user_id=actor.user_id,
                created_at=now,
            )
        )
        return await self.history(actor, place_id, wallet_id)

    # holders ----------------------------------------------------------------------------
    async def mine(self, actor: Actor) -> list[WalletRead]:
        """My wallets at every place, with their movements."""
        if actor.user_id is None:
            return []
        user = await self.repo.user(actor.user_id)
        assert user is not None
        found = [(w, user.display_name, user.email) for w in await self.repo.of_user(user.id or 0)]
        return await self._read(found, with_movements=True)

    # quotes, checkout and cancellations ---------------------------------------------------
    async def balance(self, place_id: int, user_id: int | None) -> int:
        """What a person's wallet holds at a place (0 without one)."""
        if user_id is None:
            return 0
        wallet = await self.repo.of(place_id, user_id)
        return wallet.balance_cents if wallet is not None else 0

    async def spend(
        self,
        place_id: int,
        user_id: int,
        cents: int,
        booking_id: int | None,
        payment_id: int | None,
        now: datetime,
        *,
        plan_charge_id: int | None = None,
    ) -> bool:
        """Pay ``cents`` of a booking (or of a membership period's charge) from the wallet;
        False when it no longer holds them."""
        wallet = await self.repo.of(place_id, user_id)
        if wallet is None or wallet.id is None:
            return False
        balance = await self.repo.spend(wallet.id, cents, now)
        if balance is None:
            return False
        await self.repo.add(
            WalletMovement(
                wallet_id=wallet.id,
                kind="spend",
                amount_cents=-cents,
                balance_after_cents=balance,
                booking_id=booking_id,
                payment_id=payment_id,
                plan_charge_id=plan_charge_id,
                created_at=now,
            )
        )
        return True

    async def give_back(
        self,
        place_id: int,
        user_id: int,
        cents: int,
        booking_id: int | None,
        payment_id: int | None,
        reason: str,
        now: datetime,
        *,
        kind: str = "give_back",
        plan_charge_id: int | None = None,
    ) -> None:
        """Put ``cents`` back in the wallet a booking (or a membership period) was paid from
        (cancelled, refunded, lapsed unpaid)."""
        wallet_id = await self.repo.ensure(place_id, user_id, now)
        balance = await self.repo.credit(wallet_id, cents, now)
        await self.repo.add(
            WalletMovement(
                wallet_id=wallet_id,
                kind=kind,
                amount_cents=cents,
                balance_after_cents=balance,
                reason=reason,
                booking_id=booking_id,
                payment_id=payment_id,
                plan_charge_id=plan_charge_id,
                created_at=now,
            )
        )
