"""Request and response models of the waitlist API (never table models)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from booking.waitlist import WaitlistStatus
from kernel.types import UtcDatetime


class WaitlistJoin(BaseModel):
    """Wait for units of a resource over a range that is full today."""

    model_config = ConfigDict(extra="forbid")

    resource_id: int
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    organisation_id: int | None = Field(
        default=None, description="wait on behalf of this organisation (you must be a member)"
    )


class WaitlistEntryRead(BaseModel):
    """An entry of a waitlist: where it stands, and the booking held for it once offered."""

    id: int
    place_id: int
    resource_id: int
    resource_name: str
    quantity: int
    starts_at: datetime
    ends_at: datetime
    organisation_id: int | None
    status: WaitlistStatus
    # Its place in line while waiting (1: next to be offered); None otherwise.
    position: int | None
    offer_booking_id: int | None
    offered_at: datetime | None
    offer_expires_at: datetime | None
    created_at: datetime


class WaitingPerson(BaseModel):
    """Who waits, as a place's manager sees it."""

    user_id: int
    display_name: str
    email: str


class ManagedWaitlistEntry(BaseModel):
    """A live entry of a place's waitlist, with who waits (managers only)."""

    entry: WaitlistEntryRead
    person: WaitingPerson


__all__ = ["ManagedWaitlistEntry", "WaitingPerson", "WaitlistEntryRead", "WaitlistJoin"]
