"""The manager's overview: what needs them at their places, at a glance.

Bookings awaiting their approval and live waitlists come from the booking domain
(:meth:`booking.service.PlaceAgenda.attention`); failed deliveries are the failed background
jobs (:mod:`kernel.jobs`), the failed webhook deliveries (:mod:`webhooks`) and, for
administrators (whose outbox it is), the e-mails that could not be sent (:mod:`notifications`):
every one for a platform administrator, and for a place's manager those of their places (an
event's data names its place, as a webhook delivery does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from litestar import Controller, Request
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
from kernel.routes import get
from notifications.models import FAILED
from notifications.reads import list_messages
from resources.controllers import CATALOGUE
from resources.repository import PlaceFilter
from resources.service import CatalogueService
from webhooks.repository import WebhookRepository

MAX_PLACES = 200
MAX_FAILED = 500  # failed jobs read; the newest are listed
MAX_LISTED = 50


class FailedDelivery(BaseModel):
    """A background job whose attempts are spent (an event, a message, a card intent...), or
    a webhook delivery that failed for good."""

    kind: Literal["job", "webhook", "mail"]
    id: int  # the job's, the webhook delivery's or the e-mail's
    name: str  # the job's name, the subscription's address, or the e-mail's template
    event: str | None  # the event delivered, if it was one
    place_id: int | None
    attempts: int
    failed_at: datetime
    subscription_id: int | None = None  # a webhook's
    response_status: int | None = None  # a webhook's last answer


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
        kind="job",
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


async def failed_webhooks(
    actor: Actor, session: AsyncSession, limit: int
) -> tuple[list[FailedDelivery], int]:
    """The failed webhook deliveries an actor may see (their places'; all for admins)."""
    repository = WebhookRepository(session)
    places = None if actor.is_admin else sorted(actor.managed_place_ids)
    rows, total = await repository.failed(places, limit)
    subscriptions = {
        s.id: s.url
        for s in [await repository.subscription(i) for i in {r.subscription_id for r in rows}]
        if s is not None
    }
    return [
        FailedDelivery(
            kind="webhook",
            id=row.id or 0,
            name=subscriptions.get(row.subscription_id, ""),
            event=row.event_type,
            place_id=row.place_id,
            attempts=row.attempts,
            failed_at=row.last_attempt_at or row.created_at,
            subscription_id=row.subscription_id,
            response_status=row.response_status,
        )
        for row in rows
    ], total


async def failed_mails(actor: Actor, session: AsyncSession) -> tuple[list[FailedDelivery], int]:
    """The e-mails that could not be sent (administrators only: the outbox is theirs)."""
    if not actor.is_admin:
        return [], 0
    page = await list_messages(session, status=FAILED, per_page=MAX_LISTED)
    return [
        FailedDelivery(
            kind="mail",
            id=message.id,
            name=message.template,
            event=None,
            place_id=message.place_id,
            attempts=message.attempts,
            failed_at=message.created_at,
        )
        for message in page.items
    ], page.total


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
    webhooks, webhooks_total = await failed_webhooks(actor, session, MAX_LISTED)
    mails, mails_total = await failed_mails(actor, session)
    newest = sorted([*failures, *webhooks, *mails], key=lambda f: f.failed_at, reverse=True)
    return ManagerOverview(
        places=attention.places,
        pending_approvals=attention.pending_approvals,
        waitlist=attention.waitlist,
        failed_deliveries=newest[:MAX_LISTED],
        failed_deliveries_total=len(failures) + webhooks_total + mails_total,
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
