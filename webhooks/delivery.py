"""The job that posts a delivery: signed per Standard Webhooks, outside any transaction,
recorded afterwards, retried with backoff, and the subscription disabled when it keeps failing.

An attempt is three steps: a short transaction checks that the attempt is still due and reads
what to send; the HTTP call follows, with no transaction open; a second transaction records
the outcome and queues the next attempt, once (the attempt number is checked again under the
delivery's row lock, so an attempt re-run by another worker records nothing twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook

from kernel.clock import Clock, system_clock
from kernel.db import Database
from webhooks.keys import SecretBox
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from webhooks.policy import DeliveryPolicy
from webhooks.queue import queue_attempt
from webhooks.repository import WebhookRepository
from webhooks.urls import Reach, resolve

logger = logging.getLogger("mutualab.webhooks")
USER_AGENT = "Mutualab-Webhooks/1"
MAX_ERROR_LENGTH = 500

# Told, in the disabling transaction, that a subscription was disabled (queue a message).
DisabledNotice = Callable[[AsyncSession, WebhookSubscription], Awaitable[None]]


@dataclass(frozen=True)
class Message:
    """What one attempt sends."""

    url: str
    secret: str
    key: str
    body: str


@dataclass(frozen=True)
class Outcome:
    """How one attempt went."""

    status: int | None
    duration_ms: int
    error: str

    @property
    def delivered(self) -> bool:
        """A 2xx answer (a redirect is not followed, and is not a delivery)."""
        return self.status is not None and 200 <= self.status < 300


def signed_headers(message: Message, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``message`` sent at ``at``."""
    return {
        "webhook-id": message.key,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(message.secret).sign(message.key, at, message.body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class Deliverer:
    """Runs the ``webhooks.deliver`` jobs."""

    def __init__(
        self,
        database: Database,
        box: SecretBox,
        policy: DeliveryPolicy,
        *,
        clock: Clock = system_clock,
        reach: Reach | None = None,
        on_disabled: DisabledNotice | None = None,
    ) -> None:
        self.database = database
        self.box = box
        self.policy = policy
        # Wall-clock time: receivers check the signature's timestamp against theirs.
        self.clock = clock
        self.on_disabled = on_disabled
        # Where deliveries may connect beside public addresses (none by default).
        self.reach = reach or Reach()

    async def __call__(self, payload: dict[str, Any]) -> None:
        """Make attempt ``payload["attempt"]`` of delivery ``payload["delivery_id"]``."""
        delivery_id = int(payload["delivery_id"])
        attempt = int(payload["attempt"])
        message = await self._claim(delivery_id, attempt)
        if message is None:
            return
        outcome = await self._send(message)
        await self._record(delivery_id, attempt, outcome)

    async def _claim(self, delivery_id: int, attempt: int) -> Message | None:
        """What to send, if this attempt is still due; a delivery whose subscription went
        inactive fails instead."""
        async with self.database.writer() as session, session.begin():
            repo = WebhookRepository(session)
            delivery = await repo.delivery(delivery_id, lock=True)
            if not _due(delivery, attempt):
                return None  # recorded already, replayed, or deleted with its subscription
            assert delivery is not None
            subscription = await repo.subscription(delivery.subscription_id)
            if subscription is None or not subscription.active:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.last_error = "subscription disabled"
                await repo.add(delivery)
                return None
            try:
                secret = self.box.open(subscription.secret_encrypted)
            except ValueError:
                # MUTUALAB_SECRET_KEY changed since: retrying would not help, rotating does.
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.last_error = "secret unreadable (the instance key changed): rotate it"
                await repo.add(delivery)
                return None
            return Message(
                url=subscription.url, secret=secret, key=delivery.event_key, body=delivery.body
            )

    async def _send(self, message: Message) -> Outcome:
        """POST the message, signed now, if its host resolves to allowed addresses only; never
        follows a redirect, never reads the answer's body (a receiver could send gigabytes).
        Whatever goes wrong is a failed attempt: a delivery never stays pending for good."""
        started = time.monotonic()
        try:
            return await self._post(message, started)
        except Exception as exc:  # httpx, idna, the resolver: all a failed attempt
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            logger.warning("webhook attempt to %s failed: %s", message.url, error)
            return Outcome(None, _since(started), error[:MAX_ERROR_LENGTH])

    async def _post(self, message: Message, started: float) -> Outcome:
        url = httpx.URL(message.url)
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        timeout = self.policy.timeout.total_seconds()
        async with asyncio.timeout(timeout):  # a resolver that never answers fails the attempt
            address, refused = await resolve(host, port, self.reach)
        if address is None:
            # No request: the host is (or now resolves to) this machine or a private network.
            return Outcome(None, _since(started), (refused or "")[:MAX_ERROR_LENGTH])
        # To the address just checked, naming the host (Host header; TLS's server name and
        # certificate check): no second lookup that could answer elsewhere.
        headers = {**signed_headers(message, self.clock()), "Host": url.netloc.decode("ascii")}
        tls = {"sni_hostname": host} if url.scheme == "https" else {}
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            client.stream(
                "POST",
                url.copy_with(host=str(address)),
                content=message.body.encode(),
                headers=headers,
                extensions=tls,
            ) as response,
        ):
            status = response.status_code
        error = "" if 200 <= status < 300 else f"HTTP {status}"
        return Outcome(status, _since(started), error)

    async def _record(self, delivery_id: int, attempt: int, outcome: Outcome) -> None:
        """Write the attempt down; queue the next one, or give up and maybe disable."""
        now = self.clock()
        async with self.database.writer() as session, session.begin():
            repo = WebhookRepository(session)
            found = await repo.delivery(delivery_id)
            if found is None:
                return
            # The subscription's row first, then the delivery's: the order in which deleting a
            # subscription takes them (its deliveries go with it), so the two never deadlock.
            subscription = await repo.subscription(found.subscription_id, lock=True)
            delivery = await repo.delivery(delivery_id, lock=True)
            if not _due(delivery, attempt):
                return
            assert delivery is not None and delivery.id is not None
            delivery.attempts = attempt
            delivery.last_attempt_at = now
            delivery.response_status = outcome.status
            delivery.duration_ms = outcome.duration_ms
            delivery.last_error = outcome.error
            wait = self.policy.wait_after(attempt)
            if outcome.delivered:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
            elif wait is not None:
                delivery.next_attempt_at = now + wait
                await queue_attempt(session, delivery.id, attempt + 1, wait)
            else:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            await repo.add(delivery)
            if subscription is not None:
                await self._follow(session, repo, subscription, delivery, now)

    async def _follow(
        self,
        session: AsyncSession,
        repo: WebhookRepository,
        subscription: WebhookSubscription,
        delivery: WebhookDelivery,
        now: datetime,
    ) -> None:
        """Keep track of a subscription's failures; disable it when they persist."""
        if delivery.status == DeliveryStatus.DELIVERED:
            subscription.failing_since = None
        elif subscription.failing_since is None:
            subscription.failing_since = now
        persistent = (
            delivery.status == DeliveryStatus.FAILED
            and subscription.failing_since is not None
            and now - subscription.failing_since >= self.policy.disable_after
        )
        if persistent and subscription.active:
            subscription.active = False
            subscription.disabled_at = now
            subscription.disabled_reason = "failing_deliveries"
            subscription.updated_at = now
            logger.warning(
                "webhook subscription %s disabled: its deliveries kept failing", subscription.id
            )
            # Its other deliveries waiting for an attempt stop here.
            assert subscription.id is not None
            for waiting in await repo.pending_of(subscription.id):
                if waiting.id != delivery.id:
                    waiting.status = DeliveryStatus.FAILED
                    waiting.next_attempt_at = None
                    waiting.last_error = "subscription disabled"
                    session.add(waiting)
            if self.on_disabled is not None:
                await self.on_disabled(session, subscription)
        await repo.add(subscription)


def _due(delivery: WebhookDelivery | None, attempt: int) -> bool:
    return (
        delivery is not None
        and delivery.status == DeliveryStatus.PENDING
        and delivery.attempts == attempt - 1
    )


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
