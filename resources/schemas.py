"""Request and response models of the catalogue API (never table models: those skip validation)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, time
from functools import lru_cache
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, model_validator

from kernel.legal_ids import Siret
from kernel.types import UtcDatetime

ResourceKind = Literal["machine", "space", "software_seats", "network_access", "other"]
Postcode = Annotated[str, Field(pattern=r"^\d{5}$", examples=["22300"])]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=5000)]
# Département code: metropolitan 01-95 with Corsica 2A/2B, overseas 971-976.
Subdivision = Annotated[str, Field(pattern=r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$")]
Email = Annotated[
    str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["fablab@ville.fr"])
]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Paris')")
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_zone), Field(examples=["Europe/Paris"])]
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# The school-holiday zones of metropolitan France.
SchoolZone = Literal["A", "B", "C"]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos are reported rather than ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlaceCreate(Strict):
    """A new place."""

    slug: Annotated[str, Field(min_length=2, max_length=80, pattern=_SLUG.pattern)]
    name: Name
    address: Annotated[str, Field(min_length=1, max_length=300)]
    postcode: Postcode
    town: Annotated[str, Field(min_length=1, max_length=120)]
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    timezone: TimeZoneName = "Europe/Paris"
    phone: Annotated[str, Field(max_length=40)] | None = None
    email: Email | None = None
    website: HttpUrl | None = None
    description: Text = ""
    operator_name: Name
    operator_siret: Siret | None = None
    holiday_subdivision: Subdivision | None = None
    # School-holiday zone; null: the one of the postcode's département.
    school_zone: SchoolZone | None = None
    closed_on_public_holidays: bool = True
    # Where and when people pay on site, shown with every quote that offers it.
    on_site_payment: Annotated[str, Field(max_length=500)] = ""


class PlaceUpdate(Strict):
    """A partial change to a place: only the fields given are changed."""

    name: Name | None = None
    address: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    postcode: Postcode | None = None
    town: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    timezone: TimeZoneName | None = None
    phone: Annotated[str, Field(max_length=40)] | None = None
    email: Email | None = None
    website: HttpUrl | None = None
    description: Text | None = None
    operator_name: Name | None = None
    operator_siret: Siret | None = None
    holiday_subdivision: Subdivision | None = None
    school_zone: SchoolZone | None = None
    closed_on_public_holidays: bool | None = None
    active: bool | None = None
    # Hours before a booking its reminder is mailed (0: none); at most two weeks.
    reminder_hours: Annotated[int, Field(ge=0, le=336)] | None = None
    # Minutes before a booking the calendar files remind of it (0: none); at most a week.
    ics_alarm_minutes: Annotated[int, Field(ge=0, le=10080)] | None = None
    # The sender of the place's e-mails (null: the instance's).
    mail_from: Email | None = None
    # Where and when people pay on site, shown with every quote that offers it.
    on_site_payment: Annotated[str, Field(max_length=500)] | None = None
    # Release a booking nobody checked in this many minutes after its start (null: never).
    no_show_release_minutes: Annotated[int, Field(ge=5, le=1440)] | None = None


class OpeningSpan(Strict):
    """A weekly opening span in local time (``closes`` 00:00 means midnight, end of the day)."""

    weekday: Annotated[int, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")]
    opens: time
    closes: time


class OpeningHoursUpdate(Strict):
    """The complete weekly schedule of a place (replaces the previous one)."""

    spans: Annotated[list[OpeningSpan], Field(max_length=70)]


class LocalSpan(BaseModel):
    """Local opening and closing times of one span of a day."""

    opens: time
    closes: time


class PlaceExceptionWrite(Strict):
    """A closure (``closed``) or special opening hours for one day."""

    closed: bool
    spans: Annotated[list[LocalSpan], Field(max_length=10)] = []
    reason: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _spans_match_closed(self) -> PlaceExceptionWrite:
        if self.closed and self.spans:
            raise ValueError("a closed day has no opening spans")
        if not self.closed and not self.spans:
            raise ValueError("a special opening needs at least one span")
        return self


class PlaceExceptionRead(BaseModel):
    """A dated exception to a place's weekly hours."""

    day: date
    closed: bool
    spans: list[LocalSpan]
    reason: str


