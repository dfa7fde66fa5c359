"""Every query of the waitlist (booking.waitlist): entries, the line, the events handled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.waitlist import LIVE_STATUSES, WaitlistEntry, WaitlistEvent, WaitlistStatus

MAX_LISTED = 500


class WaitlistRepository:
    """Reads and writes of waitlist entries on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: WaitlistEntry) -> None:
        """Insert or update an entry and learn its id."""
        self.session.add(entry)
        await self.session.flush()

    async def get(self, entry_id: int, *, lock: bool = False) -> WaitlistEntry | None:
        """An entry by id; ``lock`` takes its row lock and re-reads it."""
        query = select(WaitlistEntry).where(WaitlistEntry.id == entry_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def live_of(
        self, user_id: int, resource_id: int, start: datetime, end: datetime
    ) -> WaitlistEntry | None:
        """A person's live entry for exactly this slot."""
        query = select(WaitlistEntry).where(
            WaitlistEntry.user_id == user_id,
            WaitlistEntry.resource_id == resource_id,
            WaitlistEntry.starts_at == start,
            WaitlistEntry.ends_at == end,
            col(WaitlistEntry.status).in_(LIVE_STATUSES),
        )
        return (await self.session.exec(query)).first()

    async def insert_live(self, entry: WaitlistEntry) -> bool:
        """Insert a new live entry; False when the person already has one for the slot (the
        partial unique index decides, also between two concurrent joins)."""
        values = entry.model_dump(exclude={"id"})
        statement = (
            insert(WaitlistEntry)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=["user_id", "resource_id", "starts_at", "ends_at"],
                index_where=text("status IN ('waiting', 'offered')"),
            )
            .returning(col(WaitlistEntry.id))
        )
        found = (await self.session.exec(statement)).first()
        if found is None:
            return False
        entry.id = found[0]
        return True

    async def of_user(self, user_id: int) -> list[WaitlistEntry]:
        """A person's entries: live ones first, then the latest others."""
        live = col(WaitlistEntry.status).in_(LIVE_STATUSES)
        rows = await self.session.exec(
            select(WaitlistEntry)
            .where(WaitlistEntry.user_id == user_id)
            .order_by(live.desc(), col(WaitlistEntry.starts_at), col(WaitlistEntry.id))
            .limit(MAX_LISTED)
        )
        return list(rows.all())

    async def of_offer(self, booking_id: int, *, lock: bool = False) -> WaitlistEntry | None:
        """The entry a booking was held for, if it was an offer."""
        query = select(WaitlistEntry).where(WaitlistEntry.offer_booking_id == booking_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.exec(query)).first()

    async def line(
        self, resource_ids: Sequence[int], start: datetime, end: datetime, now: datetime
    ) -> list[int]:
        """Ids of the waiting entries of these resources whose range meets ``[start, end)``
        and has not begun, first in line first."""
        if not resource_ids:
            return []
        rows = await self.session.exec(
            select(WaitlistEntry.id)
            .where(
                col(WaitlistEntry.resource_id).in_(sorted(set(resource_ids))),
                WaitlistEntry.status == WaitlistStatus.WAITING,
                col(WaitlistEntry.starts_at) < end,
                col(WaitlistEntry.ends_at) > start,
                col(WaitlistEntry.starts_at) > now,
            )
            .order_by(col(WaitlistEntry.created_at), col(WaitlistEntry.id))
        )
        return [entry_id for entry_id in rows.all() if entry_id is not None]

    async def positions(self, entries: Sequence[WaitlistEntry]) -> dict[int, int]:
        """Each waiting entry's place in line (1: next), among the waiting entries of its
        resource whose range meets its own."""
        ids = [e.id for e in entries if e.id is not None and e.status == WaitlistStatus.WAITING]
        if not ids:
            return {}
        ahead = aliased(WaitlistEntry)
        mine = WaitlistEntry
        rows = await self.session.exec(
            select(mine.id, func.count(col(ahead.id)))
            .select_from(mine)
            .outerjoin(
                ahead,
                and_(
                    col(ahead.resource_id) == col(mine.resource_id),
                    col(ahead.status) == WaitlistStatus.WAITING,
                    col(ahead.starts_at) < mine.ends_at,
                    col(ahead.ends_at) > mine.starts_at,
                    func.row(ahead.created_at, ahead.id) < func.row(mine.created_at, mine.id),
                ),
            )
            .where(col(mine.id).in_(ids))
            .group_by(col(mine.id))
        )
        return {entry_id: count + 1 for entry_id, count in rows.all() if entry_id is not None}

    async def of_place(
        self,
        place_ids: Sequence[int],
        start: datetime | None,
        end: datetime | None,
        *,
        limit: int = MAX_LISTED,
    ) -> list[WaitlistEntry]:
        """Live entries of these places (meeting ``[start, end)`` when given), by start then
        line."""
        if not place_ids:
            return []
        query = select(WaitlistEntry).where(
            col(WaitlistEntry.place_id).in_(sorted(set(place_ids))),
            col(WaitlistEntry.status).in_(LIVE_STATUSES),
        )
        if start is not None:
            query = query.where(col(WaitlistEntry.ends_at) > start)
        if end is not None:
            query = query.where(col(WaitlistEntry.starts_at) < end)
        rows = await self.session.exec(
            query.order_by(
                col(WaitlistEntry.starts_at),
                col(WaitlistEntry.resource_id),
                col(WaitlistEntry.created_at),
                col(WaitlistEntry.id),
            ).limit(limit)
        )
        return list(rows.all())

    async def live_counts(self, place_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        """How many live entries each place has, by status."""
        if not place_ids:
            return {}
        rows = await self.session.exec(
            select(WaitlistEntry.place_id, WaitlistEntry.status, func.count())
            .where(
                col(WaitlistEntry.place_id).in_(sorted(set(place_ids))),
                col(WaitlistEntry.status).in_(LIVE_STATUSES),
            )
            .group_by(col(WaitlistEntry.place_id), col(WaitlistEntry.status))
        )
        return {(place_id, status): count for place_id, status, count in rows.all()}

    async def claim_event(self, key: str, now: datetime) -> bool:
        """Record that the event ``key`` is being handled; False when it already was (the
        claim commits with the work, so a failed run leaves it unclaimed)."""
        statement = (
            insert(WaitlistEvent)
            .values(key=key, handled_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(WaitlistEvent.key))
        )
        return (await self.session.exec(statement)).first() is not None

    async def forget_events(self, before: datetime) -> int:
        """Forget the events handled before ``before`` (long past any redelivery); how many."""
        result = await self.session.exec(
            delete(WaitlistEvent).where(col(WaitlistEvent.handled_at) < before)
        )
        return int(result.rowcount or 0)
