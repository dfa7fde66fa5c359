"""Subscriptions, as their owners manage them: a manager for their places, an administrator
for any place or all of them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from kernel.auth.actor import Actor
from kernel.clock import Clock
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from webhooks.events import PING
from webhooks.keys import SecretBox, new_secret
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from webhooks.payloads import envelope
from webhooks.queue import queue_attempt
from webhooks.repository import WebhookRepository
from webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from webhooks.urls import check_url


def can_see(actor: Actor, subscription: WebhookSubscription) -> bool:
    """Administrators see every subscription; a manager those whose places are all theirs."""
    if actor.is_admin:
        return True
    places = subscription.place_ids
    return bool(places) and set(places or ()) <= actor.managed_place_ids


def subscription_read(subscription: WebhookSubscription) -> SubscriptionRead:
    """A subscription as the API shows it."""
    return SubscriptionRead.model_validate(subscription, from_attributes=True)


def delivery_read(delivery: WebhookDelivery) -> DeliveryRead:
    """A delivery as the API shows it."""
    return DeliveryRead.model_validate(delivery, from_attributes=True)


class Subscriptions:
    """Create, read, change, rotate and delete subscriptions; their delivery log."""

    def __init__(
        self,
        repository: WebhookRepository,
        box: SecretBox,
        clock: Clock,
        *,
        allow_loopback_http: bool,
    ) -> None:
        self.repo = repository
        self.box = box
        self.clock = clock
        self.allow_loopback_http = allow_loopback_http

    async def visible(
        self, actor: Actor, subscription_id: int, *, lock: bool = False
    ) -> WebhookSubscription:
        """A subscription the actor may see; 404 otherwise (another place's does not exist)."""
        subscription = await self.repo.subscription(subscription_id, lock=lock)
        if subscription is None or not can_see(actor, subscription):
            raise NotFoundError(
                f"No webhook subscription with id {subscription_id}.",
                code="webhook_not_found",
            )
        return subscription

    async def read(self, actor: Actor, subscription_id: int) -> SubscriptionRead:
        """A subscription the actor may see."""
        return subscription_read(await self.visible(actor, subscription_id))

    async def all(self, actor: Actor) -> list[SubscriptionRead]:
        """The subscriptions the actor may see."""
        return [subscription_read(s) for s in await self.repo.subscriptions_of(actor)]

    async def of_place(
        self, actor: Actor, place_id: int, recent: int
    ) -> list[tuple[SubscriptionRead, list[DeliveryRead]]]:
        """The subscriptions that hear ``place_id`` and the actor may see, each with its
        ``recent`` last deliveries (the back office's page); 403 unless they manage it."""
        if not actor.manages(place_id):
            raise ForbiddenError("You do not manage this place.", code="not_place_manager")
        found = []
        for subscription in await self.repo.subscriptions_of(actor):
            if subscription.place_ids is not None and place_id not in subscription.place_ids:
                continue
            assert subscription.id is not None
            rows, _ = await self.repo.deliveries(subscription.id, None, recent, 0)
            found.append((subscription_read(subscription), [delivery_read(r) for r in rows]))
        return found

    async def _places(self, actor: Actor, place_ids: Sequence[int] | None) -> list[int] | None:
        if place_ids is None:
            if not actor.is_admin:
                raise InvalidInputError(
                    "Name the places whose events you want (all places: administrators only).",
                    field="place_ids",
                    code="places_required",
                )
            return None
        wanted = sorted(set(place_ids))
        foreign = [p for p in wanted if not actor.manages(p)]
        if foreign:
            raise ForbiddenError("You do not manage these places.", code="not_place_manager")
        missing = set(wanted) - await self.repo.existing_places(wanted)
        if missing:
            raise InvalidInputError(
                f"No place with id {min(missing)}.", field="place_ids", code="place_not_found"
            )
        return wanted

    async def create(self, actor: Actor, data: SubscriptionCreate) -> SubscriptionCreated:
        """A new subscription; the answer holds its secret, shown this once."""
        url = check_url(data.url, allow_loopback_http=self.allow_loopback_http)
        places = await self._places(actor, data.place_ids)
        secret = new_secret()
        now = self.clock()
        subscription = WebhookSubscription(
            url=url,
            description=data.description,
            event_types=sorted(set(data.event_types)),
            place_ids=places,
            secret_encrypted=self.box.seal(secret),
            active=data.active,
            created_by_user_id=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        await self.repo.add(subscription)
        return SubscriptionCreated(**subscription_read(subscription).model_dump(), secret=secret)

    async def update(
        self, actor: Actor, subscription_id: int, data: SubscriptionUpdate
    ) -> SubscriptionRead:
        """Change a subscription; turned active again, it forgets why it was disabled."""
        subscription = await self.visible(actor, subscription_id, lock=True)
        if data.url is not None:
            subscription.url = check_url(data.url, allow_loopback_http=self.allow_loopback_http)
        if data.event_types is not None:
            subscription.event_types = sorted(set(data.event_types))
        if data.place_ids is not None:
            subscription.place_ids = await self._places(actor, data.place_ids)
        if data.description is not None:
            subscription.description = data.description
        if data.active is True and not subscription.active:
            subscription.active = True
            subscription.disabled_at = None
            subscription.disabled_reason = ""
            subscription.failing_since = None
        elif data.active is False and subscription.active:
            subscription.active = False
            subscription.disabled_at = self.clock()
            subscription.disabled_reason = "disabled_by_owner"
        subscription.updated_at = self.clock()
        await self.repo.add(subscription)
        return subscription_read(subscription)

    async def delete(self, actor: Actor, subscription_id: int) -> None:
        """Delete a subscription and its delivery log (queued attempts then find nothing)."""
        await self.repo.remove(await self.visible(actor, subscription_id, lock=True))

    async def rotate(self, actor: Actor, subscription_id: int) -> SecretRotated:
        """A new secret, shown this once; from now on deliveries are signed with it only."""
        subscription = await self.visible(actor, subscription_id, lock=True)
        secret = new_secret()
        subscription.secret_encrypted = self.box.seal(secret)
        subscription.updated_at = self.clock()
        await self.repo.add(subscription)
        assert subscription.id is not None
        return SecretRotated(id=subscription.id, secret=secret)

    async def deliveries(
        self, actor: Actor, subscription_id: int, status: str | None, limit: int, offset: int
    ) -> DeliveryPage:
        """The subscription's deliveries, newest first."""
        await self.visible(actor, subscription_id)
        rows, total = await self.repo.deliveries(subscription_id, status, limit, offset)
        return DeliveryPage(
            items=[delivery_read(row) for row in rows], total=total, limit=limit, offset=offset
        )

    async def replay(self, actor: Actor, subscription_id: int, delivery_id: int) -> DeliveryRead:
        """Send a delivered or failed delivery again (same id and body, newly signed)."""
        subscription = await self.visible(actor, subscription_id)
        delivery = await self.repo.delivery(delivery_id, lock=True)
        if delivery is None or delivery.subscription_id != subscription.id:
            raise NotFoundError(f"No delivery with id {delivery_id}.", code="delivery_not_found")
        _require_active(subscription)
        if delivery.status == DeliveryStatus.PENDING:
            raise ConflictError(
                "This delivery is still being sent; its next attempt is scheduled.",
                code="delivery_pending",
            )
        assert delivery.id is not None
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = self.clock()
        await self.repo.add(delivery)
        await queue_attempt(self.repo.session, delivery.id, delivery.attempts + 1)
        return delivery_read(delivery)

    async def ping(self, actor: Actor, subscription_id: int) -> DeliveryRead:
        """Queue a ``webhook.ping`` to the subscription's address (logged like any delivery)."""
        subscription = await self.visible(actor, subscription_id)
        _require_active(subscription)
        assert subscription.id is not None
        now = self.clock()
        key = f"ping.{uuid.uuid4().hex}"
        data = {"subscription_id": subscription.id, "message": "ping"}
        delivery_id = await self.repo.add_delivery(
            subscription.id, key, PING, None, envelope(PING, key, now, data)
        )
        assert delivery_id is not None
        await queue_attempt(self.repo.session, delivery_id, 1)
        delivery = await self.repo.delivery(delivery_id)
        assert delivery is not None
        return delivery_read(delivery)


def _require_active(subscription: WebhookSubscription) -> None:
    if not subscription.active:
        raise ConflictError(
            "This subscription is disabled; turn it back on (active: true) first.",
            code="webhook_disabled",
        )
