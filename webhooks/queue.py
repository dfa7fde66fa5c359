"""Queueing a delivery's attempt (in the caller's transaction)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.jobs import enqueue

DELIVER_JOB = "webhooks.deliver"


async def queue_attempt(
    session: AsyncSession, delivery_id: int, attempt: int, delay: timedelta | None = None
) -> None:
    """Queue attempt number ``attempt`` of a delivery, after ``delay``.

    Keyed by the attempt: a re-run of whatever queued it queues nothing twice, and the attempt
    running now does not stop the next one from being queued.
    """
    await enqueue(
        session,
        DELIVER_JOB,
        {"delivery_id": delivery_id, "attempt": attempt},
        dedupe_key=f"webhook:{delivery_id}:{attempt}",
        delay=delay,
    )
