"""Request and response models of the booking API (never table models).

Rules that depend on the resource (alignment, duration, capacity) or that have their own
problem code (``end_before_start``, ``invalid_quantity``) are checked by the service, so the
caller gets a code it can translate rather than a generic validation error.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from booking.models import BookingStatus
from booking.waitlist_schemas import ManagedWaitlistEntry
from kernel.types import UtcDatetime

SeriesMode = Literal["all_or_nothing", "skip_conflicts"]
Notes = Annotated[str, Field(max_length=1000)]
Quantity = Annotated[int, Field(ge=-1000, le=1000, description="units of the resource")]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos are reported rather than ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ItemRequest(Strict):
    """A resource and how many of its units to book."""

    resource_id: int
    quantity: Quantity = 1


Items = Annotated[list[ItemRequest], Field(min_length=1, max_length=20)]


class BookingCreate(Strict):
    """Book units of one or more resources of one place, for a time range."""

    items: Items
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    organisation_id: int | None = Field(
        default=None, description="book on behalf of this organisation (its rate applies)"
    )
    notes: Notes = ""
    hold_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = Field(
        default=None, description="keep the booking held (awaiting payment) this long"
    )


class Reschedule(Strict):
    """Move a booking to another time range (same resources and quantities)."""

    starts_at: UtcDatetime
    ends_at: UtcDatetime
    # A move to a dearer range: how the difference is paid (where the place allows that method
    # and the booking is not paid yet); without it such a move is a 409 ``price_changed``.
    pay_difference: Literal["on_site", "invoice"] | None = None


class Decision(Strict):
    """A manager's optional explanation."""

    reason: Annotated[str, Field(max_length=500)] = ""


class CancelRequest(Strict):
    """Why the booking is cancelled (optional)."""

    reason: Annotated[str, Field(max_length=500)] = ""
    refund_to: Literal["wallet"] | None = Field(
        default=None,
        description="wallet: what is refunded goes to my wallet at the place, not to the card",
    )


class ItemRead(BaseModel):
    """A booked resource, with the labels of the units it got."""

    resource_id: int
    resource_name: str
    quantity: int
    units: list[str]


class BookingRead(BaseModel):
    """A booking; times in UTC and in the place's local time."""

    id: int
    reference: str
    status: BookingStatus
    place_id: int
    timezone: str
    booker_user_id: int
    organisation_id: int | None
    user_type_code: str
    starts_at: datetime
    ends_at: datetime
    local_starts_at: datetime
    local_ends_at: datetime
    hold_expires_at: datetime | None
    series_id: int | None
    sequence: int
    notes: str
    status_reason: str
    items: list[ItemRead]
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    # When the person arrived (staff or the place's kiosk); null until then.
    checked_in_at: datetime | None = None


class BookingPage(BaseModel):
    """One page of bookings."""

    items: list[BookingRead]
    total: int
    limit: int
    offset: int


# Availability answers are msgspec structs, not pydantic models: a week holds hundreds of
# slots, all computed here from typed values, and Litestar encodes structs natively (building
# and dumping them as pydantic models cost about a third of the request). A slot holds only
# instants and a count, so it can be no part of a reference cycle: gc=False leaves the tuples
# of them that the slot memo keeps out of the collector's rounds (tracked, each kept week of
# 336 slots made every full collection longer, pauses of 20-30 ms under load).
class SlotRead(msgspec.Struct, frozen=True, gc=False):
    """A bookable slot and how many units are free for all of it."""

    starts_at: datetime
    ends_at: datetime
    local_starts_at: datetime
    local_ends_at: datetime
    free_units: int


class ResourceAvailability(msgspec.Struct, frozen=True):
    """Bookable slots of one resource."""

    resource_id: int
    resource_name: str
    place_id: int
    timezone: str
    capacity: int
    duration_minutes: int
    units: int
    slots: list[SlotRead]


class PlaceAvailability(msgspec.Struct, frozen=True):
    """Bookable slots of every active resource of a place for one local day."""

    place_id: int
    date: date
    timezone: str
    resources: list[ResourceAvailability]


class FreeTime(msgspec.Struct, frozen=True):
    """A time a search found free, in UTC and in the place's local time."""

    starts_at: datetime
    ends_at: datetime
    local_starts_at: datetime
    local_ends_at: datetime
    free_units: int


# A struct too: a town's search answers dozens of hits, each built here from typed values.
class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """A resource free for the whole requested range, or at the free times listed in it."""

    resource_id: int
    resource_name: str
    kind: str
    place_id: int
    place_name: str
    town: str
    latitude: float | None = None
    longitude: float | None = None
    timezone: str
    free_units: int
    requires_training: bool
    requires_approval: bool
    local_starts_at: datetime
    local_ends_at: datetime
    distance_km: Annotated[
        float | None,
        msgspec.Meta(
            description="from the point or the town searched around, when a radius is (or the "
            "20 km a town with no place is searched around)"
        ),
    ] = None
    free_times: Annotated[
        list[FreeTime],
        msgspec.Meta(
            description="the free times of the asked length inside the range, soonest first "
            "(free_times=true); else the range itself"
        ),
    ] = msgspec.field(default_factory=list)


