"""Request and response models of wallets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from billing.schemas import Strict


class WalletCredit(Strict):
    """Money a manager puts in a person's wallet at the place, with the reason."""

    email: Annotated[str, Field(min_length=3, max_length=254, description="the person's e-mail")]
    amount_cents: Annotated[int, Field(ge=1, le=10_000_000)]
    reason: Annotated[str, Field(min_length=1, max_length=300)]


class WalletMovementRead(BaseModel):
    """One movement of a wallet (credits positive, spending negative)."""

    id: int
    kind: str
    amount_cents: int
    balance_after_cents: int
    reason: str
    booking_id: int | None
    payment_id: int | None
    plan_charge_id: int | None = None
    created_at: datetime


class WalletRead(BaseModel):
    """A person's wallet at a place, with its latest movements."""

    id: int
    place_id: int
    place_name: str
    user_id: int
    display_name: str
    email: str
    balance_cents: int
    currency: str
    updated_at: datetime
    movements: list[WalletMovementRead] = []


class TopUpWrite(Strict):
    """Money to pay by card into my wallet at the place (1 to 500 EUR)."""

    amount_cents: Annotated[int, Field(ge=100, le=50_000)]


class TopUpRead(BaseModel):
    """A top-up of my wallet: its card payment's client secret while it is pending."""

    id: int
    place_id: int
    amount_cents: int
    currency: str
    status: str
    client_secret: str | None
    created_at: datetime
    paid_at: datetime | None
