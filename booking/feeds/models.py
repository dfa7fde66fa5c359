"""Subscription feeds: an unguessable token per user or organisation, stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column


class CalendarFeed(SQLModel, table=True):
    """A private feed of a user's or an organisation's bookings, reached by its token alone."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        CheckConstraint(
            "(user_id IS NULL) <> (organisation_id IS NULL)", name="ck_calendar_feed_owner"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="CASCADE", index=True
    )
    organisation_id: int | None = Field(
        default=None, foreign_key="organisation.id", ondelete="CASCADE", index=True
    )
    # Who asked for this address (and saw it, once). An organisation's feed works only while
    # its creator is still one of the organisation's admins.
    created_by_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = utc_column(nullable=True)
