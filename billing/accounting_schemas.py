"""Request and response models of a place's books: accounts, fiscal year, closed periods."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from billing.schemas import Strict

AccountNumber = Annotated[str, StringConstraints(pattern=r"^[0-9][0-9A-Z]{2,19}$")]
AccountKey = Literal[
    "sales", "customers", "bank", "cash", "cheque", "vat", "wallet", "wallet_gifts"
]
RateKey = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,2}\.[0-9]{2}$")]


class AccountingSettingsWrite(Strict):
    """The first month of the fiscal year and the account numbers of the FEC."""

    fiscal_year_start_month: Annotated[int, Field(ge=1, le=12)] = Field(
        default=1, description="1 (January: the calendar year) to 12"
    )
    accounts: dict[AccountKey, AccountNumber] = Field(
        default_factory=dict,
        description="account numbers: sales (706), customers (411), bank (512), cash (530), "
        "cheque (5112), vat (4457: VAT collected at a rate not in vat_rates), wallet (4191: "
        "customers' advances, what wallets hold), wallet_gifts (6718: wallet credits a place "
        "gives)",
    )
    vat_rates: dict[RateKey, AccountNumber] = Field(
        default_factory=dict,
        description='VAT rate ("20.00") -> VAT collected account (445710); 20 rates at most',
    )


class AccountingSettingsRead(BaseModel):
    """A place's books as the FEC keeps them (every default filled in)."""

    place_id: int
    fiscal_year_start_month: int
    accounts: dict[str, str]
    vat_rates: dict[str, str]


class ClosePeriod(Strict):
    """Close a month (``2027-03``) or a fiscal year (``2027``: the year it starts in)."""

    kind: Literal["month", "year"]
    period: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}(-[0-9]{2})?$")]


class ClosedPeriodRead(BaseModel):
    """A closed period: its days, who closed it and when, and its archive."""

    id: int
    place_id: int
    kind: str
    period: str
    first_day: date
    last_day: date
    closed_at: datetime
    closed_by_user_id: int | None
    archive_name: str
    archive_sha256: str
    archive_size: int
    archive_url: str
