"""Pack tables: prepaid hours a place sells, the packs people hold, and every movement of them.

A pack held (``pack_holding``) keeps the terms it was bought with (minutes, what it covers,
expiry): changing the product later changes no holding. Its balance never goes below zero: a
check constraint, and taking minutes by one conditional UPDATE (``billing.pack_repository``).
Each movement is a row, with the balance it left. A purchase is charged and invoiced as a plan
charge (``plan_charge.pack_holding_id``), in the place's one chain.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column

PACK_MOVEMENTS = ("bought", "used", "given_back", "expired")


class HoldingStatus(StrEnum):
    """A pack held: paid (or due on site, on invoice) and usable, not paid yet, or over."""

    PENDING = "pending"  # card: not paid yet, nothing to use
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # a card purchase never paid


HOLDING_STATUSES: tuple[str, ...] = tuple(s.value for s in HoldingStatus)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Pack(SQLModel, table=True):
    """Prepaid hours a place sells: for one resource, or every resource of a kind."""

    __tablename__ = "pack"
    __table_args__ = (
        CheckConstraint("(resource_id IS NULL) <> (resource_kind IS NULL)", name="ck_pack_target"),
        CheckConstraint("minutes > 0 AND minutes <= 527040", name="ck_pack_minutes"),
        CheckConstraint("price_cents >= 0 AND price_cents <= 100000000", name="ck_pack_price"),
        CheckConstraint(
            "(vat_kind = 'taxable' AND vat_rate_bp > 0 AND vat_rate_bp < 10000) "
            "OR (vat_kind <> 'taxable' AND vat_rate_bp = 0)",
            name="ck_pack_vat_rate",
        ),
        CheckConstraint(
            "(validity_days IS NULL) <> (valid_until IS NULL)", name="ck_pack_validity"
        ),
        CheckConstraint(
            "validity_days IS NULL OR (validity_days > 0 AND validity_days <= 3660)",
            name="ck_pack_validity_days",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    minutes: int
    resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="RESTRICT")
    resource_kind: str | None = Field(default=None, max_length=32)
    # The price excl. VAT, and its VAT regime (as a price list's).
    price_cents: int = 0
    vat_kind: str = Field(default="taxable", max_length=20)
    vat_rate_bp: int = 2000
    vat_mention: str | None = Field(default=None, max_length=300)
    # Valid this many days from the day of purchase (the place's zone), or up to a last day.
    validity_days: int | None = None
    valid_until: date | None = None
    # Who may buy: these user types (empty: every type).
    user_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class PackHolding(SQLModel, table=True):
    """A pack bought by a person (or for an organisation): its minutes left and its expiry."""

    __tablename__ = "pack_holding"
    __table_args__ = (
        CheckConstraint("balance_minutes >= 0", name="ck_pack_holding_balance"),
        CheckConstraint("balance_minutes <= minutes", name="ck_pack_holding_most"),
        CheckConstraint(_in("status", HOLDING_STATUSES), name="ck_pack_holding_status"),
        CheckConstraint(
            "(resource_id IS NULL) <> (resource_kind IS NULL)", name="ck_pack_holding_target"
        ),
        Index("ix_pack_holding_holder", "place_id", "user_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pack_id: int = Field(foreign_key="pack.id", ondelete="RESTRICT", index=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT")
    user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="RESTRICT", index=True
    )
    # The terms as bought.
    name: str = Field(max_length=120)
    minutes: int
    resource_id: int | None = Field(default=None, foreign_key="resource.id", ondelete="RESTRICT")
    resource_kind: str | None = Field(default=None, max_length=32)
    balance_minutes: int = 0
    status: str = Field(max_length=20)
    expires_at: datetime = utc_column()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class PackMovement(SQLModel, table=True):
    """One movement of a pack held: bought, used by a booking, given back by its cancellation,
    expired."""

    __tablename__ = "pack_movement"
    __table_args__ = (
        CheckConstraint(_in("kind", PACK_MOVEMENTS), name="ck_pack_movement_kind"),
        CheckConstraint("minutes <> 0", name="ck_pack_movement_minutes"),
        CheckConstraint("balance_after_minutes >= 0", name="ck_pack_movement_balance"),
    )

    id: int | None = Field(default=None, primary_key=True)
    holding_id: int = Field(foreign_key="pack_holding.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)
    # Credits positive, use and expiry negative.
    minutes: int
    balance_after_minutes: int
    booking_id: int | None = Field(
        default=None, foreign_key="booking.id", ondelete="RESTRICT", index=True
    )
    reason: str = Field(default="", max_length=300)
    created_at: datetime = created_at_field()
