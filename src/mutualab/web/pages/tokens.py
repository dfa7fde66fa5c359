"""My API tokens: create one (its value shown this once), list them, revoke one.

The rules (who may make which scope, expiry, revocation) are the account service's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError

from accounts.controllers import ACCOUNTS
from accounts.schemas import TokenCreate, TokenCreated
from accounts.service import AccountService
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import SELF
from kernel.errors import AppError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, first_errors, ordered
from mutualab.web.i18n import N_
from mutualab.web.rendering import page, see_other

AnyRequest = Request[Any, Any, Any]
FIELDS = ["name", "scope", "expires_in_days"]
MESSAGES = {
    "name": FieldError(N_('Name the token (100 characters at most), like "Tableau de bord".')),
    "scope": FieldError(N_("Choose what the token may do.")),
    "expires_in_days": FieldError(
        N_("Enter a whole number of days from 1 to %(n)s, or leave it empty."), {"n": 3650}
    ),
}
# Tokens belong to no place: their dates are shown in the platform's French time.
PARIS = ZoneInfo("Europe/Paris")
SCOPES = {"read": N_("Read only"), "read_write": N_("Read and write (book, cancel, change)")}


@dataclass
class TokenForm:
    """A token to create, as typed."""

    name: str = ""
    scope: str = "read"
    expires_in_days: str = ""


class TokenPages(Controller):
    """The API tokens of my own account."""

    path = "/account/tokens"
    dependencies = ACCOUNTS
    guards = [require_user]
    opt = SELF

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        accounts: AccountService,
        *,
        form: TokenForm | None = None,
        errors: Errors | None = None,
        created: TokenCreated | None = None,
        status_code: int = 200,
    ) -> Template:
        tokens = await accounts.tokens(actor)
        return page(
            request,
            "account/tokens.html",
            status_code=status_code,
            private=True,
            tokens=sorted(tokens, key=lambda t: (t.revoked_at is not None, -t.id)),
            form=form or TokenForm(),
            errors=errors or {},
            created=created,
            scopes=SCOPES,
            local=lambda moment: moment.astimezone(PARIS) if isinstance(moment, datetime) else None,
        )

    @get("/", name="my_tokens")
    async def tokens(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
    ) -> Template:
        """My API tokens (never their values), and a form to create one."""
        return await self._page(request, actor, accounts)

    @post("/")
    async def create_token(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        """Create a token and show its value, this once."""
        days = data.expires_in_days.strip()
        try:
            create = TokenCreate.model_validate(
                {"name": data.name.strip(), "scope": data.scope, "expires_in_days": days or None}
            )
        except ValidationError as exc:
            errors = ordered(first_errors(exc, MESSAGES), FIELDS)
            return await self._page(
                request, actor, accounts, form=data, errors=errors, status_code=422
            )
        try:
            created = await accounts.create_token(actor, create)
        except AppError:
            errors = {"scope": MESSAGES["scope"]}
            return await self._page(
                request, actor, accounts, form=data, errors=errors, status_code=422
            )
        # Shown in this answer only: never stored in a redirect's address or a cookie.
        return await self._page(request, actor, accounts, created=created, status_code=201)

    @post("/{token_id:int}/revoke")
    async def revoke_token(
        self,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        token_id: FromPath[int],
    ) -> Response[Any]:
        """Revoke one of my tokens; it stops working at once."""
        await accounts.revoke_token(actor, token_id)
        return see_other("/account/tokens", notice="token_revoked")
