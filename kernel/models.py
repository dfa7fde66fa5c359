"""Shared column helpers for every domain's SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Column
from sqlmodel import Field, SQLModel

# Named constraints, so migrations can name what they alter.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A timestamptz column that always reads back as an aware UTC datetime."""
    return Field(sa_column=Column(DateTimeUTC(timezone=True), nullable=nullable, index=index))


def created_at_field() -> Any:
    """Creation instant, set by the application in UTC."""
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTimeUTC(timezone=True), nullable=False),
    )
