"""Request and response models of packs of prepaid hours (never table models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from billing.plan_schemas import ChargeRead, PlanMethod, ReceiptMeans
from billing.schemas import Cents, Strict, UserTypeKey, VatRead, VatWrite
from resources.schemas import ResourceKind

HoldingState = Literal["pending", "active", "expired", "cancelled"]
MovementKind = Literal["bought", "used", "given_back", "expired"]


class PackWrite(Strict):
    """A pack of prepaid hours a place sells: what it covers, its price and validity."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: Annotated[str, Field(max_length=2000)] = ""
    minutes: Annotated[int, Field(gt=0, le=527040, description="prepaid minutes (600: 10 h)")]
    resource_id: int | None = Field(default=None, description="one resource of the place")
    resource_kind: ResourceKind | None = Field(default=None, description="or every one of a kind")
    price_cents: Cents
    amounts_include_vat: bool = Field(
        default=True, description="price_cents includes VAT (as a price list's amounts)"
    )
    vat: VatWrite = Field(default_factory=VatWrite)
    validity_days: Annotated[int, Field(gt=0, le=3660)] | None = Field(
        default=None, description="valid this many days from the day of purchase"
    )
    valid_until: date | None = Field(default=None, description="or up to this day, included")
    user_types: Annotated[list[UserTypeKey], Field(max_length=20)] = Field(
        default_factory=list, description="who may buy (empty: every user type)"
    )
    active: bool = True


class PackRead(BaseModel):
    """A pack a place sells."""

    id: int
    place_id: int
    name: str
    description: str
    minutes: int
    resource_id: int | None
    resource_kind: str | None
    price_cents: int
    price_incl_vat_cents: int
    vat: VatRead
    validity_days: int | None
    valid_until: date | None
    user_types: list[str]
    active: bool


class PurchaseRequest(Strict):
    """Buy a pack, for oneself or for an organisation one administers."""

    organisation_id: int | None = None
    payment_method: PlanMethod
    purchase_order: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class PackReceive(Strict):
    """Money received at the place for a pack bought on site."""

    means: ReceiptMeans


class PackMovementRead(BaseModel):
    """One movement of a pack held, with the balance it left."""

    id: int
    kind: MovementKind
    minutes: int
    balance_after_minutes: int
    booking_id: int | None
    reason: str
    created_at: datetime


class HoldingRead(BaseModel):
    """A pack held: minutes left, expiry, how it was paid, its history."""

    id: int
    pack_id: int
    place_id: int
    place_name: str
    user_id: int
    organisation_id: int | None
    # Who holds it, as a manager reads it: the organisation's name, else the person's.
    holder_name: str
    email: str
    name: str
    minutes: int
    resource_id: int | None
    resource_kind: str | None
    balance_minutes: int
    state: HoldingState
    expires_at: datetime
    # The last day it may be used (the place's zone).
    last_day: date
    created_at: datetime
    charge: ChargeRead | None
    movements: list[PackMovementRead]
