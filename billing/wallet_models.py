"""Wallet tables: a person's balance at a place, and every movement of it.

The balance never goes below zero: a check constraint, and spending by one conditional UPDATE
(``billing.wallet_repository``). Each movement is a row, with the balance it left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column

WALLET_MOVEMENTS = ("manager_credit", "refund_credit", "spend", "give_back", "top_up")
TOP_UP_STATUSES = ("pending", "succeeded", "canceled")


class Wallet(SQLModel, table=True):
    """The money a person holds at a place, in cents."""

    __tablename__ = "wallet"
    __table_args__ = (
        UniqueConstraint("place_id", "user_id", name="uq_wallet_owner"),
        CheckConstraint("balance_cents >= 0", name="ck_wallet_balance"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    balance_cents: int = 0
    currency: str = Field(default="EUR", max_length=3)
    updated_at: datetime = created_at_field()


class WalletMovement(SQLModel, table=True):
    """One movement of a wallet: credited by a manager (with a reason), a refund or a top-up
    paid by card, spent on a booking or a membership's period, given back when it is cancelled or
    lapses unpaid."""

    __tablename__ = "wallet_movement"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('manager_credit', 'refund_credit', 'spend', 'give_back', 'top_up')",
            name="ck_wallet_movement_kind",
        ),
        CheckConstraint("amount_cents <> 0", name="ck_wallet_movement_amount"),
        CheckConstraint("balance_after_cents >= 0", name="ck_wallet_movement_balance"),
    )

    id: int | None = Field(default=None, primary_key=True)
    wallet_id: int = Field(foreign_key="wallet.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=20)
    # Credits positive, spending negative.
    amount_cents: int
    balance_after_cents: int
    reason: str = Field(default="", max_length=300)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", ondelete="RESTRICT")
    payment_id: int | None = Field(default=None, foreign_key="payment.id", ondelete="RESTRICT")
    # A membership's period paid from the wallet (migration 0043).
    plan_charge_id: int | None = Field(
        default=None, foreign_key="plan_charge.id", ondelete="RESTRICT"
    )
    by_user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    # The top-up this movement credited: unique, so a top-up is credited once at most.
    top_up_id: int | None = Field(
        default=None, foreign_key="wallet_top_up.id", ondelete="RESTRICT", unique=True
    )
    created_at: datetime = created_at_field()


class WalletTopUp(SQLModel, table=True):
    """Money a person pays by card into their wallet at a place (a PaymentIntent of its own).

    Not invoiced: a wallet pays any resource of the place at any VAT rate (a multi-purpose
    voucher), so VAT is due when it is spent, on the invoice of what it paid.
    """

    __tablename__ = "wallet_top_up"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="ck_wallet_top_up_amount"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'canceled')", name="ck_wallet_top_up_status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="RESTRICT", index=True)
    amount_cents: int
    currency: str = Field(default="EUR", max_length=3)
    status: str = Field(default="pending", max_length=20)
    intent_id: str | None = Field(default=None, max_length=100, unique=True)
    client_secret: str | None = Field(default=None, max_length=200)
    paid_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
