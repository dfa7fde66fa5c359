"""Accounting tables: a place's chart of accounts and fiscal year, and its closed periods.

A closed period is never changed nor removed (migration 0047 adds a trigger refusing UPDATE and
DELETE, as on ``billing_document``): it says who closed which days and when, and keeps the
archive made at closing with the SHA-256 of its bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class AccountingSettings(SQLModel, table=True):
    """How a place's books are kept: its fiscal year's first month and its account numbers."""

    __tablename__ = "accounting_settings"
    __table_args__ = (
        CheckConstraint(
            "fiscal_year_start_month BETWEEN 1 AND 12", name="ck_accounting_settings_start"
        ),
    )

    place_id: int = Field(primary_key=True, foreign_key="place.id", ondelete="CASCADE")
    fiscal_year_start_month: int = 1
    # {"accounts": {"sales": "706", ...}, "vat_rates": {"20.00": "445710", ...}}
    accounts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = created_at_field()


class ClosedPeriod(SQLModel, table=True):
    """A month or fiscal year of a place closed for issuing, with its archive."""

    __tablename__ = "closed_period"
    __table_args__ = (
        UniqueConstraint("place_id", "kind", "first_day", name="uq_closed_period"),
        CheckConstraint("kind IN ('month', 'year')", name="ck_closed_period_kind"),
        CheckConstraint("first_day <= last_day", name="ck_closed_period_days"),
    )

    id: int | None = Field(default=None, primary_key=True)
    place_id: int = Field(foreign_key="place.id", ondelete="RESTRICT", index=True)
    kind: str = Field(max_length=10)
    first_day: date
    last_day: date
    closed_at: datetime = utc_column()
    closed_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="RESTRICT"
    )
    archive_name: str = Field(max_length=120)
    archive: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    archive_sha256: str = Field(max_length=64)