class ResourceCreate(Strict):
    """A new resource at a place."""

    name: Name
    kind: ResourceKind
    description: Text = ""
    photo_url: HttpUrl | None = None
    capacity: Annotated[int, Field(ge=1, le=1000, description="number of identical units")] = 1
    slot_minutes: Annotated[int, Field(ge=5, le=1440)] = 30
    min_minutes: Annotated[int, Field(ge=5, le=10080)] = 30
    max_minutes: Annotated[int, Field(ge=5, le=10080)] | None = 480
    buffer_minutes: Annotated[int, Field(ge=0, le=1440)] = 0
    min_notice_minutes: Annotated[int, Field(ge=0, le=43200)] = 60
    max_advance_days: Annotated[int, Field(ge=1, le=730)] = 90
    required_training_id: int | None = Field(
        default=None, description="a training of the same place that bookers must hold"
    )
    requires_approval: bool = False
    members_only: bool = Field(
        default=False, description="only members of the place (a plan with members' access)"
    )

    @model_validator(mode="after")
    def _durations_consistent(self) -> ResourceCreate:
        check_durations(self.slot_minutes, self.min_minutes, self.max_minutes)
        return self


class ResourceUpdate(Strict):
    """A partial change to a resource."""

    name: Name | None = None
    kind: ResourceKind | None = None
    description: Text | None = None
    photo_url: HttpUrl | None = None
    capacity: Annotated[int, Field(ge=1, le=1000)] | None = None
    active: bool | None = None
    slot_minutes: Annotated[int, Field(ge=5, le=1440)] | None = None
    min_minutes: Annotated[int, Field(ge=5, le=10080)] | None = None
    max_minutes: Annotated[int, Field(ge=5, le=10080)] | None = None
    buffer_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    min_notice_minutes: Annotated[int, Field(ge=0, le=43200)] | None = None
    max_advance_days: Annotated[int, Field(ge=1, le=730)] | None = None
    required_training_id: int | None = None
    requires_approval: bool | None = None
    members_only: bool | None = None


def check_durations(slot: int, minimum: int, maximum: int | None) -> None:
    """Durations must sit on the slot grid: min >= slot, max >= min, both multiples of slot."""
    if minimum < slot or minimum % slot:
        raise ValueError("min_minutes must be a multiple of slot_minutes")
    if maximum is not None and (maximum < minimum or maximum % slot):
        raise ValueError("max_minutes must be a multiple of slot_minutes and >= min_minutes")


class ResourceRead(BaseModel):
    """A resource as the public sees it."""

    id: int
    place_id: int
    name: str
    kind: ResourceKind
    description: str
    photo_url: str | None
    capacity: int
    active: bool
    slot_minutes: int
    min_minutes: int
    max_minutes: int | None
    buffer_minutes: int
    min_notice_minutes: int
    max_advance_days: int
    required_training_id: int | None
    requires_approval: bool
    members_only: bool = False


class PlaceSummary(BaseModel):
    """A place in a list."""

    id: int
    slug: str
    name: str
    address: str
    postcode: str
    town: str
    latitude: float | None
    longitude: float | None
    timezone: str
    resource_kinds: list[str]
    active: bool


class PlaceRead(PlaceSummary):
    """A place with everything the public may know about it."""

    phone: str | None
    email: str | None
    website: str | None
    description: str
    operator_name: str
    operator_siret: str | None
    holiday_subdivision: str | None
    school_zone: str | None
    closed_on_public_holidays: bool
    on_site_payment: str
    # Minutes after its start a booking nobody checked in is released (null: never).
    no_show_release_minutes: int | None = None
    opening_hours: list[OpeningSpan]
    opening_hours_osm: str
    resources: list[ResourceRead]
    updated_at: datetime


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class BlackoutCreate(Strict):
    """A maintenance window for a resource."""

    starts_at: UtcDatetime
    ends_at: UtcDatetime
    reason: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> BlackoutCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class BlackoutRead(BaseModel):
    """A maintenance window."""

    id: int
    resource_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


class OpenSpanRead(BaseModel):
    """An interval during which a place is open."""

    starts_at: datetime
    ends_at: datetime


class HolidayRead(BaseModel):
    """A public holiday at a place."""

    day: date
    name: str
