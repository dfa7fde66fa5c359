"""The packs people hold, as the quote, checkout, cancellations and the expiry job use them.

The quote is given the holder's usable packs (:meth:`PackLedger.hours_for`, earliest expiry
first); checkout takes what the quote covered by one conditional UPDATE per pack under its row
lock (:meth:`PackLedger.take`); a cancellation gives minutes back by the refund tier, an ended
booking that was never paid gives them back whole (:meth:`PackLedger.give_back`); the hourly
job expires packs past their validity (:meth:`PackLedger.expire`). Every change is a movement
with the balance it left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from billing.adjustments import PACK, PackHours, Paid, give_back
from billing.models import PaymentStatus
from billing.pack_models import HoldingStatus, PackHolding, PackMovement
from billing.pack_repository import PackRepository
from billing.pricing import Quote
from resources.models import Resource


def covers(holding: PackHolding, resource: Resource) -> bool:
    """Whether a pack held pays for time on ``resource``."""
    if holding.resource_id is not None:
        return holding.resource_id == resource.id
    return holding.resource_kind == resource.kind


def pack_minutes(priced: Quote) -> dict[int, int]:
    """The unit-minutes a quote takes from each pack held."""
    taken: dict[int, int] = {}
    for c in priced.coverage:
        if c.source == PACK and c.source_id is not None:
            taken[c.source_id] = taken.get(c.source_id, 0) + c.unit_minutes
    return taken


class PackLedger:
    """Minutes of packs held: offered to a quote, taken, given back, expired."""

    def __init__(self, repository: PackRepository) -> None:
        self.repo = repository

    async def hours_for(
        self,
        place_id: int,
        user_id: int | None,
        organisation_id: int | None,
        resources: Sequence[Resource],
        starts_at: datetime,
    ) -> tuple[PackHours, ...]:
        """The packs the booker holds valid at ``starts_at`` that cover some of ``resources``,
        the one that expires first first (the quote uses them in this order)."""
        if user_id is None:
            return ()
        found = []
        for holding in await self.repo.usable(place_id, user_id, organisation_id, starts_at):
            covered = frozenset(r.id or 0 for r in resources if covers(holding, r))
            if covered and holding.id is not None:
                found.append(PackHours(holding.id, covered, holding.balance_minutes))
        return tuple(found)

    async def take(
        self, taken: Mapping[int, int], booking_id: int, starts_at: datetime, now: datetime
    ) -> bool:
        """Take what a checked-out quote covered from each pack (in id order, so two checkouts
        lock them in the same order); False when one no longer holds it (nothing is kept then:
        the caller's transaction is rolled back)."""
        for holding_id in sorted(taken):
            minutes = taken[holding_id]
            balance = await self.repo.take(holding_id, minutes, starts_at, now)
            if balance is None:
                return False
            await self.repo.add(
                PackMovement(
                    holding_id=holding_id,
                    kind="used",
                    minutes=-minutes,
                    balance_after_minutes=balance,
                    booking_id=booking_id,
                    created_at=now,
                )
            )
        return True

    async def used_by(self, booking_id: int) -> dict[int, int]:
        """The minutes a booking still holds of each pack (taken less given back)."""
        held: dict[int, int] = {}
        for movement in await self.repo.of_booking(booking_id):
            if movement.kind in ("used", "given_back"):
                held[movement.holding_id] = held.get(movement.holding_id, 0) - movement.minutes
        return {k: v for k, v in held.items() if v > 0}

    async def give_back(
        self, booking_id: int, percent: int, reason: str, now: datetime
    ) -> dict[int, int]:
        """Give back ``percent`` of what a booking holds of each pack (minutes rounded down,
        :func:`billing.adjustments.give_back`); a pack expired meanwhile gets nothing (its
        minutes are over). What went back to each pack."""
        held = await self.used_by(booking_id)
        back = give_back(Paid(minutes={(PACK, k): v for k, v in held.items()}), percent)
        given: dict[int, int] = {}
        for (_, holding_id), minutes in sorted(back.minutes.items(), key=lambda i: i[0][1] or 0):
            assert holding_id is not None
            holding = await self.repo.holding(holding_id, lock=True)
            if (
                minutes <= 0
                or holding is None
                or holding.status != HoldingStatus.ACTIVE
                or holding.expires_at <= now
            ):
                continue
            balance = await self.repo.credit(holding_id, minutes, now)
            await self.repo.add(
                PackMovement(
                    holding_id=holding_id,
                    kind="given_back",
                    minutes=minutes,
                    balance_after_minutes=balance,
                    booking_id=booking_id,
                    reason=reason,
                    created_at=now,
                )
            )
            given[holding_id] = minutes
        return given

    async def expire(self, now: datetime) -> int:
        """Mark the packs past their validity expired (minutes left: an ``expired`` movement,
        balance 0); a card purchase never paid is withdrawn with its charge. How many."""
        done = 0
        for holding_id in await self.repo.to_expire(now):
            holding = await self.repo.holding(holding_id, lock=True)
            if holding is None or holding.expires_at > now:
                continue
            if holding.status == HoldingStatus.PENDING:
                holding.status = HoldingStatus.CANCELLED
                charge = (await self.repo.charges([holding_id])).get(holding_id)
                if charge is not None and charge.status == PaymentStatus.PENDING:
                    charge.status = PaymentStatus.CANCELLED
                    charge.updated_at = now
                    await self.repo.add(charge)
            elif holding.status == HoldingStatus.ACTIVE:
                holding.status = HoldingStatus.EXPIRED
                if holding.balance_minutes:
                    await self.repo.add(
                        PackMovement(
                            holding_id=holding_id,
                            kind="expired",
                            minutes=-holding.balance_minutes,
                            balance_after_minutes=0,
                            reason="Fin de validité",
                            created_at=now,
                        )
                    )
                holding.balance_minutes = 0
            else:
                continue
            holding.updated_at = now
            await self.repo.add(holding)
            done += 1
        return done
