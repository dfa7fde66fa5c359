"""Every query of packs, the packs held and their movements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from billing.models import PlanCharge
from billing.pack_models import HoldingStatus, Pack, PackHolding, PackMovement

# Taking minutes decides under the holding's row lock: a second booking of the last minutes
# waits, then finds the balance too low (READ COMMITTED re-reads the row after the lock).
# Only an active pack valid at the booking's start gives minutes.
_TAKE = text(
    """
    UPDATE pack_holding SET balance_minutes = balance_minutes - :minutes, updated_at = :now
    WHERE id = :holding_id AND balance_minutes >= :minutes AND status = 'active'
      AND expires_at > :starts_at
    RETURNING balance_minutes
    """
)
_CREDIT = text(
    """
    UPDATE pack_holding SET balance_minutes = balance_minutes + :minutes, updated_at = :now
    WHERE id = :holding_id
    RETURNING balance_minutes
    """
)


class PackRepository:
    """Reads and writes of packs, holdings and movements."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, *rows: Pack | PackHolding | PackMovement | PlanCharge) -> None:
        """Insert or update rows and learn their ids."""
        self.session.add_all(rows)
        await self.session.flush()

    # products ---------------------------------------------------------------------------
    async def pack(self, pack_id: int, *, lock: bool = False) -> Pack | None:
        """One pack product."""
        query = select(Pack).where(col(Pack.id) == pack_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def packs_of(self, place_id: int, *, active_only: bool) -> list[Pack]:
        """The packs a place sells (active ones, or all for its managers)."""
        query = select(Pack).where(col(Pack.place_id) == place_id)
        if active_only:
            query = query.where(col(Pack.active).is_(True))
        return list((await self.session.exec(query.order_by(col(Pack.id)))).all())

    # holdings ---------------------------------------------------------------------------
    async def holding(self, holding_id: int, *, lock: bool = False) -> PackHolding | None:
        """One pack held."""
        query = select(PackHolding).where(col(PackHolding.id) == holding_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def usable(
        self, place_id: int, user_id: int, organisation_id: int | None, at: datetime
    ) -> list[PackHolding]:
        """The holder's active packs at a place with minutes left, valid at ``at``, the one
        that expires first first."""
        holder = (
            col(PackHolding.organisation_id) == organisation_id
            if organisation_id is not None
            else (col(PackHolding.user_id) == user_id) & col(PackHolding.organisation_id).is_(None)
        )
        rows = await self.session.exec(
            select(PackHolding)
            .where(
                holder,
                col(PackHolding.place_id) == place_id,
                col(PackHolding.status) == HoldingStatus.ACTIVE,
                col(PackHolding.balance_minutes) > 0,
                col(PackHolding.expires_at) > at,
            )
            .order_by(col(PackHolding.expires_at), col(PackHolding.id))
        )
        return list(rows.all())

    async def take(
        self, holding_id: int, minutes: int, starts_at: datetime, now: datetime
    ) -> int | None:
        """Take ``minutes`` if the pack holds them and is valid at ``starts_at``: the balance
        left, else None."""
        connection = await self.session.connection()
        result = await connection.execute(
            _TAKE,
            {"holding_id": holding_id, "minutes": minutes, "starts_at": starts_at, "now": now},
        )
        row = result.first()
        return None if row is None else int(row[0])

    async def credit(self, holding_id: int, minutes: int, now: datetime) -> int:
        """Add ``minutes``: the new balance."""
        connection = await self.session.connection()
        result = await connection.execute(
            _CREDIT, {"holding_id": holding_id, "minutes": minutes, "now": now}
        )
        return int(result.scalar_one())

    async def of_holder(self, user_id: int, organisation_ids: Sequence[int]) -> list[PackHolding]:
        """A person's packs and their organisations', newest first."""
        holder = (col(PackHolding.user_id) == user_id) & col(PackHolding.organisation_id).is_(None)
        if organisation_ids:
            holder = holder | col(PackHolding.organisation_id).in_(organisation_ids)
        rows = await self.session.exec(
            select(PackHolding).where(holder).order_by(col(PackHolding.id).desc())
        )
        return list(rows.all())

    async def of_place(self, place_id: int) -> list[tuple[PackHolding, User]]:
        """The packs held at a place, with their buyers, by name."""
        rows = await self.session.exec(
            select(PackHolding, User)
            .join(User, col(User.id) == PackHolding.user_id)
            .where(col(PackHolding.place_id) == place_id)
            .order_by(col(User.display_name), col(PackHolding.id))
        )
        return list(rows.all())

    async def to_expire(self, now: datetime) -> list[int]:
        """The packs past their expiry still active or pending."""
        rows = await self.session.exec(
            select(PackHolding.id).where(
                col(PackHolding.status).in_([HoldingStatus.ACTIVE, HoldingStatus.PENDING]),
                col(PackHolding.expires_at) <= now,
            )
        )
        return [i for i in rows.all() if i is not None]

    # movements --------------------------------------------------------------------------
    async def movements(self, holding_ids: Sequence[int]) -> list[PackMovement]:
        """The movements of packs held, newest first."""
        if not holding_ids:
            return []
        rows = await self.session.exec(
            select(PackMovement)
            .where(col(PackMovement.holding_id).in_(holding_ids))
            .order_by(col(PackMovement.id).desc())
        )
        return list(rows.all())

    async def of_booking(self, booking_id: int) -> list[PackMovement]:
        """What a booking took from packs and what was given back, oldest first."""
        rows = await self.session.exec(
            select(PackMovement)
            .where(col(PackMovement.booking_id) == booking_id)
            .order_by(col(PackMovement.id))
        )
        return list(rows.all())

    # charges ----------------------------------------------------------------------------
    async def charges(self, holding_ids: Sequence[int]) -> dict[int, PlanCharge]:
        """The charge of each pack held."""
        if not holding_ids:
            return {}
        rows = await self.session.exec(
            select(PlanCharge).where(col(PlanCharge.pack_holding_id).in_(holding_ids))
        )
        return {r.pack_holding_id: r for r in rows.all() if r.pack_holding_id is not None}

    async def charge_of_intent(self, intent_id: str) -> PlanCharge | None:
        """The pack charge a PaymentIntent pays, locked."""
        query = (
            select(PlanCharge)
            .where(
                col(PlanCharge.intent_id) == intent_id, col(PlanCharge.pack_holding_id).isnot(None)
            )
            .with_for_update()
        )
        return (await self.session.exec(query)).first()
