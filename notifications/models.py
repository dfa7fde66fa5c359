"""The outbox: every message rendered for sending, with its attachments and its fate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from kernel.models import created_at_field, utc_column

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"
STATUSES = (QUEUED, SENT, FAILED)
MAX_KEY_LENGTH = 500


class OutboundMessage(SQLModel, table=True):
    """One e-mail as rendered when it was queued; ``key`` makes queueing it again a no-op."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name="ck_outbound_message_status"
        ),
        # The outbox page lists newest first; the retention purge reads sent ones by age.
        Index("ix_outbound_message_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=MAX_KEY_LENGTH, unique=True)
    place_id: int | None = Field(
        default=None, foreign_key="place.id", ondelete="SET NULL", index=True
    )
    recipient: str = Field(max_length=320)
    # The place's sender when it has one; else the instance's, filled in when sent.
    sender: str | None = Field(default=None, max_length=320)
    subject: str = Field(max_length=998)
    text: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    language: str = Field(max_length=8)
    template: str = Field(max_length=100)
    transactional: bool = True
    sensitive: bool = False
    unsubscribe_url: str | None = Field(default=None, max_length=2000)
    status: str = Field(default=QUEUED, max_length=10)
    # Sending attempts begun (a worker killed mid-way counts one too).
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    # The Message-ID header it was sent with (the same on every attempt).
    message_id: str | None = Field(default=None, max_length=300)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = utc_column(nullable=True)


class OutboundAttachment(SQLModel, table=True):
    """A file sent with a message (an .ics, an invoice PDF)."""

    __tablename__ = "outbound_attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="outbound_message.id", ondelete="CASCADE", index=True)
    position: int
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


MESSAGES = OutboundMessage.__table__  # type: ignore[attr-defined]
ATTACHMENTS = OutboundAttachment.__table__  # type: ignore[attr-defined]
