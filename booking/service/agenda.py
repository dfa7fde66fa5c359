"""What managers see and set: a place's agenda and its booking policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from booking.entries import agenda_entries
from booking.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingPolicy,
    BookingStatus,
)
from booking.reads import BookingReader
from booking.repository import BookingRepository
from booking.rules import (
    day_window,
)
from booking.schemas import (
    Agenda,
    AgendaDay,
    AgendaEntry,
    Attention,
    PlaceAttention,
    PoliciesUpdate,
    PolicyRead,
)
from booking.state import current_status
from booking.waitlist import WaitlistStatus
from booking.waitlist_reads import WaitlistReader
from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import (
    ForbiddenError,
    InvalidInputError,
)
from resources.models import Place
from resources.service import CatalogueService

MAX_AGENDA_DAYS = 62
MAX_ATTENTION = 50  # requests and waitlist entries listed on a manager's overview


class PlaceAgenda:
    """A place's agenda and booking policies, for its managers."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        reader: BookingReader,
        clock: Clock,
        waitlist: WaitlistReader,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.reader = reader
        self.clock = clock
        self.waitlist = waitlist

    async def _managed_place(self, actor: Actor, place_id: int) -> Place:
        place = await self.catalogue.require_place(place_id)
        if not actor.manages(place_id):
            raise ForbiddenError(
                "Only the managers of this place may do this.", code="not_a_manager"
            )
        return place

    async def agenda(
        self,
        actor: Actor,
        place_id: int,
        first: date | None,
        last: date | None,
        include_cancelled: bool = False,
    ) -> Agenda:
        """A place's bookings day by day (a week by default), with who booked."""
        place = await self._managed_place(actor, place_id)
        tz = ZoneInfo(place.timezone)
        now = self.clock()
        first = first or now.astimezone(tz).date()
        last = last or first + timedelta(days=7)
        if last <= first or (last - first).days > MAX_AGENDA_DAYS:
            raise InvalidInputError(
                f"'to' must be after 'from', at most {MAX_AGENDA_DAYS} days later.",
                field="to",
                code="invalid_range",
            )
        window = day_window(first, last, tz)
        statuses = None if include_cancelled else list(ACTIVE_STATUSES)
        rows, _ = await self.repo.page(
            place_id=place_id, start=window.start, end=window.end, statuses=statuses, limit=5000
        )
        rows = [
            r for r in rows if include_cancelled or current_status(r, now) != BookingStatus.EXPIRED
        ]
        days: dict[date, list[AgendaEntry]] = {
            first + timedelta(days=n): [] for n in range((last - first).days)
        }
        for row, entry in zip(rows, await self._entries(rows), strict=True):
            day = max(first, row.starts_at.astimezone(tz).date())
            days.setdefault(day, []).append(entry)
        return Agenda(
            place_id=place_id,
            timezone=tz.key,
            days=[AgendaDay(date=d, entries=e) for d, e in sorted(days.items())],
            waitlist=await self.waitlist.managed([place_id], window.start, window.end),
        )

    async def attention(self, actor: Actor, places: Mapping[int, str]) -> Attention:
        """What awaits the actor at these places (id -> name; those they do not manage are
        left out): bookings to approve or refuse, and live waitlists."""
        managed = {pid: name for pid, name in places.items() if actor.manages(pid)}
        ids = sorted(managed)
        now = self.clock()
        pending, pending_counts = await self.repo.awaiting_approval(ids, now, MAX_ATTENTION)
        waitlist = await self.waitlist.repo.live_counts(ids)
        return Attention(
            places=[
                PlaceAttention(
                    place_id=pid,
                    name=managed[pid],
                    pending_approvals=pending_counts.get(pid, 0),
                    waitlist_waiting=waitlist.get((pid, WaitlistStatus.WAITING), 0),
                    waitlist_offered=waitlist.get((pid, WaitlistStatus.OFFERED), 0),
                )
                for pid in ids
            ],
            pending_approvals=await self._entries(pending),
            waitlist=await self.waitlist.managed(ids, now, None, limit=MAX_ATTENTION),
        )

    async def _entries(self, rows: Sequence[Booking]) -> list[AgendaEntry]:
        """Bookings as the agenda shows them, with who booked and for which organisation."""
        return await agenda_entries(self.reader, self.repo, rows)

    async def policies(self, actor: Actor, place_id: int) -> list[PolicyRead]:
        """The booking policies of a place."""
        await self._managed_place(actor, place_id)
        return [
            PolicyRead.model_validate(p, from_attributes=True)
            for p in await self.repo.policies_of(place_id)
        ]

    async def set_policies(
        self, actor: Actor, place_id: int, data: PoliciesUpdate
    ) -> list[PolicyRead]:
        """Replace the booking policies of a place."""
        await self._managed_place(actor, place_id)
        resources = {
            r.id
            for r in (
                await self.catalogue.resources_by_ids(
                    [p.resource_id for p in data.policies if p.resource_id is not None]
                )
            ).values()
            if r.place_id == place_id
        }
        codes = await self.repo.user_type_codes()
        seen: set[tuple[int | None, str | None]] = set()
        for index, policy in enumerate(data.policies):
            if policy.resource_id is not None and policy.resource_id not in resources:
                raise InvalidInputError(
                    f"Resource {policy.resource_id} is not a resource of this place.",
                    field=f"policies[{index}].resource_id",
                    code="resource_not_found",
                )
            if policy.user_type_code is not None and policy.user_type_code not in codes:
                raise InvalidInputError(
                    f"Unknown user type {policy.user_type_code!r}.",
                    field=f"policies[{index}].user_type_code",
                    code="unknown_user_type",
                )
            key = (policy.resource_id, policy.user_type_code)
            if key in seen:
                raise InvalidInputError(
                    "Two policies have the same resource and user type.",
                    field=f"policies[{index}]",
                    code="duplicate_policy",
                )
            seen.add(key)
        await self.repo.replace_policies(
            place_id,
            [BookingPolicy(place_id=place_id, **p.model_dump()) for p in data.policies],
        )
        return await self.policies(actor, place_id)
