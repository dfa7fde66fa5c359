"""Closures and maintenance blackouts as managers ask for them, and the bookings they hit."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from booking.schemas import AgendaEntry, Strict
from kernel.types import UtcDatetime
from resources.schemas import BlackoutRead, LocalSpan, PlaceExceptionRead

# A closure longer than this is a change of opening hours, not a closure.
MAX_CLOSURE_DAYS = 62
BookingIds = Annotated[
    list[int],
    Field(
        max_length=1000,
        description="bookings hit by the change that the place cancels (a full refund, or a "
        "credit note where an invoice was issued; the person is told by e-mail)",
    ),
]


class ClosureRequest(Strict):
    """A closure of one day or a range of days, or special hours on one day."""

    first_day: date
    last_day: date | None = Field(
        default=None, description="the last closed day (default: first_day)"
    )
    spans: Annotated[list[LocalSpan], Field(max_length=10)] = Field(
        default_factory=list,
        description="open only at these local hours (one day only); empty: closed all day",
    )
    reason: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _coherent(self) -> ClosureRequest:
        last = self.last_day or self.first_day
        if last < self.first_day:
            raise ValueError("last_day must not be before first_day")
        if (last - self.first_day).days >= MAX_CLOSURE_DAYS:
            raise ValueError(f"a closure lasts at most {MAX_CLOSURE_DAYS} days")
        if self.spans and last != self.first_day:
            raise ValueError("special hours are set one day at a time")
        return self


class ClosureCreate(ClosureRequest):
    """A closure to apply, with the decision on each booking it hits."""

    cancel_booking_ids: BookingIds = Field(default_factory=list)


class ExceptionCreate(Strict):
    """One day's closure or special hours (``PUT /exceptions/{day}``), with the decision on the
    bookings it hits."""

    closed: bool
    spans: Annotated[list[LocalSpan], Field(max_length=10)] = Field(default_factory=list)
    reason: Annotated[str, Field(max_length=200)] = ""
    cancel_booking_ids: BookingIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _spans_match_closed(self) -> ExceptionCreate:
        if self.closed and self.spans:
            raise ValueError("a closed day has no opening spans")
        if not self.closed and not self.spans:
            raise ValueError("a special opening needs at least one span")
        return self


class BlackoutRequest(Strict):
    """A maintenance window of a resource."""

    starts_at: UtcDatetime
    ends_at: UtcDatetime
    reason: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _ordered(self) -> BlackoutRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class BlackoutApply(BlackoutRequest):
    """A maintenance window to apply, with the decision on each booking it hits."""

    cancel_booking_ids: BookingIds = Field(default_factory=list)


class ClosurePreview(BaseModel):
    """The bookings a closure or blackout would hit: each needs a decision (cancel or move)."""

    affected: list[AgendaEntry]


class ClosureApplied(BaseModel):
    """A closure applied: its days, and the bookings the place cancelled for it."""

    days: list[PlaceExceptionRead]
    cancelled: list[AgendaEntry]


class BlackoutApplied(BaseModel):
    """A maintenance window applied, and the bookings the place cancelled for it."""

    blackout: BlackoutRead
    cancelled: list[AgendaEntry]
