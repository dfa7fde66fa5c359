"""The one-click unsubscribe address of reminders (public: the signed link is the credential)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import QueryParameter
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import User
from kernel.auth.browser import csrf_token_of
from kernel.auth.rules import PUBLIC
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from kernel.settings import Settings
from notifications.unsubscribe import PATH, user_of
from notifications.wording import language_of

_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "pages"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
# The confirmation page posts its one form to itself, and loads nothing.
PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
Token = Annotated[
    str, QueryParameter(min_length=1, max_length=200, description="The signed token of the link.")
]


async def _user(state: State, session: AsyncSession, token: str) -> User | None:
    settings: Settings = state.settings
    user_id = user_of(settings, token)
    if user_id is None:
        raise InvalidInputError(
            "This unsubscribe link is not valid.", field="token", code="invalid_unsubscribe_link"
        )
    return await session.get(User, user_id)


def _page(name: str, user: User | None, **context: Any) -> Response[str]:
    language = language_of(user.language if user is not None else None)
    body = _PAGES.get_template(f"{name}.{language}.html").render(lang=language, **context)
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": PAGE_POLICY}
    return Response(body, media_type=MediaType.HTML, headers=headers)


class UnsubscribeController(Controller):
    """Reminders turned off from the link every reminder carries."""

    path = PATH
    tags = ["notifications"]
    opt = PUBLIC

    @get("/")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        token: Token,
    ) -> Response[str]:
        """A page asking to confirm (following a link never unsubscribes by itself)."""
        user = await _user(state, db_session, token)
        return _page("unsubscribe", user, token=token, path=PATH, csrf_token=csrf_token_of(request))

    @post("/", status_code=200)
    async def unsubscribe(
        self, state: State, db_session: NamedDependency[AsyncSession], token: Token
    ) -> Response[str]:
        """Turn the reminders of the link's account off (RFC 8058 one-click, or the button)."""
        user = await _user(state, db_session, token)
        if user is not None:
            await db_session.exec(
                update(User).where(col(User.id) == user.id).values(reminders=False)
            )
        return _page("unsubscribed", user)
