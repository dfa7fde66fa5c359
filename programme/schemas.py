"""Request and response models of the programme API (never table models)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel.types import UtcDatetime

Kind = Literal["workshop", "training", "event"]
RegistrationState = Literal["registered", "waitlisted", "cancelled"]
Hours = Annotated[int, Field(ge=0, le=24 * 60)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos are reported rather than ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SessionDate(Strict):
    """One date of a session: its start and end."""

    starts_at: UtcDatetime
    ends_at: UtcDatetime


class Recurrence(Strict):
    """The n-th weekday of each month (every first Saturday), in the place's local time."""

    first_month: date = Field(description="a day of the first month")
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    nth: int = Field(ge=1, le=4, description="1 = first of the month")
    count: int = Field(ge=1, le=24, description="how many months")
    starts: time
    ends: time


class ResourceUse(Strict):
    """A resource the session occupies, and how many of its units."""

    resource_id: int
    quantity: int = Field(default=1, ge=1, le=1000)


class SessionCreate(Strict):
    """Publish a session: one per date (several dates, or a recurrence)."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    kind: Kind
    dates: Annotated[list[SessionDate], Field(max_length=52)] = []
    recurrence: Recurrence | None = None
    seats: int = Field(ge=1, le=1000)
    min_attendance: int = Field(default=0, ge=0, le=1000)
    registration_closes_hours: Hours = Field(
        default=0, description="registrations close this many hours before the start"
    )
    minimum_check_hours: Hours = Field(
        default=48,
        description="this many hours before the start, below the minimum, it is cancelled",
    )
    training_id: int | None = Field(default=None, description="the training it grants")
    resources: Annotated[list[ResourceUse], Field(max_length=10)] = []


class TicketPrice(BaseModel):
    """The ticket of one user type ("*": any other), per seat."""

    user_type: str
    price_cents: int = Field(description="excl. VAT")
    price_incl_vat_cents: int


class SessionRead(BaseModel):
    """A session as everyone sees it."""

    id: int
    place_id: int
    place_name: str
    town: str
    series_key: str
    title: str
    description: str
    kind: Kind
    starts_at: datetime
    ends_at: datetime
    timezone: str
    seats: int
    seats_left: int
    min_attendance: int
    registration_deadline: datetime
    minimum_check_at: datetime
    registration_open: bool
    training_id: int | None
    resources: list[ResourceUse]
    status: Literal["scheduled", "cancelled"]
    status_reason: str
    free: bool = Field(description="no ticket costs money")
    prices: list[TicketPrice] = Field(
        description="ticket prices per user type (* any other); empty: free for everyone"
    )


class SessionPage(BaseModel):
    """A page of sessions, soonest first."""

    items: list[SessionRead]
    total: int
    limit: int
    offset: int


class SessionUpdate(Strict):
    """What a place's managers change of a session before it starts (its dates and
    resources are its booking's: cancel and publish again to move it)."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    seats: int = Field(ge=1, le=1000, description="at least the seats registered")
    min_attendance: int = Field(default=0, ge=0, le=1000)


class SessionCancel(Strict):
    """Why the place cancels a session."""

    reason: Annotated[str, Field(max_length=300)] = ""


class RegistrationCreate(Strict):
    """Register for a session: one seat, or a group's (a teacher and pupils)."""

    seats: int = Field(default=1, ge=1, le=100)
    waitlist: bool = Field(
        default=False, description="when the session is full, wait for seats instead of a 409"
    )


class DeskRegistrationCreate(Strict):
    """A manager registers someone at the front desk: a person of the place (``user_id``, as
    the desk's search finds them), or a walk-in (``name``; an account's address finds it)."""

    user_id: int | None = Field(default=None, description="a person related to the place")
    name: Annotated[str, Field(max_length=120)] = Field(
        default="", description="a walk-in's name (when no user_id)"
    )
    email: Annotated[str, Field(max_length=254)] = ""
    phone: Annotated[str, Field(max_length=30)] = ""
    seats: int = Field(default=1, ge=1, le=100)
    waitlist: bool = Field(
        default=False, description="when the session is full, wait for seats instead of a 409"
    )

    @model_validator(mode="after")
    def _one_person(self) -> DeskRegistrationCreate:
        if (self.user_id is None) == (not self.name):
            raise ValueError("give user_id, or a walk-in's name (one of the two)")
        return self


class RegistrationRead(BaseModel):
    """A person's registration (or place in the waitlist)."""

    id: int
    session_id: int
    user_id: int
    seats: int
    status: RegistrationState
    created_at: datetime
    cancelled_at: datetime | None
    attended_at: datetime | None
    session: SessionRead


class Registrant(BaseModel):
    """A registration as the place's managers see it."""

    id: int
    user_id: int
    display_name: str
    email: str
    seats: int
    status: RegistrationState
    created_at: datetime
    attended_at: datetime | None


class AttendanceMark(Strict):
    """Whether the person came."""

    attended: bool = True
