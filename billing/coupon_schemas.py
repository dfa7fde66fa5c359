"""Request and response models of coupons."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from billing.schemas import Strict

CouponCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_-]{3,32}$",
        description="3 to 32 letters, digits, - or _; compared in upper case",
    ),
]


class CouponWrite(Strict):
    """A coupon of a place: a percentage or an amount (incl. VAT) off, within limits."""

    code: CouponCode
    description: Annotated[str, Field(max_length=200)] = ""
    percent: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)] | None = None
    amount_cents: Annotated[int, Field(ge=1, le=100_000_000)] | None = Field(
        default=None, description="off the booking, VAT included"
    )
    valid_from: date | None = Field(default=None, description="first day, in the place's zone")
    valid_until: date | None = Field(default=None, description="last day, in the place's zone")
    max_uses: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    max_uses_per_person: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    user_types: Annotated[list[str], Field(max_length=20)] = Field(
        default_factory=list, description="empty: every user type"
    )
    resource_ids: Annotated[list[int], Field(max_length=200)] = Field(
        default_factory=list, description="empty: every resource of the place"
    )
    plan_ids: Annotated[list[int], Field(max_length=200)] = Field(
        default_factory=list,
        description=(
            "membership plans it discounts (the first period of a subscription); a coupon "
            "naming plans is not for bookings, one naming none is not for plans"
        ),
    )
    active: bool = True


class CouponRead(BaseModel):
    """A coupon as its place's managers see it, with how many uses it has left."""

    id: int
    place_id: int
    code: str
    description: str
    percent: str | None
    amount_cents: int | None
    valid_from: date | None
    valid_until: date | None
    max_uses: int | None
    max_uses_per_person: int | None
    uses: int
    user_types: list[str]
    resource_ids: list[int]
    plan_ids: list[int]
    active: bool
    created_at: datetime
    updated_at: datetime


class CouponUseRead(BaseModel):
    """One use of a coupon: who, which booking (or membership period), how much it took off."""

    id: int
    user_id: int
    display_name: str
    email: str
    booking_id: int | None
    payment_id: int | None
    plan_charge_id: int | None = None
    discount_cents: int
    created_at: datetime
    released_at: datetime | None
