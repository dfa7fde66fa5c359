"""Request and response models of session tickets (never table models)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from billing.plan_schemas import ChargeRead
from billing.schemas import Cents, Fingerprint, Strict, UserTypeKey, VatWrite
from programme.schemas import RegistrationRead, SessionRead


class TicketPriceWrite(Strict):
    """The price of one seat for a user type (``*``: any other)."""

    user_type: UserTypeKey
    price_cents: Cents = Field(description="per seat; 0: free for this user type")


class TicketPricesWrite(Strict):
    """A session's ticket prices, with their VAT regime as a price list's."""

    vat: VatWrite = Field(default_factory=VatWrite)
    amounts_include_vat: bool = Field(
        default=False, description="the prices are typed VAT included (stored excluding VAT)"
    )
    prices: Annotated[list[TicketPriceWrite], Field(max_length=60)] = Field(
        default_factory=list, description="empty: free for everyone"
    )
    whole_series: bool = Field(
        default=False, description="also the sessions published with it that have not started"
    )


class TicketQuoteRequest(Strict):
    """How many seats, and for whom (an organisation a teacher registers for)."""

    seats: int = Field(default=1, ge=1, le=100)
    organisation_id: int | None = None


class TicketOrder(Strict):
    """Register and pay at the quoted price."""

    seats: int = Field(default=1, ge=1, le=100)
    organisation_id: int | None = None
    fingerprint: Fingerprint = Field(description="the quote's: a moved price is 409")
    payment_method: Literal["card", "on_site", "invoice"] = "on_site"
    purchase_order: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    waitlist: bool = Field(
        default=False,
        description="when the session is full, wait for seats (paid on site once registered)",
    )


class TicketRead(BaseModel):
    """A registration and what its ticket costs, how it is paid, its invoices."""

    registration: RegistrationRead
    charge: ChargeRead | None = Field(description="None: a free ticket")


class TicketsSet(BaseModel):
    """The sessions whose prices were set."""

    sessions: list[SessionRead]
