"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ARRAY, Column, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"  # queued, or waiting for its next attempt
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # every attempt failed (or its subscription went away)


class WebhookSubscription(SQLModel, table=True):
    """An address that receives the events it subscribed to, for some places or all."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(sa_column=Column(ARRAY(String(50)), nullable=False))
    # The places whose events it receives; NULL: every place (platform administrators only).
    place_ids: list[int] | None = Field(
        default=None, sa_column=Column(ARRAY(Integer), nullable=True)
    )
    # The whsec_ secret, encrypted with a key derived from the instance's secret key: it must
    # be read back to sign, so it cannot be stored as a digest (webhooks.secrets).
    secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = True
    created_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    disabled_at: datetime | None = utc_column(nullable=True)
    disabled_reason: str = Field(default="", max_length=200)
    # The first failed attempt since the last delivered one (None: the last one succeeded).
    failing_since: datetime | None = utc_column(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: its signed body, and how its attempts went."""

    __tablename__ = "webhook_delivery"
    # An event re-handled after a crash adds no second delivery (kernel.events: idempotent).
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_key", name="uq_webhook_delivery_event"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Indexed by the unique constraint, whose first column it is.
    subscription_id: int = Field(foreign_key="webhook_subscription.id", ondelete="CASCADE")
    # The event's key: the webhook-id header and the payload's id, the same on every attempt.
    event_key: str = Field(max_length=200)
    event_type: str = Field(max_length=50)
    place_id: int | None = None
    # The JSON body exactly as signed and sent, on every attempt.
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column(nullable=True)
    last_attempt_at: datetime | None = utc_column(nullable=True)
    response_status: int | None = None
    duration_ms: int | None = None
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()
    delivered_at: datetime | None = utc_column(nullable=True)
