"""Thin HTTP controllers of accounts: sign-up and sessions, the user's own data, organisations."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.identity import SESSION_USER_KEY, SESSION_VERSION_KEY, actor_for_user
from accounts.models import User
from accounts.organisations import OrganisationService
from accounts.repository import AccountRepository
from accounts.schemas import (
    LogIn,
    MemberAdd,
    MemberRead,
    MeRead,
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
    PasswordChange,
    ProfileUpdate,
    SignUp,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from accounts.service import AccountService
from kernel.auth.actor import Actor
from kernel.auth.browser import csrf_token_of
from kernel.auth.guards import require_admin, require_manager, require_user
from kernel.auth.rules import ADMIN, BEARER, ORGANISATION, PLACE_MANAGER, PUBLIC, SELF, USER
from kernel.clock import Clock
from kernel.db import commit
from kernel.errors import handle_app_error


def provide_accounts(
    db_session: NamedDependency[AsyncSession], state: State, clock: NamedDependency[Clock]
) -> AccountService:
    """The account service bound to this request's transaction."""
    parts = state.get("personal_data", ())
    return AccountService(AccountRepository(db_session), state.settings, clock, parts)


def provide_organisations(
    db_session: NamedDependency[AsyncSession], clock: NamedDependency[Clock]
) -> OrganisationService:
    """The organisation service bound to this request's transaction."""
    return OrganisationService(AccountRepository(db_session), clock)


ORGANISATIONS = {"organisations": Provide(provide_organisations, sync_to_thread=False)}


ACCOUNTS = {"accounts": Provide(provide_accounts, sync_to_thread=False)}


class CsrfToken(BaseModel):
    """The token to send back in the ``X-CSRF-Token`` header (or ``_csrf_token`` form field)."""

    csrf_token: str


