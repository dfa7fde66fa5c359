"""Webhook requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from webhooks.events import EventType

Url = Annotated[str, Field(min_length=1, max_length=2000, description="https:// address")]
Description = Annotated[str, Field(max_length=500)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=20)]
PlaceIds = Annotated[
    list[Annotated[int, Field(ge=1, le=2**31 - 1)]],
    Field(min_length=1, max_length=200, description="the places whose events it receives"),
]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos are reported rather than ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubscriptionCreate(Strict):
    """A new subscription; without ``place_ids`` (administrators only) it hears every place."""

    url: Url
    event_types: EventTypes
    place_ids: PlaceIds | None = None
    description: Description = ""
    active: bool = True


class SubscriptionUpdate(Strict):
    """Changes to a subscription; ``active: true`` turns a disabled one back on."""

    url: Url | None = None
    event_types: EventTypes | None = None
    place_ids: PlaceIds | None = None
    description: Description | None = None
    active: bool | None = None


class SubscriptionRead(BaseModel):
    """A subscription (never its secret)."""

    id: int
    url: str
    description: str
    event_types: list[str]
    place_ids: list[int] | None
    active: bool
    created_by_user_id: int | None
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None
    disabled_reason: str


class SubscriptionCreated(SubscriptionRead):
    """A new subscription with its signing secret, shown this once."""

    secret: str = Field(description="whsec_... signing secret; shown only in this answer")


class SecretRotated(BaseModel):
    """The new signing secret, shown this once; the old one signs nothing any more."""

    id: int
    secret: str


class DeliveryRead(BaseModel):
    """One event sent (or to be sent) to a subscription."""

    id: int
    subscription_id: int
    event_type: str
    event_key: str
    status: str
    attempts: int
    response_status: int | None
    duration_ms: int | None
    last_error: str
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    """A page of deliveries, newest first."""

    items: list[DeliveryRead]
    total: int
    limit: int
    offset: int
