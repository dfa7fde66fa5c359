"""Credential tables of the shell."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mutualab.models import created_at_field, utc_column


class AdminToken(SQLModel, table=True):
    """A hashed bearer token allowed to write the catalogue (until accounts and roles exist)."""

    __tablename__ = "admin_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = utc_column(nullable=True)
