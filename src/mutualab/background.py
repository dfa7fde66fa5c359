"""The background work of an instance: the jobs and periodic tasks, and a worker in-process.

``mutualab worker`` runs :func:`job_registry` against the configured database, on as many
hosts as wanted; ``mutualab demo`` and ``serve`` on the embedded database run one inside the
application (:class:`InProcessWorker`), so a trial instance needs no second command.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from accounts import jobs as accounts_jobs
from billing import grouped_job, maintenance, plan_cards, series_horizon
from booking import waitlist_events
from booking.feeds.repository import FeedRepository
from kernel import idempotency, jobs
from kernel.events import EVENT_JOB, Subscribers
from kernel.jobs import JobRegistry
from kernel.worker import run_worker
from mutualab.composition import Runtime
from mutualab.photo_store import photo_store
from notifications import messages
from notifications import wiring as notifications
from notifications.sealing import BodySeal
from programme.minimum import cancel_below_minimum
from resources import photo_service
from webhooks import wiring as webhooks
from webhooks.notice import disabled_notice

logger = logging.getLogger("mutualab.worker")
EVERY_MINUTE = "* * * * *"
# Hourly: a series' dates are booked within the hour the booking horizon reaches them.
HOURLY = "23 * * * *"
# Daily, at a quiet hour (UTC).
NIGHTLY = "17 3 * * *"
# How long a revoked calendar feed's row is kept (for the person's own history), then deleted.
REVOKED_FEEDS_KEPT = timedelta(days=30)


def job_registry(
    runtime: Runtime,
    *,
    every_minute: str = EVERY_MINUTE,
    nightly: str = NIGHTLY,
    hourly: str = HOURLY,
) -> JobRegistry:
    """What the workers of ``runtime`` run."""
    registry = JobRegistry()

    async def expire_holds() -> None:
        released, report = await maintenance.expire_holds(runtime.billing)
        if released or report.intents_cancelled or report.refunds_sent:
            logger.info(
                "%s hold(s) released, %s PaymentIntent(s) cancelled, %s refund(s) sent",
                released,
                report.intents_cancelled,
                report.refunds_sent,
            )
        for error in report.errors:
            logger.warning("hold expiry: %s", error)

    async def purge_idempotency() -> None:
        purged = await idempotency.purge_stale(runtime.database, runtime.clock())
        logger.info("%s idempotency record(s) purged", purged)

    async def purge_revoked_feeds() -> None:
        async with runtime.database.writer() as session, session.begin():
            purged = await FeedRepository(session).purge_revoked(
                runtime.clock() - REVOKED_FEEDS_KEPT
            )
        logger.info("%s revoked calendar feed(s) purged", purged)

    async def prune_job_history() -> None:
        async with runtime.database.writer() as session, session.begin():
            pruned = await jobs.prune_history(session, runtime.clock())
        logger.info("%s job history row(s) pruned", pruned)

    async def release_no_shows() -> None:
        async with runtime.database.writer() as session, session.begin():
            released = await runtime.booking.attendance(session).release_no_shows()
        if released:
            logger.info("%s booking(s) nobody checked in released as no-shows", released)

    async def cancel_sessions_below_minimum() -> None:
        cancelled = await cancel_below_minimum(runtime.database, runtime.programme)
        if cancelled:
            logger.info("%s session(s) below their minimum attendance cancelled", cancelled)

    async def book_pending_series_dates() -> None:
        report = await series_horizon.book_pending_dates(runtime.billing)
        if report.series:
            logger.info(
                "%s series with dates waiting for the horizon, %s date(s) lost, %s failed",
                report.series,
                len(report.lost),
                len(report.failed),
            )

    async def issue_grouped_invoices() -> None:
        report = await grouped_job.issue_due_invoices(runtime.billing)
        if report.issued or report.refused or report.failed:
            logger.info(
                "%s grouped invoice(s) issued, %s waiting for a VAT number, %s place(s) failed",
                len(report.issued),
                len(report.refused),
                len(report.failed),
            )

    # Lapsed holds release their slot and cancel their PaymentIntent (was a cron job).
    registry.every("bookings.expire_holds", every_minute, expire_holds)
    # Bookings nobody checked in, at places that release them (place.no_show_release_minutes).
    registry.every("bookings.release_no_shows", every_minute, release_no_shows)
    # Sessions below their minimum attendance when their check time comes (programme.minimum).
    registry.every("programme.cancel_below_minimum", every_minute, cancel_sessions_below_minimum)
    registry.every("series.book_pending", hourly, book_pending_series_dates)
    # After the horizon's bookings: the dates it just booked are invoiced in the same hour.
    registry.every("invoices.issue_grouped", hourly, issue_grouped_invoices)
    # Memberships and tickets: a card charge's PaymentIntent after commit; renewals and lapses
    # hourly; tickets unpaid in time released, cancelled ones refunded (each minute).
    plan_cards.register(registry, runtime.billing, hourly, every_minute)
    registry.every("idempotency.purge", nightly, purge_idempotency)
    registry.every("jobs.prune_history", nightly, prune_job_history)
    registry.every("feeds.purge_revoked", nightly, purge_revoked_feeds)
    # The files of replaced and removed photos, once their change is committed.
    photo_service.register(registry, photo_store(runtime.settings))
    accounts_jobs.register(registry, runtime.database, runtime.clock, nightly, runtime.settings)
    # E-mail: the outbox's sending job and its nightly purge.
    notifications.register(
        registry,
        database=runtime.database,
        mailer=runtime.mailer,
        clock=runtime.clock,
        retention_days=runtime.settings.mail_retention_days,
        nightly=nightly,
        seal=BodySeal(runtime.settings.resolved_secret_key()),
    )
    # What happens after commit: each package subscribes its handlers to the published events.
    subscribers = Subscribers()
    waitlist_events.register(
        subscribers,
        registry,
        runtime.database,
        runtime.booking,
        runtime.clock,
        nightly=nightly,
    )
    webhooks.register(
        subscribers,
        registry,
        database=runtime.database,
        booking=runtime.booking,
        billing=runtime.billing,
        settings=runtime.settings,
        on_disabled=disabled_notice(runtime.settings),
    )
    registry.job(EVENT_JOB, subscribers.dispatcher())
    # The messages people get: from events (booking, billing, waitlist) and from time.
    messages.register(
        subscribers,
        registry,
        messages.MessageParts(runtime.database, runtime.settings, runtime.clock),
    )
    return registry


class InProcessWorker:
    """A worker running as a task of the application's event loop (demo, embedded database)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the worker (an on_startup hook)."""
        url = self.runtime.settings.require_database_url()
        self._task = asyncio.create_task(
            run_worker(url, job_registry(self.runtime), self._stop), name="mutualab-worker"
        )
        self._task.add_done_callback(_report_end)

    async def stop(self) -> None:
        """Let the running jobs finish, then stop (an on_shutdown hook)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the in-process worker stopped", exc_info=task.exception())
