"""Every query of webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Integer, cast, func, literal, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor
from resources.models import Place
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

# A subscription hears events while its creator is a platform administrator, or still manages
# every one of its places: a manager who leaves a place takes their subscriptions' data feed with
# them (as an organisation's calendar feed stops when its creator stops being its admin).
CREATOR_STILL_ALLOWED = text(
    """(
    EXISTS (SELECT 1 FROM user_account u
            WHERE u.id = webhook_subscription.created_by_user_id AND u.is_platform_admin)
    OR (webhook_subscription.place_ids IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM unnest(webhook_subscription.place_ids) AS wanted(place_id)
        WHERE NOT EXISTS (
            SELECT 1 FROM place_manager m
            WHERE m.place_id = wanted.place_id
              AND m.user_id = webhook_subscription.created_by_user_id))))"""
)


class WebhookRepository:
    """Subscriptions and deliveries on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscription(
        self, subscription_id: int, *, lock: bool = False
    ) -> WebhookSubscription | None:
        """A subscription by id (its row locked with ``lock``), or None."""
        query = select(WebhookSubscription).where(col(WebhookSubscription.id) == subscription_id)
        if lock:
            # Read again under the lock, over what this session may hold from before.
            query = query.with_for_update().execution_options(populate_existing=True)
        result = await self.session.exec(query)  # type: ignore[call-overload]
        found: WebhookSubscription | None = result.scalars().first()
        return found

    async def subscriptions_of(self, actor: Actor) -> Sequence[WebhookSubscription]:
        """The subscriptions ``actor`` may see: all for an administrator; for a manager, those
        whose places are all theirs."""
        query = select(WebhookSubscription).order_by(col(WebhookSubscription.id))
        if not actor.is_admin:
            managed = cast(sorted(actor.managed_place_ids), ARRAY(Integer))
            query = query.where(
                col(WebhookSubscription.place_ids).is_not(None),
                col(WebhookSubscription.place_ids).op("<@")(managed),
            )
        result = await self.session.exec(query)  # type: ignore[call-overload]
        subscriptions: Sequence[WebhookSubscription] = result.scalars().all()
        return subscriptions

    async def matching(self, event_type: str, place_id: int | None) -> list[WebhookSubscription]:
        """The active subscriptions to ``event_type`` that hear ``place_id`` (and whose creator
        may still hear it)."""
        places = col(WebhookSubscription.place_ids)
        heard: Any = places.is_(None)
        if place_id is not None:
            heard = or_(heard, literal(place_id) == func.any(places))
        query = (
            select(WebhookSubscription)
            .where(
                col(WebhookSubscription.active).is_(True),
                literal(event_type) == func.any(col(WebhookSubscription.event_types)),
                heard,
                CREATOR_STILL_ALLOWED,
            )
            .order_by(col(WebhookSubscription.id))
        )
        result = await self.session.exec(query)  # type: ignore[call-overload]
        return list(result.scalars().all())

    async def existing_places(self, place_ids: Sequence[int]) -> set[int]:
        """Those of ``place_ids`` that exist."""
        query = select(col(Place.id)).where(col(Place.id).in_(list(place_ids)))
        result = await self.session.exec(query)  # type: ignore[call-overload]
        return set(result.scalars().all())

    async def add_delivery(
        self,
        subscription_id: int,
        event_key: str,
        event_type: str,
        place_id: int | None,
        body: str,
    ) -> int | None:
        """Record a delivery; None when this event already has one for this subscription."""
        statement = (
            insert(WebhookDelivery)
            .values(
                subscription_id=subscription_id,
                event_key=event_key,
                event_type=event_type,
                place_id=place_id,
                body=body,
                status="pending",
                attempts=0,
                last_error="",
                created_at=func.now(),
            )
            .on_conflict_do_nothing(constraint="uq_webhook_delivery_event")
            .returning(col(WebhookDelivery.id))
        )
        result = await self.session.exec(statement)
        found: int | None = result.scalar()
        return found

    async def delivery(self, delivery_id: int, *, lock: bool = False) -> WebhookDelivery | None:
        """A delivery by id (its row locked with ``lock``), or None."""
        query = select(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id)
        if lock:
            # Read again under the lock, over what this session may hold from before.
            query = query.with_for_update().execution_options(populate_existing=True)
        result = await self.session.exec(query)  # type: ignore[call-overload]
        found: WebhookDelivery | None = result.scalars().first()
        return found

    async def deliveries(
        self, subscription_id: int, status: str | None, limit: int, offset: int
    ) -> tuple[Sequence[WebhookDelivery], int]:
        """A page of a subscription's deliveries, newest first, and how many there are."""
        where: list[Any] = [col(WebhookDelivery.subscription_id) == subscription_id]
        if status is not None:
            where.append(col(WebhookDelivery.status) == status)
        total_query = select(func.count()).select_from(WebhookDelivery).where(*where)
        total = (await self.session.exec(total_query)).scalar_one()  # type: ignore[call-overload]
        query = (
            select(WebhookDelivery)
            .where(*where)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
            .offset(offset)
        )
        result = await self.session.exec(query)  # type: ignore[call-overload]
        return result.scalars().all(), int(total)

    async def failed(
        self, place_ids: Sequence[int] | None, limit: int
    ) -> tuple[Sequence[WebhookDelivery], int]:
        """The failed deliveries of these places (None: of every place and none), newest
        first, and how many there are (a manager's overview)."""
        where: list[Any] = [col(WebhookDelivery.status) == DeliveryStatus.FAILED]
        if place_ids is not None:
            where.append(col(WebhookDelivery.place_id).in_(sorted(set(place_ids))))
        total_query = select(func.count()).select_from(WebhookDelivery).where(*where)
        total = (await self.session.exec(total_query)).scalar_one()  # type: ignore[call-overload]
        query = (
            select(WebhookDelivery)
            .where(*where)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
        )
        result = await self.session.exec(query)  # type: ignore[call-overload]
        return result.scalars().all(), int(total)

    async def pending_of(self, subscription_id: int) -> Sequence[WebhookDelivery]:
        """A subscription's deliveries still to be sent (locked)."""
        query = (
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.subscription_id) == subscription_id,
                col(WebhookDelivery.status) == "pending",
            )
            .with_for_update()
        )
        result = await self.session.exec(query)  # type: ignore[call-overload]
        found: Sequence[WebhookDelivery] = result.scalars().all()
        return found

    async def add(self, row: WebhookSubscription | WebhookDelivery) -> None:
        """Insert or update a row now."""
        self.session.add(row)
        await self.session.flush()

    async def remove(self, subscription: WebhookSubscription) -> None:
        """Delete a subscription (its deliveries go with it)."""
        await self.session.delete(subscription)
        await self.session.flush()