class Erase(BaseModel):
    """Confirmation of an account deletion (the password, for browser sessions)."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, max_length=256)


def _start_session(request: Request[Any, Any, Any], user: User) -> None:
    request.set_session({SESSION_USER_KEY: user.id, SESSION_VERSION_KEY: user.session_version})


class AuthController(Controller):
    """Sign-up, log-in and log-out for browsers (an encrypted session cookie)."""

    path = "/api/auth"
    tags = ["accounts"]
    dependencies = ACCOUNTS
    opt = PUBLIC

    @get("/csrf", cache=False)
    async def csrf(self, request: Request[Any, Any, Any]) -> CsrfToken:
        """The CSRF token a browser client must echo on unsafe requests."""
        return CsrfToken(csrf_token=csrf_token_of(request))

    @post("/signup", status_code=HTTP_201_CREATED)
    async def sign_up(
        self,
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        request: Request[Any, Any, Any],
        data: JSONBody[SignUp],
    ) -> MeRead:
        """Create an account (citizen rate until a manager grants another) and log in."""
        user = await accounts.sign_up(data)
        _start_session(request, user)
        actor = await actor_for_user(db_session, user, can_write=True, via="session")
        return await accounts.me(actor)

    @post("/login", status_code=200)
    async def log_in(
        self,
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        request: Request[Any, Any, Any],
        data: JSONBody[LogIn],
    ) -> Response[Any]:
        """Log in with e-mail and password; repeated failures lock the e-mail for a while."""
        client = request.client.host if request.client else "unknown"
        outcome = await accounts.log_in(data, client)
        if outcome.error is not None:
            # A refusal that is kept: the failure counter is committed although the answer is
            # a 401/429 (which the edge would roll back).
            await commit(db_session)
            response = handle_app_error(request, outcome.error)
            if "retry_after" in outcome.error.extra:
                response.headers["Retry-After"] = str(outcome.error.extra["retry_after"])
            return response
        assert outcome.user is not None
        _start_session(request, outcome.user)
        actor = await actor_for_user(db_session, outcome.user, can_write=True, via="session")
        return Response(await accounts.me(actor))

    @post("/logout", status_code=HTTP_204_NO_CONTENT, guards=[require_user], opt=SELF)
    async def log_out(self, request: Request[Any, Any, Any]) -> None:
        """End the browser session."""
        request.clear_session()


class MeController(Controller):
    """The logged-in user's own account, tokens and personal data."""

    path = "/api/me"
    tags = ["accounts"]
    dependencies = ACCOUNTS
    guards = [require_user]
    security = BEARER
    opt = SELF

    @get("/")
    async def me(
        self, accounts: NamedDependency[AccountService], actor: NamedDependency[Actor]
    ) -> MeRead:
        """Who I am: rate, roles, organisations, certifications."""
        return await accounts.me(actor)

    @patch("/")
    async def update_me(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        data: JSONBody[ProfileUpdate],
    ) -> MeRead:
        """Change my display name, or ask for a reduced rate."""
        return await accounts.update_profile(actor, data)

    @post("/password", status_code=HTTP_204_NO_CONTENT)
    async def change_password(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordChange],
    ) -> None:
        """Change my password; my other browser sessions end."""
        user = await accounts.change_password(actor, data)
        if actor.via == "session":
            _start_session(request, user)

    @get("/export")
    async def export(
        self, accounts: NamedDependency[AccountService], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        """Download everything held about me (JSON)."""
        return await accounts.export(actor)

    @post("/erase", status_code=HTTP_204_NO_CONTENT)
    async def erase(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        request: Request[Any, Any, Any],
        data: JSONBody[Erase],
    ) -> None:
        """Delete my account and personal data (issued invoices are kept, anonymised)."""
        await accounts.delete_account(actor, data.password)
        request.clear_session()

    @get("/tokens")
    async def tokens(
        self, accounts: NamedDependency[AccountService], actor: NamedDependency[Actor]
    ) -> list[TokenRead]:
        """My API tokens (never their values)."""
        return await accounts.tokens(actor)

    @post("/tokens", status_code=HTTP_201_CREATED)
    async def create_token(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        data: JSONBody[TokenCreate],
    ) -> TokenCreated:
        """Create an API token for a program; its value is shown this once."""
        return await accounts.create_token(actor, data)

    @delete("/tokens/{token_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_token(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        token_id: FromPath[int],
    ) -> None:
        """Revoke one of my tokens; it stops working at once."""
        await accounts.revoke_token(actor, token_id)


class OrganisationController(Controller):
    """Organisations (schools, companies, associations, public bodies) and their members."""

    path = "/api/organisations"
    tags = ["organisations"]
    dependencies = ORGANISATIONS
    guards = [require_user]
    security = BEARER
    opt = ORGANISATION

    @post("/", status_code=HTTP_201_CREATED, opt=USER)
    async def create(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        data: JSONBody[OrganisationCreate],
    ) -> OrganisationRead:
        """Register an organisation; I become its admin."""
        return await organisations.create(actor, data)

    @get("/{organisation_id:int}")
    async def get_organisation(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
    ) -> OrganisationRead:
        """An organisation I belong to."""
        return await organisations.get(actor, organisation_id)

    @patch("/{organisation_id:int}")
    async def update(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
        data: JSONBody[OrganisationUpdate],
    ) -> OrganisationRead:
        """Change an organisation's details (its admins)."""
        return await organisations.update(actor, organisation_id, data)

    @get("/{organisation_id:int}/members")
    async def members(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
    ) -> list[MemberRead]:
        """Members of an organisation I belong to."""
        return await organisations.members(actor, organisation_id)

    @post("/{organisation_id:int}/members", status_code=HTTP_201_CREATED)
    async def add_member(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
        data: JSONBody[MemberAdd],
    ) -> MemberRead:
        """Add a member or change their role (admins)."""
        return await organisations.add_member(actor, organisation_id, data)

    @delete("/{organisation_id:int}/members/{user_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def remove_member(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
        user_id: FromPath[int],
    ) -> None:
        """Remove a member (admins), or leave the organisation."""
        await organisations.remove_member(actor, organisation_id, user_id)

    @post(
        "/{organisation_id:int}/verification",
        status_code=HTTP_200_OK,
        guards=[require_admin],
        opt=ADMIN,
    )
    async def verify(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
    ) -> OrganisationRead:
        """Verify an organisation: its rate and invoicing apply everywhere (platform admins)."""
        return await organisations.verify(actor, organisation_id)

    @delete(
        "/{organisation_id:int}/verification",
        status_code=HTTP_204_NO_CONTENT,
        guards=[require_admin],
        opt=ADMIN,
    )
    async def unverify(
        self, organisations: NamedDependency[OrganisationService], organisation_id: FromPath[int]
    ) -> None:
        """Withdraw an organisation's verification (platform admins)."""
        await organisations.unverify(organisation_id)


class PlaceVerificationController(Controller):
    """A place's own verification of an organisation, for that place's prices."""

    path = "/api/places/{place_id:int}/organisations/{organisation_id:int}/verification"
    tags = ["organisations"]
    dependencies = ORGANISATIONS
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @put("/")
    async def verify(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        place_id: FromPath[int],
        organisation_id: FromPath[int],
    ) -> OrganisationRead:
        """Verify an organisation for my place's prices (its managers)."""
        return await organisations.verify_for_place(actor, place_id, organisation_id)

    @delete("/", status_code=HTTP_204_NO_CONTENT)
    async def unverify(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        place_id: FromPath[int],
        organisation_id: FromPath[int],
    ) -> None:
        """Withdraw my place's verification of an organisation."""
        await organisations.unverify_for_place(actor, place_id, organisation_id)
