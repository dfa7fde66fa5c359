"""The outbox page for platform administrators: the e-mails sent or waiting, and one of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin
from kernel.auth.rules import ADMIN
from kernel.errors import NotFoundError
from kernel.mail import Mailer
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest
from mutualab.web.rendering import i18n_of, page, see_other
from notifications import reads
from notifications.controllers import attachment_url
from notifications.outbox import queue_message
from notifications.reads import PER_PAGE

PageNumber = Annotated[int, QueryParameter(name="page", ge=1, le=100_000)]
StatusFilter = Annotated[Literal["queued", "sent", "failed"] | None, QueryParameter()]


@dataclass
class TestMailForm:
    """Where to send a test message."""

    to: str = ""


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

    async def _outbox_page(
        self,
        request: AnyRequest,
        db_session: AsyncSession,
        actor: Actor,
        status: str | None,
        page_number: int,
        form: TestMailForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        found = await reads.list_messages(db_session, status=status, page=page_number)
        if form is None:
            user = await db_session.get(User, actor.user_id) if actor.user_id else None
            form = TestMailForm(to=user.email if user is not None else "")
        return page(
            request,
            "manage/outbox.html",
            private=True,
            status_code=status_code,
            form=form,
            errors=errors or {},
            messages=found.items,
            total=found.total,
            status=status,
            page_number=page_number,
            has_next=page_number * PER_PAGE < found.total,
            delivery=_delivery(request),
            utc_text=utc_text,
        )

    @get("/", opt=ADMIN)
    async def outbox(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        status: StatusFilter = None,
        page_number: PageNumber = 1,
    ) -> Template:
        """The messages, newest first, and a form to send a test message."""
        return await self._outbox_page(request, db_session, actor, status, page_number)

    @post("/test", opt=ADMIN)
    async def send_test(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: URLEncodedBody[TestMailForm],
    ) -> Response[Any]:
        """Queue a test message (to check the SMTP settings), or say what to fix."""
        try:
            address = validate_email(data.to.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            errors = {"to": FieldError(N_("Enter an e-mail address like name@example.fr."))}
            return await self._outbox_page(
                request, db_session, actor, None, 1, data, errors, status_code=422
            )
        user = await db_session.get(User, actor.user_id) if actor.user_id else None
        await queue_message(
            db_session,
            # Each click is a new test: a unique key.
            key=f"mail_test:{uuid.uuid4().hex}",
            to=address,
            template="mail_test",
            language=i18n_of(request).lang,
            context={
                "instance": request.app.state.settings.public_base_url,
                "requested_by": user.display_name if user is not None else "Mutualab",
            },
        )
        return see_other("/manage/outbox", notice="test_mail_queued")

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
