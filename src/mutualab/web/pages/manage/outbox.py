"""The outbox page for platform administrators: the e-mails sent or waiting, and one of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.guards import require_admin
from kernel.auth.rules import ADMIN
from kernel.errors import NotFoundError
from kernel.mail import Mailer
from mutualab.web.pages.manage.common import AnyRequest
from mutualab.web.rendering import page
from notifications import reads
from notifications.controllers import attachment_url
from notifications.reads import PER_PAGE

PageNumber = Annotated[int, QueryParameter(name="page", ge=1, le=100_000)]
StatusFilter = Annotated[Literal["queued", "sent", "failed"] | None, QueryParameter()]


def utc_text(moment: datetime | None) -> str:
    """An instant as administrators compare it with logs: ``2026-12-05 03:40 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _delivery(request: AnyRequest) -> str:
    """Where sent messages go: a real server, the demo's catcher, or nowhere yet."""
    mailer: Mailer = request.app.state.mailer
    if not mailer.configured:
        return "none"
    return "catcher" if mailer.catcher else "smtp"


class OutboxPages(Controller):
    """The outbox (platform administrators)."""

    path = "/manage/outbox"
    guards = [require_admin]

    @get("/", opt=ADMIN)
    async def outbox(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        status: StatusFilter = None,
        page_number: PageNumber = 1,
    ) -> Template:
        """The messages, newest first."""
        found = await reads.list_messages(db_session, status=status, page=page_number)
        return page(
            request,
            "manage/outbox.html",
            private=True,
            messages=found.items,
            total=found.total,
            status=status,
            page_number=page_number,
            has_next=page_number * PER_PAGE < found.total,
            delivery=_delivery(request),
            utc_text=utc_text,
        )

    @get("/{message_id:int}", opt=ADMIN)
    async def message(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        message_id: FromPath[int],
    ) -> Template:
        """One message: headers, plain text, HTML (sandboxed) and files."""
        detail = await reads.get_message(db_session, message_id)
        if detail is None:
            raise NotFoundError("No message has this id.")
        files: list[dict[str, Any]] = [
            {"file": a, "url": attachment_url(message_id, a.position)} for a in detail.attachments
        ]
        return page(
            request,
            "manage/outbox_message.html",
            private=True,
            detail=detail,
            message=detail.summary,
            files=files,
            delivery=_delivery(request),
            utc_text=utc_text,
        )
