"""Coupon tables: the codes a place offers, and each use of one by a booking.

``coupon.uses`` counts the uses not given back; it moves only by one conditional statement
(``billing.coupon_repository``), so the last use cannot be spent twice, and a check constraint
keeps it within ``max_uses``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class Coupon(SQLModel, table=True):
    """A code of a place: a percentage (hundredths of a percent) or an amount incl. VAT off."""

    __tablename__ = "coupon"
    __table_args__ = (
        UniqueConstraint("place_id", "code", name="uq_coupon_code"),
        CheckConstraint("(percent_bp IS NULL) <> (amount_cents IS NULL)", name="ck_coupon_kind"),
        CheckConstraint(
            "percent_bp IS NULL OR (percent_bp > 0 AND percent_bp <= 10000)",
            name="ck_coupon_percent",
        ),
        CheckConstraint(
            "amount_cents IS NULL OR (amount_cents > 0 AND amount_cents <= 100000000)",
            name="ck_coupon_amount",
        ),
        CheckConstraint(
            "uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="ck_coupon_uses"
        ),
        CheckConstraint(
            "(max_uses IS NULL OR max_uses > 0) "
            "AND (max_uses_per_person IS NULL OR max_uses_per_person > 0)",
            name="ck_coupon_limits",
        ),
        CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until",
            name="ck_coupon_dates",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    # Upper case, as typed codes are compared.
    code: str = Field(max_length=32)
    description: str = Field(default="", max_length=200)
    percent_bp: int | None = None
    amount_cents: int | None = None
    # Days of the place's zone, both included; NULL: open.
    valid_from: date | None = None
    valid_until: date | None = None
    max_uses: int | None = None
    max_uses_per_person: int | None = None
    uses: int = 0
    # Empty: every user type, every resource.
    user_types: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    resource_ids: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The plans it discounts (migration 0043); a coupon naming plans is for subscribing to
    # them, not for bookings; one naming none is not for plans.
    plan_ids: list[Any] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class CouponRedemption(SQLModel, table=True):
    """One use of a coupon, by the payment of one booking or by the charge of a membership's
    first period; given back (``released_at``) when it ended with nothing paid."""

    __tablename__ = "coupon_redemption"
    __table_args__ = (
        CheckConstraint(
            "(payment_id IS NULL) <> (plan_charge_id IS NULL) "
            "AND (booking_id IS NULL) = (payment_id IS NULL)",
            name="ck_coupon_redemption_subject",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    coupon_id: int = Field(foreign_key="coupon.id", ondelete="RESTRICT", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", ondelete="RESTRICT")
    payment_id: int | None = Field(
        default=None, foreign_key="payment.id", ondelete="RESTRICT", unique=True
    )
    plan_charge_id: int | None = Field(
        default=None, foreign_key="plan_charge.id", ondelete="RESTRICT", unique=True
    )
    # What the coupon took off, VAT included.
    discount_cents: int
    created_at: datetime = created_at_field()
    released_at: datetime | None = utc_column(nullable=True)
