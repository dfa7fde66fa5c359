"""The outbox for platform administrators: what was sent, to whom, and what failed (JSON)."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import quote

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.guards import require_admin
from kernel.auth.rules import ADMIN, BEARER
from kernel.errors import NotFoundError
from kernel.routes import get
from notifications import reads
from notifications.reads import PER_PAGE, OutboxMessageRead

StatusFilter = Annotated[
    Literal["queued", "sent", "failed"] | None, QueryParameter(description="only this status")
]
PageNumber = Annotated[int, QueryParameter(ge=1, le=100_000)]


class OutboxPageRead(BaseModel):
    """A page of the outbox, newest first."""

    items: list[OutboxMessageRead]
    total: int
    page: int
    per_page: int


class OutboxAttachmentRead(BaseModel):
    """A file sent with a message (download: ``url``)."""

    position: int
    filename: str
    content_type: str
    size: int
    url: str


class OutboxMessageDetail(OutboxMessageRead):
    """A message with its bodies (null for a sensitive one) and its files."""

    message_id: str | None
    text: str | None
    html: str | None
    attachments: list[OutboxAttachmentRead]


def attachment_url(message_id: int, position: int) -> str:
    """Where an attachment is downloaded."""
    return f"/api/admin/outbox/{message_id}/attachments/{position}"


def download_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact one (RFC 6266)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class OutboxAdminController(Controller):
    """The messages sent or waiting (platform administrators)."""

    path = "/api/admin/outbox"
    tags = ["admin"]
    guards = [require_admin]
    security = BEARER
    opt = ADMIN

    @get("/")
    async def messages(
        self,
        db_session: NamedDependency[AsyncSession],
        status: StatusFilter = None,
        page: PageNumber = 1,
    ) -> OutboxPageRead:
        """The messages, newest first (of one status when given), 50 a page."""
        found = await reads.list_messages(db_session, status=status, page=page)
        return OutboxPageRead(
            items=found.items,
            total=found.total,
            page=page,
            per_page=PER_PAGE,
        )

    @get("/{message_id:int}")
    async def message(
        self, db_session: NamedDependency[AsyncSession], message_id: FromPath[int]
    ) -> OutboxMessageDetail:
        """One message: its headers, bodies (withheld when sensitive) and files."""
        detail = await reads.get_message(db_session, message_id)
        if detail is None:
            raise NotFoundError("No message has this id.")
        return OutboxMessageDetail(
            **detail.summary.model_dump(),
            message_id=detail.message_id,
            text=detail.text,
            html=detail.html,
            attachments=[
                OutboxAttachmentRead(
                    position=a.position,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=a.size,
                    url=attachment_url(message_id, a.position),
                )
                for a in detail.attachments
            ],
        )

    @get("/{message_id:int}/attachments/{position:int}", media_type="application/octet-stream")
    async def attachment(
        self,
        db_session: NamedDependency[AsyncSession],
        message_id: FromPath[int],
        position: FromPath[int],
    ) -> Response[bytes]:
        """A file of a message, as a download."""
        found = await reads.get_attachment(db_session, message_id, position)
        if found is None:
            raise NotFoundError("This message has no such attachment.")
        return Response(
            found["data"],
            # Always a download, never rendered here (an .html file would run on our origin).
            media_type="application/octet-stream",
            headers={"Content-Disposition": download_disposition(found["filename"])},
        )
