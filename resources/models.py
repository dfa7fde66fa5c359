"""Catalogue tables: places, their opening hours and exceptions, resources, units, blackouts."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class Place(SQLModel, table=True):
    """A fablab, tiers-lieu or media library that lends equipment and spaces."""

    __tablename__ = "place"
    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="ck_place_lat"),
        CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="ck_place_lon"
        ),
        CheckConstraint("reminder_hours BETWEEN 0 AND 336", name="ck_place_reminder_hours"),
        CheckConstraint(
            "waitlist_offer_minutes BETWEEN 5 AND 10080", name="ck_place_waitlist_offer_minutes"
        ),
        CheckConstraint(
            "school_zone IS NULL OR school_zone IN ('A', 'B', 'C')", name="ck_place_school_zone"
        ),
        CheckConstraint("ics_alarm_minutes BETWEEN 0 AND 10080", name="ck_place_ics_alarm_minutes"),
        CheckConstraint(
            "no_show_release_minutes IS NULL OR no_show_release_minutes BETWEEN 5 AND 1440",
            name="ck_place_no_show_release_minutes",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True, index=True)
    name: str = Field(max_length=200)
    address: str = Field(max_length=300)
    postcode: str = Field(max_length=10, index=True)
    town: str = Field(max_length=120, index=True)
    latitude: float | None = None
    longitude: float | None = None
    timezone: str = Field(default="Europe/Paris", max_length=64)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    website: str | None = Field(default=None, max_length=500)
    description: str = Field(default="", max_length=5000)
    operator_name: str = Field(max_length=200)
    operator_siret: str | None = Field(default=None, max_length=14)
    # Département code for regional holidays (e.g. "57" for Moselle); None = national only.
    holiday_subdivision: str | None = Field(default=None, max_length=3)
    closed_on_public_holidays: bool = True
    # School-holiday zone (A, B or C); None: the one of the postcode's département.
    school_zone: str | None = Field(default=None, max_length=1)
    # Hours before a booking its reminder is sent (0: none).
    reminder_hours: int = Field(default=24, sa_column_kwargs={"server_default": "24"})
    # The sender of the place's messages (the instance's when unset).
    mail_from: str | None = Field(default=None, max_length=254)
    # How long a waitlist offer holds the freed units for the next in line.
    waitlist_offer_minutes: int = Field(default=120, sa_column_kwargs={"server_default": "120"})
    # Where and when a person pays on site ("at the desk, before the session"), shown with quotes.
    on_site_payment: str = Field(
        default="", max_length=500, sa_column_kwargs={"server_default": ""}
    )
    # Minutes before a booking the calendar reminds of it (VALARM of its .ics; 0: none).
    ics_alarm_minutes: int = Field(default=60, sa_column_kwargs={"server_default": "60"})
    # Release a booking nobody checked in this many minutes after its start (None: never).
    no_show_release_minutes: int | None = None
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class OpeningHour(SQLModel, table=True):
    """One weekly opening span of a place, in the place's local time (weekday 0 = Monday)."""

    __tablename__ = "opening_hour"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_opening_hour_weekday"),
        Index("ix_opening_hour_place_weekday", "place_id", "weekday"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE")
    weekday: int
    opens: time
    closes: time


class PlaceException(SQLModel, table=True):
    """A dated closure or special opening that replaces a place's weekly hours for one day."""

    __tablename__ = "place_exception"
    __table_args__ = (UniqueConstraint("place_id", "day", name="uq_place_exception_day"),)

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    day: date
    closed: bool
    # [["09:00", "12:00"], ...] when open with special hours.
    spans: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str = Field(default="", max_length=200)


class Resource(SQLModel, table=True):
    """Something to book at a place: a machine, a space, a pool of seats, a network access."""

    __tablename__ = "resource"
    __table_args__ = (
        CheckConstraint("capacity >= 1 AND capacity <= 1000", name="ck_resource_capacity"),
        CheckConstraint("slot_minutes >= 5", name="ck_resource_slot"),
        CheckConstraint("min_minutes >= slot_minutes", name="ck_resource_min"),
        CheckConstraint(
            "max_minutes IS NULL OR max_minutes >= min_minutes", name="ck_resource_max"
        ),
        CheckConstraint("buffer_minutes >= 0", name="ck_resource_buffer"),
        Index("ix_resource_place_kind", "place_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT")
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    description: str = Field(default="", max_length=5000)
    photo_url: str | None = Field(default=None, max_length=500)
    capacity: int = 1
    active: bool = True
    slot_minutes: int = 30
    min_minutes: int = 30
    max_minutes: int | None = 480
    buffer_minutes: int = 0
    min_notice_minutes: int = 60
    max_advance_days: int = 90
    required_training_id: int | None = Field(
        default=None, foreign_key="training.id", ondelete="SET NULL"
    )
    # Bookings of this resource wait for a manager's approval.
    requires_approval: bool = False
    # Booked only by members of the place (a plan with members' access; migration 0038).
    members_only: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    created_at: datetime = created_at_field()


class ResourceUnit(SQLModel, table=True):
    """One bookable copy of a resource: a pool of 12 seats has 12 units."""

    __tablename__ = "resource_unit"
    __table_args__ = (UniqueConstraint("resource_id", "position", name="uq_resource_unit_pos"),)

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", ondelete="CASCADE", index=True)
    position: int
    label: str = Field(max_length=100)
    active: bool = True


class Blackout(SQLModel, table=True):
    """A maintenance window during which a resource cannot be booked."""

    __tablename__ = "blackout"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ck_blackout_range"),
        Index("ix_blackout_resource_start", "resource_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="resource.id", ondelete="CASCADE")
    starts_at: datetime = utc_column()
    ends_at: datetime = utc_column()
    reason: str = Field(default="", max_length=200)


class Photo(SQLModel, table=True):
    """The picture of a place (no resource) or of one of its resources; files in photo storage."""

    __tablename__ = "photo"
    __table_args__ = (
        Index(
            "uq_photo_place",
            "place_id",
            unique=True,
            postgresql_where=text("resource_id IS NULL"),
        ),
        Index(
            "uq_photo_resource",
            "resource_id",
            unique=True,
            postgresql_where=text("resource_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE")
    resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="CASCADE")
    # The stored files' name: a new upload gets a new key, so cached copies never go stale.
    key: str = Field(max_length=80, unique=True)
    alt: str = Field(max_length=300)
    width: int
    height: int
    created_at: datetime = created_at_field()


class CatalogueRevision(SQLModel, table=True):
    """One counter that database triggers move on every change to what bookings check.

    Places, resources, units, opening hours, exceptions and booking policies bump it in the
    transaction that changes them, so a worker may keep a copy of them in memory and trust it
    for as long as the counter it read first has not moved (see :mod:`booking.snapshots`).
    """

    __tablename__ = "catalogue_revision"
    __table_args__ = (CheckConstraint("id = 1", name="ck_catalogue_revision_single"),)

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0, sa_type=BigInteger)


class Commune(SQLModel, table=True):
    """A French commune, from the official geographic code: where a town typed on the search
    lies when no place is there (reference rows, loaded by :mod:`resources.commune_data`)."""

    __tablename__ = "commune"
    __table_args__ = (
        Index(
            "ix_commune_search_name",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
        Index("ix_commune_postcodes", "postcodes", postgresql_using="gin"),
        CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="ck_commune_lat"),
        CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="ck_commune_lon"
        ),
    )

    # The INSEE code (2A004, 75101 for an arrondissement of Paris).
    code: str = Field(primary_key=True, max_length=5)
    name: str = Field(max_length=100)
    # The name as the search compares it (resources.place_search.normalised), set in SQL.
    search_name: str = Field(max_length=100)
    department: str = Field(max_length=3)
    postcodes: list[str] = Field(sa_column=Column(ARRAY(String(5)), nullable=False))
    population: int = 0
    latitude: float | None = None
    longitude: float | None = None
    # True when the centre is the middle of the neighbours sharing its postcode or
    # intercommunality (the gazetteer has no point of its own for it).
    centre_approximate: bool = False
