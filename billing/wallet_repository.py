"""Every query of wallets and their movements (the billing domain's, kept apart from the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from billing.wallet_models import Wallet, WalletMovement

# Spending decides under the wallet's row lock: a second spender of the last euros waits, then
# finds the balance too low (READ COMMITTED re-reads the row after the lock).
_SPEND = text(
    """
    UPDATE wallet SET balance_cents = balance_cents - :cents, updated_at = :now
    WHERE id = :wallet_id AND balance_cents >= :cents
    RETURNING balance_cents
    """
)
_CREDIT = text(
    """
    UPDATE wallet SET balance_cents = balance_cents + :cents, updated_at = :now
    WHERE id = :wallet_id
    RETURNING balance_cents
    """
)


class WalletRepository:
    """Reads and writes of wallets and their movements."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: Wallet | WalletMovement) -> None:
        """Insert rows and learn their ids."""
        self.session.add_all(rows)
        await self.session.flush()

    async def of(self, place_id: int, user_id: int) -> Wallet | None:
        """A person's wallet at a place."""
        rows = await self.session.exec(
            select(Wallet).where(Wallet.place_id == place_id, Wallet.user_id == user_id)
        )
        return rows.first()

    async def get(self, place_id: int, wallet_id: int) -> Wallet | None:
        """A wallet of a place."""
        rows = await self.session.exec(
            select(Wallet).where(Wallet.place_id == place_id, Wallet.id == wallet_id)
        )
        return rows.first()

    async def ensure(self, place_id: int, user_id: int, now: datetime) -> int:
        """The id of a person's wallet at a place, made empty if missing (once, whoever races)."""
        await self.session.exec(
            postgresql.insert(Wallet)
            .values(place_id=place_id, user_id=user_id, balance_cents=0, updated_at=now)
            .on_conflict_do_nothing(constraint="uq_wallet_owner")
        )
        found = await self.of(place_id, user_id)
        assert found is not None and found.id is not None
        return found.id

    async def spend(self, wallet_id: int, cents: int, now: datetime) -> int | None:
        """Take ``cents`` if the balance holds them: the balance left, else None."""
        connection = await self.session.connection()
        result = await connection.execute(
            _SPEND, {"wallet_id": wallet_id, "cents": cents, "now": now}
        )
        row = result.first()
        return None if row is None else int(row[0])

    async def credit(self, wallet_id: int, cents: int, now: datetime) -> int:
        """Add ``cents``: the new balance."""
        connection = await self.session.connection()
        result = await connection.execute(
            _CREDIT, {"wallet_id": wallet_id, "cents": cents, "now": now}
        )
        return int(result.scalar_one())

    async def of_place(self, place_id: int) -> Sequence[tuple[Wallet, User]]:
        """The wallets of a place with their holders, by name."""
        rows = await self.session.exec(
            select(Wallet, User)
            .join(User, col(User.id) == Wallet.user_id)
            .where(Wallet.place_id == place_id)
            .order_by(col(User.display_name), col(Wallet.id))
        )
        return list(rows.all())

    async def of_user(self, user_id: int) -> list[Wallet]:
        """A person's wallets, every place."""
        rows = await self.session.exec(
            select(Wallet).where(Wallet.user_id == user_id).order_by(col(Wallet.place_id))
        )
        return list(rows.all())

    async def movements(self, wallet_ids: Sequence[int], limit: int = 200) -> list[WalletMovement]:
        """The movements of wallets, newest first."""
        if not wallet_ids:
            return []
        rows = await self.session.exec(
            select(WalletMovement)
            .where(col(WalletMovement.wallet_id).in_(wallet_ids))
            .order_by(col(WalletMovement.id).desc())
            .limit(limit)
        )
        return list(rows.all())

    async def user(self, user_id: int) -> User | None:
        """A wallet's holder."""
        return await self.session.get(User, user_id)

    async def user_by_email(self, email: str) -> User | None:
        """The account with this (normalised) e-mail address."""
        rows = await self.session.exec(select(User).where(User.email == email))
        return rows.first()
