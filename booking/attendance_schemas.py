"""Check-in at the place (by staff or at its kiosk) and the no-shows counted per person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from booking.schemas import Strict
from resources.schemas import Email


class KioskCheckIn(Strict):
    """A person checking in at the place's kiosk: their booking's reference and e-mail."""

    reference: Annotated[str, Field(min_length=4, max_length=16, description="e.g. MLB-59RGMB")]
    email: Email


class KioskCheckedIn(BaseModel):
    """What the kiosk shows once a person checked in (nothing else about the booking)."""

    reference: str
    local_starts_at: datetime
    local_ends_at: datetime
    resources: list[str]
    checked_in_at: datetime


class NoShowCount(BaseModel):
    """How many of a person's bookings the place released because nobody came."""

    user_id: int
    display_name: str
    email: str
    no_shows: int