class SeriesCreate(Strict):
    """Book the same resources at the same local time on every occurrence of a rule."""

    items: Items
    rule: Annotated[
        str,
        Field(
            min_length=8,
            max_length=500,
            examples=["FREQ=WEEKLY;BYDAY=TU;UNTIL=20271215"],
            description="RFC 5545 RRULE subset: FREQ=WEEKLY|DAILY, INTERVAL, BYDAY, UNTIL|COUNT",
        ),
    ]
    first_date: date = Field(description="local date the series starts from")
    start_time: time = Field(description="local wall-clock start time, e.g. 14:00")
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    exdates: Annotated[list[date], Field(max_length=200)] = Field(
        default_factory=list, description="local dates to skip (RFC 5545 EXDATE)"
    )
    mode: SeriesMode = "all_or_nothing"
    organisation_id: int | None = None
    notes: Notes = ""


# ``date`` is a field's name in the model below.
LocalDay = date


class OccurrenceRead(BaseModel):
    """One occurrence of a series: booked, or in conflict with the reason code."""

    date: date
    starts_at: datetime
    ends_at: datetime
    local_starts_at: datetime
    # "free": not in conflict, but not booked either (all_or_nothing refused the series).
    # "pending": beyond the booking horizon; booked by the workers when it opens.
    status: Literal["booked", "conflict", "free", "pending"]
    reason: str | None = None
    detail: str | None = None
    # The resource that caused the conflict, when one did (e.g. not enough free seats).
    resource_id: int | None = None
    booking_id: int | None = None
    reference: str | None = None
    # A pending date: the local day its booking opens (the horizon reaches it).
    bookable_from: LocalDay | None = None


class SeriesRead(BaseModel):
    """A series and its bookings."""

    id: int
    place_id: int
    booker_user_id: int
    organisation_id: int | None
    rule: str
    first_date: date
    start_time: time
    duration_minutes: int
    timezone: str
    exdates: list[date]
    mode: SeriesMode
    notes: str
    cancelled_from: date | None
    # Dates beyond the booking horizon, booked by the workers when it reaches them.
    pending_dates: list[date]
    # How the dates booked later are billed (set by billing's checkout).
    payment_method: str | None
    purchase_order: str | None
    created_at: datetime
    bookings: list[BookingRead]


class SeriesCreated(SeriesRead):
    """A new series: every occurrence, booked or in conflict with its reason."""

    occurrences: list[OccurrenceRead]


class SeriesCancel(Strict):
    """Cancel every booking of the series from this local date on."""

    from_date: date


class PolicyWrite(Strict):
    """A rule of a place, optionally narrowed to a resource and/or a user type."""

    resource_id: int | None = None
    user_type_code: Annotated[str, Field(max_length=40)] | None = None
    max_advance_days: Annotated[int, Field(ge=1, le=730)] | None = None
    min_notice_minutes: Annotated[int, Field(ge=0, le=43200)] | None = None
    weekly_quota_minutes: Annotated[int, Field(ge=0, le=10080)] | None = None
    requires_approval: bool | None = None
    cancel_deadline_hours: Annotated[int, Field(ge=0, le=2160)] | None = None


class PoliciesUpdate(Strict):
    """Every booking policy of a place (replaces the previous ones)."""

    policies: Annotated[list[PolicyWrite], Field(max_length=200)]


class PolicyRead(PolicyWrite):
    """A stored policy."""

    id: int


class PersonRead(BaseModel):
    """Who booked, as a manager sees it."""

    user_id: int
    display_name: str
    email: str
    walk_in: bool = Field(
        default=False,
        description="recorded at this place's desk without an account: the place exports and "
        "erases their personal data (/api/places/{place_id}/guests/{user_id})",
    )


class OrganisationRef(BaseModel):
    """The organisation a booking was made for."""

    id: int
    name: str


class AgendaEntry(BaseModel):
    """A booking in a manager's agenda."""

    booking: BookingRead
    booker: PersonRead
    organisation: OrganisationRef | None


class AgendaDay(BaseModel):
    """The bookings starting on one local day."""

    date: date
    entries: list[AgendaEntry]


class Agenda(BaseModel):
    """A place's bookings, day by day, in its local time."""

    place_id: int
    timezone: str
    days: list[AgendaDay]
    # Live waitlist entries (waiting, offered) whose range meets the agenda's, per resource
    # and range.
    waitlist: list[ManagedWaitlistEntry] = Field(default_factory=list)


class PlaceAttention(BaseModel):
    """What awaits a place's managers, counted."""

    place_id: int
    name: str
    pending_approvals: int
    waitlist_waiting: int
    waitlist_offered: int


class Attention(BaseModel):
    """What awaits a manager at their places: requests to decide and waitlists."""

    places: list[PlaceAttention]
    # The first bookings awaiting approval (by start); the counts per place say how many.
    pending_approvals: list[AgendaEntry]
    # The first live waitlist entries (by start), waiting or offered.
    waitlist: list[ManagedWaitlistEntry]


__all__ = [
    "Agenda",
    "Attention",
    "BookingCreate",
    "BookingPage",
    "BookingRead",
    "PlaceAttention",
    "PlaceAvailability",
    "PoliciesUpdate",
    "PolicyRead",
    "ResourceAvailability",
    "SearchHit",
    "SeriesCreate",
    "SeriesCreated",
    "SeriesRead",
]
