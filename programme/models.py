"""Programme tables: sessions, the resources they occupy, and registrations.

A session is one dated occurrence (a publication with several dates or a recurrence makes one
session per date, sharing a ``series_key``). Its resources are booked by one booking of the
place (``booking.place_use``), so a session and a booking can never overlap. Seats are counted
in ``seats_taken``, changed only by one conditional ``UPDATE`` (``programme.repository``):
``ck_programme_session_seats`` is the backstop that never lets it pass ``seats``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, text
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class SessionKind(StrEnum):
    WORKSHOP = "workshop"
    TRAINING = "training"
    EVENT = "event"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(v.value)) for v in values)})"


class ProgrammeSession(SQLModel, table=True):
    """One dated session of a place's programme."""

    __tablename__ = "programme_session"
    __table_args__ = (
        CheckConstraint(_in("kind", SessionKind), name="ck_programme_session_kind"),
        CheckConstraint(_in("status", SessionStatus), name="ck_programme_session_status"),
        CheckConstraint("ends_at > starts_at", name="ck_programme_session_range"),
        CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= seats", name="ck_programme_session_seats"
        ),
        CheckConstraint(
            "seats >= 1 AND seats <= 1000 AND min_attendance >= 0 AND min_attendance <= seats",
            name="ck_programme_session_attendance",
        ),
        CheckConstraint(
            "kind <> 'training' OR training_id IS NOT NULL",
            name="ck_programme_session_training",
        ),
        Index("ix_programme_session_place_start", "place_id", "starts_at"),
        Index("ix_programme_session_status_check", "status", "minimum_check_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT")
    # The sessions published together (several dates, a recurrence).
    series_key: str = Field(max_length=32, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    kind: str = Field(max_length=20)
    starts_at: datetime = utc_column()
    ends_at: datetime = utc_column()
    seats: int
    seats_taken: int = 0
    min_attendance: int = 0
    # Registrations close then (a person may still give up their seats until the start).
    registration_deadline: datetime = utc_column()
    # When the minimum is checked: below it then, the session is cancelled by the workers.
    minimum_check_at: datetime = utc_column()
    training_id: int | None = Field(default=None, foreign_key="training.id", ondelete="RESTRICT")
    # [{"resource_id": 3, "quantity": 1}]: what it occupies, booked by ``booking_id``.
    resources: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # The place's booking of the resources it occupies (None: it occupies none).
    booking_id: int | None = Field(
        default=None, foreign_key="booking.id", ondelete="RESTRICT", unique=True
    )
    # Ticket prices per user type ("*": any other), excl. VAT, with the VAT-included price
    # shown: [{"user_type": "citizen", "price_cents": 1250, "price_incl_vat_cents": 1500}].
    # Written by billing (which computes VAT); none, or all at 0: the session is free.
    ticket_prices: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
    ticket_vat_kind: str = Field(
        default="taxable", max_length=20, sa_column_kwargs={"server_default": text("'taxable'")}
    )
    ticket_vat_rate_bp: int = Field(default=2000, sa_column_kwargs={"server_default": text("2000")})
    ticket_vat_mention: str | None = Field(default=None, max_length=300)
    # Some ticket costs money (the programme's free/paid filter).
    priced: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    status: str = Field(
        default=SessionStatus.SCHEDULED,
        max_length=20,
        sa_column_kwargs={"server_default": text("'scheduled'")},
    )
    status_reason: str = Field(default="", max_length=300)
    created_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    cancelled_at: datetime | None = utc_column(nullable=True)


class Registration(SQLModel, table=True):
    """A person's seats at a session (a teacher registers a group: several seats)."""

    __tablename__ = "programme_registration"
    __table_args__ = (
        CheckConstraint(_in("status", RegistrationStatus), name="ck_programme_registration_status"),
        CheckConstraint("seats >= 1 AND seats <= 100", name="ck_programme_registration_seats"),
        # One live registration (or place in the waitlist) per person and session.
        Index(
            "uq_programme_registration_live",
            "session_id",
            "user_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("ix_programme_registration_session_status", "session_id", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="programme_session.id", ondelete="RESTRICT")
    user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    seats: int = 1
    status: str = Field(max_length=20)
    created_at: datetime = created_at_field()
    cancelled_at: datetime | None = utc_column(nullable=True)
    cancel_reason: str = Field(default="", max_length=300)
    attended_at: datetime | None = utc_column(nullable=True)
    attended_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )


__all__ = [
    "ProgrammeSession",
    "Registration",
    "RegistrationStatus",
    "SessionKind",
    "SessionStatus",
]
