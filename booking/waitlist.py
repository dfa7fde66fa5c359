"""The waitlist of a full slot: who waits for units of a resource over a range, in line.

An entry is ``waiting`` until units free up (a cancellation, an expired hold, a refusal, a
move, a blackout lifted); the first waiting entry whose range then fits gets an *offer*: a
booking held for it (``offered``, the hold lasting the place's ``waitlist_offer_minutes``).
Confirming the held booking makes the entry ``booked``; a hold that lapses makes it
``lapsed`` and the units go to the next in line; the user may leave (``withdrawn``) at any
time. The line is by ``created_at`` (then id).

``waitlist_event`` records every event the waitlist handled, under the event's key: a re-run
of an event (at least once delivery) finds its key and does nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class WaitlistStatus(StrEnum):
    """Where an entry stands (the value stored in ``waitlist_entry.status``)."""

    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    LAPSED = "lapsed"
    WITHDRAWN = "withdrawn"


WAITLIST_STATUSES: tuple[str, ...] = tuple(s.value for s in WaitlistStatus)
# Entries still in line (waiting) or holding an offer: what managers see, what a user may leave.
LIVE_STATUSES: tuple[str, ...] = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
_LIVE_SQL = "status IN ('waiting', 'offered')"


class WaitlistEntry(SQLModel, table=True):
    """A user waiting for ``quantity`` units of a resource over ``[starts_at, ends_at)``."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'offered', 'booked', 'lapsed', 'withdrawn')",
            name="ck_waitlist_entry_status",
        ),
        CheckConstraint("ends_at > starts_at", name="ck_waitlist_entry_range"),
        CheckConstraint("quantity > 0", name="ck_waitlist_entry_quantity"),
        CheckConstraint(
            "status <> 'offered' OR offer_booking_id IS NOT NULL",
            name="ck_waitlist_entry_offer",
        ),
        # One live entry per person and slot: joining twice is answered with the first.
        Index(
            "uq_waitlist_entry_live",
            "user_id",
            "resource_id",
            "starts_at",
            "ends_at",
            unique=True,
            postgresql_where=text(_LIVE_SQL),
        ),
        # The line of a resource: live entries by arrival.
        Index(
            "ix_waitlist_entry_line",
            "resource_id",
            "created_at",
            postgresql_where=text(_LIVE_SQL),
        ),
        Index("ix_waitlist_entry_place_start", "place_id", "starts_at"),
        Index("ix_waitlist_entry_user", "user_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE")
    resource_id: int = Field(foreign_key="resource.id", ondelete="CASCADE")
    quantity: int = 1
    starts_at: datetime = utc_column()
    ends_at: datetime = utc_column()
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="CASCADE"
    )
    status: str = Field(default=WaitlistStatus.WAITING, max_length=20)
    # The booking held for the entry once offered (kept afterwards, as history).
    offer_booking_id: int | None = Field(
        default=None, foreign_key="booking.id", ondelete="SET NULL", unique=True
    )
    offered_at: datetime | None = utc_column(nullable=True)
    offer_expires_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class WaitlistEvent(SQLModel, table=True):
    """An event the waitlist handled (its key), so that a re-run does nothing twice."""

    __tablename__ = "waitlist_event"

    key: str = Field(primary_key=True, max_length=200)
    handled_at: datetime = created_at_field()
