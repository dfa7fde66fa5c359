"""Booking tables: bookings, their items and unit allocations, series and booking policies.

No double booking is a property of ``booking_allocation``: one row per booked unit, and on
PostgreSQL an exclusion constraint (added by hand in migration 0002, see ``EXCLUSION``) forbids
two active rows of the same unit whose ``[starts_at, blocked_until)`` ranges overlap.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, text
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class BookingStatus(StrEnum):
    """A booking's status: one spelling each (the value stored in ``booking.status``)."""

    HELD = "held"
    PENDING_APPROVAL = "pending_approval"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REFUSED = "refused"
    EXPIRED = "expired"
    # Not checked in some minutes after its start: released by the place (its units freed).
    NO_SHOW = "no_show"


BOOKING_STATUSES: tuple[str, ...] = tuple(s.value for s in BookingStatus)
# Statuses whose units stay blocked (a hold only until it expires).
ACTIVE_STATUSES: tuple[str, ...] = (
    BookingStatus.HELD,
    BookingStatus.PENDING_APPROVAL,
    BookingStatus.CONFIRMED,
)
SERIES_MODES = ("all_or_nothing", "skip_conflicts")

# PostgreSQL-only objects created by hand in migration 0002 (autogenerate cannot express them).
EXCLUSION_NAME = "ex_allocation_no_overlap"
EXCLUSION = (
    f"ALTER TABLE booking_allocation ADD CONSTRAINT {EXCLUSION_NAME} "
    "EXCLUDE USING gist (unit_id WITH =, tstzrange(starts_at, blocked_until, '[)') WITH &&) "
    "WHERE (active)"
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class BookingSeries(SQLModel, table=True):
    """Bookings made from one recurrence rule, expanded in the place's local time."""

    __tablename__ = "booking_series"
    __table_args__ = (
        CheckConstraint(_in("mode", SERIES_MODES), name="ck_booking_series_mode"),
        CheckConstraint("duration_minutes > 0", name="ck_booking_series_duration"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT", index=True)
    booker_user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="RESTRICT", index=True
    )
    user_type_code: str = Field(foreign_key="user_type.code", max_length=40)
    rule: str = Field(max_length=500)
    first_date: date
    local_start: time
    duration_minutes: int
    timezone: str = Field(max_length=64)
    exdates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [{"resource_id": 3, "quantity": 12}, ...]: what every occurrence books.
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    mode: str = Field(max_length=20)
    notes: str = Field(default="", max_length=1000)
    cancelled_from: date | None = None
    # Local dates beyond the booking horizon when the series was made: the workers book them
    # once the horizon reaches them (booking.service.series.Series.book_pending).
    pending_dates: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
    # How the dates booked later are billed: as the first ones were (billing.series).
    payment_method: str | None = Field(default=None, max_length=20)
    purchase_order: str | None = Field(default=None, max_length=100)
    created_at: datetime = created_at_field()


class Booking(SQLModel, table=True):
    """Units of one or more resources of a place for a time range, for a user or organisation."""

    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint(_in("status", BOOKING_STATUSES), name="ck_booking_status"),
        CheckConstraint("ends_at > starts_at", name="ck_booking_range"),
        CheckConstraint(
            "status <> 'held' OR hold_expires_at IS NOT NULL", name="ck_booking_hold_expiry"
        ),
        Index("ix_booking_place_start", "place_id", "starts_at"),
        Index("ix_booking_booker_start", "booker_user_id", "starts_at"),
        Index("ix_booking_organisation_start", "organisation_id", "starts_at"),
        Index("ix_booking_status_hold", "status", "hold_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT")
    booker_user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT")
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="RESTRICT"
    )
    # The rate key at booking time (the organisation's type when booking on its behalf).
    user_type_code: str = Field(foreign_key="user_type.code", max_length=40)
    status: str = Field(max_length=20)
    hold_expires_at: datetime | None = utc_column(nullable=True)
    starts_at: datetime = utc_column()
    ends_at: datetime = utc_column()
    series_id: int | None = Field(
        default=None, foreign_key="booking_series.id", ondelete="RESTRICT", index=True
    )
    # +1 on every change: the iCalendar SEQUENCE of the booking's event.
    sequence: int = 0
    notes: str = Field(default="", max_length=1000)
    # Why a manager refused it, or why it was cancelled.
    status_reason: str = Field(default="", max_length=500)
    decided_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    decided_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    cancelled_at: datetime | None = utc_column(nullable=True)
    cancelled_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    # When the person arrived (marked by staff, or by the person at the place's kiosk).
    checked_in_at: datetime | None = utc_column(nullable=True)
    checked_in_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    # The place occupies its own resources (a session of its programme, migration 0041):
    # booked by one of its managers through the same units, never priced, never a no-show.
    place_use: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


def draft_booking(**values: Any) -> Booking:
    """A booking not stored yet, from values already checked (``booking.admission``).

    SQLModel's constructor validates and sets each of the 22 fields through two layers of
    instrumentation: about 50 µs of every booking request. This builds the same instance, its
    ORM state included (the id and reference set after the insert are tracked as usual), in
    about 9 µs: pydantic's unvalidated constructor, then SQLAlchemy's instance set-up.
    """
    configure_mappers()  # at once when done: attribute access needs configured mappers
    booking = Booking.model_construct(**values)
    manager_of_class(Booking).setup_instance(booking)
    return booking


class BookingItem(SQLModel, table=True):
    """A resource and how many of its units a booking takes."""

    __tablename__ = "booking_item"
    __table_args__ = (
        UniqueConstraint("booking_id", "resource_id", name="uq_booking_item_resource"),
        CheckConstraint("quantity > 0", name="ck_booking_item_quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: uq_booking_item_resource (booking_id, resource_id) serves it, and
    # one index fewer is one write fewer per booking.
    booking_id: int = Field(foreign_key="booking.id", ondelete="CASCADE")
    resource_id: int = Field(foreign_key="resource.id", ondelete="RESTRICT", index=True)
    quantity: int


class BookingAllocation(SQLModel, table=True):
    """One unit held by a booking over ``[starts_at, blocked_until)`` (cool-down included)."""

    __tablename__ = "booking_allocation"
    __table_args__ = (
        CheckConstraint("blocked_until > starts_at", name="ck_booking_allocation_range"),
        # Availability: active allocations of a resource by start, a partial, covering index.
        # Queries bound starts_at from below (a booking never blocks longer than MAX_BLOCKED),
        # so this stays a range scan with a million rows.
        Index(
            "ix_booking_allocation_resource_start",
            "resource_id",
            "starts_at",
            postgresql_include=["blocked_until"],
            postgresql_where=text("active"),
        ),
        Index("ix_booking_allocation_unit_start", "unit_id", "starts_at"),
        # Live holds of a resource by start: the few rows book_units() reads to find the
        # lapsed holds in a new booking's way (migration 0048).
        Index(
            "ix_booking_allocation_hold",
            "resource_id",
            "starts_at",
            postgresql_where=text("active AND hold_expires_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", ondelete="CASCADE", index=True)
    item_id: int = Field(foreign_key="booking_item.id", ondelete="CASCADE", index=True)
    resource_id: int = Field(foreign_key="resource.id", ondelete="RESTRICT")
    unit_id: int = Field(foreign_key="resource_unit.id", ondelete="RESTRICT")
    starts_at: datetime = utc_column()
    blocked_until: datetime = utc_column()
    active: bool = True
    # Copy of the booking's hold expiry, so expired holds are released without a join.
    hold_expires_at: datetime | None = utc_column(nullable=True)


class BookingPolicy(SQLModel, table=True):
    """Booking rules of a place, optionally narrowed to a resource and/or a user type.

    For each field the most specific policy that sets it wins (resource and user type, then
    resource, then user type, then the whole place); unset fields fall back to the resource's
    own columns or to the defaults of :mod:`booking.rules`.
    """

    __tablename__ = "booking_policy"
    __table_args__ = (
        CheckConstraint(
            "max_advance_days IS NULL OR max_advance_days >= 1", name="ck_booking_policy_advance"
        ),
        CheckConstraint(
            "min_notice_minutes IS NULL OR min_notice_minutes >= 0",
            name="ck_booking_policy_notice",
        ),
        CheckConstraint(
            "weekly_quota_minutes IS NULL OR weekly_quota_minutes >= 0",
            name="ck_booking_policy_quota",
        ),
        CheckConstraint(
            "cancel_deadline_hours IS NULL OR cancel_deadline_hours >= 0",
            name="ck_booking_policy_deadline",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="CASCADE")
    user_type_code: str | None = Field(
        default=None, foreign_key="user_type.code", ondelete="CASCADE", max_length=40
    )
    max_advance_days: int | None = None
    min_notice_minutes: int | None = None
    weekly_quota_minutes: int | None = None
    requires_approval: bool | None = None
    cancel_deadline_hours: int | None = None
