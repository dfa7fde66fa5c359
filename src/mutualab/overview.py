"""The manager's overview: what needs them at their places, at a glance.

Bookings awaiting their approval and live waitlists come from the booking domain
(:meth:`booking.service.PlaceAgenda.attention`); failed deliveries are the failed background
jobs (:mod:`kernel.jobs`): every one for a platform administrator, and for a place's manager
the failed events of their places (an event's data names its place). No ``webhooks`` package
exists yet: its failed deliveries will join these once it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.controllers import AGENDA
from booking.schemas import AgendaEntry, PlaceAttention
from booking.service import PlaceAgenda
from booking.waitlist_schemas import ManagedWaitlistEntry
from kernel import jobs
from kernel.auth.actor import Actor, actor_of
from kernel.auth.guards import require_manager
from kernel.auth.rules import BEARER, MANAGER
from resources.controllers import CATALOGUE
from resources.repository import PlaceFilter
from resources.service import CatalogueService

MAX_PLACES = 200
MAX_FAILED = 500  # failed jobs read; the newest are listed


class FailedDelivery(BaseModel):
    """A background job whose attempts are spent (an event, a message, a card intent...)."""

    id: int
    name: str
    event: str | None  # for an event's delivery, its name
    place_id: int | None
    attempts: int
    failed_at: datetime


class ManagerOverview(BaseModel):
    """What needs a manager at their places: requests to decide, waitlists, failures."""

    places: list[PlaceAttention]
    pending_approvals: list[AgendaEntry]
    waitlist: list[ManagedWaitlistEntry]
    failed_deliveries: list[FailedDelivery]
    # Every failed delivery they may see (the list shows the 50 latest).
    failed_deliveries_total: int


def _delivery(job: jobs.FailedJob) -> FailedDelivery:
    data = job.payload.get("data")
    place = data.get("place_id") if isinstance(data, dict) else None
    event = job.payload.get("event")
    return FailedDelivery(
        id=job.id,
        name=job.name,
        event=event if isinstance(event, str) else None,
        place_id=place if isinstance(place, int) and not isinstance(place, bool) else None,
        attempts=job.attempts,
        failed_at=job.updated,
    )


def visible_failures(actor: Actor, failed: Sequence[jobs.FailedJob]) -> list[FailedDelivery]:
    """The failed jobs an actor may see: all for admins, their places' events for managers."""
    deliveries = [_delivery(job) for job in failed]
    if actor.is_admin:
        return deliveries
    return [d for d in deliveries if d.place_id is not None and actor.manages(d.place_id)]


async def overview(
    actor: Actor, catalogue: CatalogueService, agenda: PlaceAgenda, session: AsyncSession
) -> ManagerOverview:
    """What needs ``actor`` at the places they manage (every place for an admin)."""
    if actor.is_admin:
        listed = await catalogue.list_places(PlaceFilter(include_inactive=True), MAX_PLACES, 0)
        places = {p.id: p.name for p in listed.items}
    else:
        places = {
            pid: (await catalogue.require_place(pid)).name
            for pid in sorted(actor.managed_place_ids)
        }
    attention = await agenda.attention(actor, places)
    failures = visible_failures(actor, await jobs.failed_jobs(session, limit=MAX_FAILED))
    return ManagerOverview(
        places=attention.places,
        pending_approvals=attention.pending_approvals,
        waitlist=attention.waitlist,
        failed_deliveries=failures[:50],
        failed_deliveries_total=len(failures),
    )


class OverviewController(Controller):
    """The manager's overview (any manager: it covers the places they manage)."""

    path = "/api/manager"
    tags = ["bookings"]
    dependencies = {**AGENDA, **CATALOGUE}
    guards = [require_manager]
    security = BEARER
    opt = MANAGER

    @get("/overview", opt=MANAGER)
    async def overview(
        self,
        request: Request[Any, Any, Any],
        agenda: NamedDependency[PlaceAgenda],
        catalogue: NamedDependency[CatalogueService],
        db_session: NamedDependency[AsyncSession],
    ) -> ManagerOverview:
        """What needs you at your places: bookings to approve, waitlists, failed deliveries."""
        return await overview(actor_of(request), catalogue, agenda, db_session)
