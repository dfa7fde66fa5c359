"""Thin HTTP controllers of accounts: sign-up and sessions, the user's own data, organisations."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.identity import SESSION_KEY, actor_for_user
from accounts.middleware import session_limits
from accounts.models import User
from accounts.organisations import OrganisationService
from accounts.passwords import passwords
from accounts.repository import AccountRepository
from accounts.schemas import (
    InvitationRead,
    LogIn,
    MemberAdd,
    MemberRead,
    MembershipRead,
    MeRead,
    MyInvitation,
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
    PasswordChange,
    PasswordReset,
    PasswordResetAccepted,
    PasswordResetRequest,
    ProfileUpdate,
    SignUp,
    SignUpAccepted,
    TokenCreate,
    TokenCreated,
    TokenRead,
    VerifyEmail,
)
from accounts.service import AccountService
from accounts.throttle import Throttle
from kernel.auth.actor import Actor
from kernel.auth.browser import csrf_token_of
from kernel.auth.guards import require_admin, require_manager, require_user
from kernel.auth.rules import ADMIN, BEARER, ORGANISATION, PLACE_MANAGER, PUBLIC, SELF, USER
from kernel.clock import Clock
from kernel.db import get_database
from kernel.net import client_of
from kernel.routes import delete, get, patch, post, put
from kernel.settings import Settings


def provide_accounts(
    db_session: NamedDependency[AsyncSession], state: State, clock: NamedDependency[Clock]
) -> AccountService:
    """The account service bound to this request's transaction."""
    settings: Settings = state.settings
    hasher = passwords(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_concurrency,
    )
    return AccountService(
        AccountRepository(db_session),
        settings,
        clock,
        hasher,
        Throttle(get_database(state), settings, clock),
        session_limits(settings),
        state.account_mail,
        state.get("personal_data", ()),
    )


def provide_organisations(
    db_session: NamedDependency[AsyncSession], state: State, clock: NamedDependency[Clock]
) -> OrganisationService:
    """The organisation service bound to this request's transaction."""
    settings: Settings = state.settings
    return OrganisationService(
        AccountRepository(db_session), state.account_mail, settings.public_base_url, clock
    )


ACCOUNTS = {"accounts": Provide(provide_accounts, sync_to_thread=False)}
ORGANISATIONS = {"organisations": Provide(provide_organisations, sync_to_thread=False)}


class CsrfToken(BaseModel):
    """The token to send back in the ``X-CSRF-Token`` header (or ``_csrf_token`` form field)."""

    csrf_token: str


class Erase(BaseModel):
    """Confirmation of an account deletion: the account's password (also with an API token)."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, max_length=256)


def client(request: Request[Any, Any, Any]) -> str:
    """The client's address, behind the proxies the settings trust."""
    settings: Settings = request.app.state.settings
    return client_of(request.scope, settings.trusted_proxies)


async def start_session(
    request: Request[Any, Any, Any], accounts: AccountService, user: User
) -> None:
    """Log this browser in as ``user``, with a new session (never one it brought along)."""
    await end_session(request, accounts)
    request.set_session({SESSION_KEY: await accounts.start_session(user)})


async def _logged_in(
    request: Request[Any, Any, Any], accounts: AccountService, session: AsyncSession, user: User
) -> MeRead:
    await start_session(request, accounts, user)
    actor = await actor_for_user(session, user, can_write=True, via="session")
    return await accounts.me(actor)


async def end_session(request: Request[Any, Any, Any], accounts: AccountService) -> None:
    """Log this browser out: its session is deleted, not only its cookie."""
    key = request.session.get(SESSION_KEY) if request.session else None
    if isinstance(key, str):
        await accounts.end_session(key)
    request.clear_session()


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

    @post("/signup", status_code=HTTP_202_ACCEPTED)
    async def sign_up(
        self,
        accounts: NamedDependency[AccountService],
        request: Request[Any, Any, Any],
        data: JSONBody[SignUp],
    ) -> SignUpAccepted:
        """Create an account (citizen rate until a manager grants another), confirmed by the
        link mailed to the address; the same answer whether or not the address has one."""
        await accounts.sign_up(data, client(request))
        return SignUpAccepted()

    @post("/verify-email", status_code=HTTP_200_OK)
    async def verify_email(
        self,
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        request: Request[Any, Any, Any],
        data: JSONBody[VerifyEmail],
    ) -> MeRead:
        """Confirm my address with the mailed link's token and my password, and log in (a used
        or expired link is 410, a mistyped one 422)."""
        user = await accounts.verify_email(data.token, data.password)
        return await _logged_in(request, accounts, db_session, user)

    @post("/password-reset", status_code=HTTP_202_ACCEPTED)
    async def request_password_reset(
        self,
        accounts: NamedDependency[AccountService],
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordResetRequest],
    ) -> PasswordResetAccepted:
        """Mail a link to choose a new password (valid 1 hour); the same answer whether or not
        the address has an account; repeated requests wait longer and longer (429)."""
        await accounts.request_password_reset(data, client(request))
        return PasswordResetAccepted()

    @post("/password-reset/confirm", status_code=HTTP_200_OK)
    async def reset_password(
        self,
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordReset],
    ) -> MeRead:
        """Set a new password with the mailed link's token: every other browser session ends,
        the address counts as confirmed, and this client logs in (410 for a used or expired
        link, 422 for a mistyped one or a weak password)."""
        user = await accounts.reset_password(data)
        return await _logged_in(request, accounts, db_session, user)

    @post("/login", status_code=200)
    async def log_in(
        self,
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        request: Request[Any, Any, Any],
        data: JSONBody[LogIn],
    ) -> MeRead:
        """Log in with e-mail and password; repeated attempts wait longer and longer (429)."""
        user = await accounts.log_in(data, client(request))
        return await _logged_in(request, accounts, db_session, user)

    @post("/logout", status_code=HTTP_204_NO_CONTENT, guards=[require_user], opt=SELF)
    async def log_out(
        self, accounts: NamedDependency[AccountService], request: Request[Any, Any, Any]
    ) -> None:
        """End this browser's session, on the server too (a copy of the cookie is worthless)."""
        await end_session(request, accounts)

    @post("/logout-everywhere", status_code=HTTP_204_NO_CONTENT, guards=[require_user], opt=SELF)
    async def log_out_everywhere(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        request: Request[Any, Any, Any],
    ) -> None:
        """End every browser session of my account, this one included (tokens stay valid)."""
        await accounts.end_all_sessions(actor)
        request.clear_session()


class GuestDataController(Controller):
    """A walk-in's personal data, for the managers of the place that recorded them: a walk-in
    has no account to log in to and ask for it."""

    path = "/api/places/{place_id:int}/guests/{user_id:int}"
    tags = ["accounts"]
    dependencies = ACCOUNTS
    guards = [require_manager]
    security = BEARER
    opt = PLACE_MANAGER

    @get("/export")
    async def export_guest(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        place_id: FromPath[int],
        user_id: FromPath[int],
    ) -> dict[str, Any]:
        """Download everything held about a walk-in the place recorded (JSON)."""
        return await accounts.export_guest(actor, place_id, user_id)

    @post("/erase", status_code=HTTP_204_NO_CONTENT)
    async def erase_guest(
        self,
        accounts: NamedDependency[AccountService],
        actor: NamedDependency[Actor],
        place_id: FromPath[int],
        user_id: FromPath[int],
    ) -> None:
        """Erase a walk-in's personal data (future bookings cancelled and refunded by the
        place's policy; invoices kept, the buyer anonymised)."""
        await accounts.erase_guest(actor, place_id, user_id)


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
        """Change my display name, my messages' language, my reminders, or ask for a reduced
        rate."""
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
            await start_session(request, accounts, user)

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
        """Delete my account and personal data (my password confirms; invoices are kept,
        anonymised)."""
        await accounts.delete_account(actor, data.password)
        request.clear_session()

    @get("/invitations", dependencies=ORGANISATIONS)
    async def my_invitations(
        self, organisations: NamedDependency[OrganisationService], actor: NamedDependency[Actor]
    ) -> list[MyInvitation]:
        """The organisations that invited me (to my account's e-mail address)."""
        return await organisations.my_invitations(actor)

    @post(
        "/invitations/{invitation_id:int}/accept",
        status_code=HTTP_201_CREATED,
        dependencies=ORGANISATIONS,
    )
    async def accept_invitation(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        invitation_id: FromPath[int],
    ) -> MembershipRead:
        """Join the organisation that invited me, with the role it offers."""
        return await organisations.accept(actor, invitation_id)

    @delete(
        "/invitations/{invitation_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        dependencies=ORGANISATIONS,
    )
    async def decline_invitation(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        invitation_id: FromPath[int],
    ) -> None:
        """Turn an invitation down."""
        await organisations.decline(actor, invitation_id)

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
    ) -> MemberRead | InvitationRead:
        """Invite an e-mail address (the same answer whether or not it has an account), or
        change a member's role (admins)."""
        return await organisations.add_member(actor, organisation_id, data)

    @get("/{organisation_id:int}/invitations")
    async def invitations(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
    ) -> list[InvitationRead]:
        """The addresses invited into an organisation I belong to, not answered yet."""
        return await organisations.invitations(actor, organisation_id)

    @delete(
        "/{organisation_id:int}/invitations/{invitation_id:int}", status_code=HTTP_204_NO_CONTENT
    )
    async def withdraw_invitation(
        self,
        organisations: NamedDependency[OrganisationService],
        actor: NamedDependency[Actor],
        organisation_id: FromPath[int],
        invitation_id: FromPath[int],
    ) -> None:
        """Withdraw an invitation (admins)."""
        await organisations.withdraw(actor, organisation_id, invitation_id)

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
