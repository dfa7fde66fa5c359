"""My invitations: the organisations that invited my address, to accept or decline.

The invitation mail links here (accounts.organisations); the rules are the service's.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from accounts.controllers import ORGANISATIONS
from accounts.organisations import OrganisationService
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import SELF
from kernel.errors import ConflictError
from kernel.routes import get, post
from mutualab.web.i18n import N_
from mutualab.web.rendering import page, see_other

AnyRequest = Request[Any, Any, Any]
REFUSALS = {
    "email_not_verified": N_("Confirm your e-mail address before joining an organisation."),
    "last_admin": N_("An organisation keeps at least one administrator."),
}


class InvitationPages(Controller):
    """The invitations addressed to my e-mail."""

    path = "/account/invitations"
    dependencies = ORGANISATIONS
    guards = [require_user]
    opt = SELF

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        organisations: OrganisationService,
        problem: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "account/invitations.html",
            status_code=status_code,
            private=True,
            invitations=await organisations.my_invitations(actor),
            problem=problem,
        )

    @get("/", name="my_invitations")
    async def invitations(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        organisations: NamedDependency[OrganisationService],
    ) -> Template:
        """The organisations that invited me, each to accept or decline."""
        return await self._page(request, actor, organisations)

    @post("/{invitation_id:int}/accept")
    async def accept(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        organisations: NamedDependency[OrganisationService],
        invitation_id: FromPath[int],
    ) -> Response[Any]:
        """Join the organisation, with the role it offers."""
        try:
            await organisations.accept(actor, invitation_id)
        except ConflictError as exc:
            problem = REFUSALS.get(exc.code, N_("This invitation cannot be accepted now."))
            return await self._page(request, actor, organisations, problem, exc.status_code)
        return see_other("/account", notice="invitation_accepted")

    @post("/{invitation_id:int}/decline")
    async def decline(
        self,
        actor: NamedDependency[Actor],
        organisations: NamedDependency[OrganisationService],
        invitation_id: FromPath[int],
    ) -> Response[Any]:
        """Turn the invitation down."""
        await organisations.decline(actor, invitation_id)
        return see_other("/account/invitations", notice="invitation_declined")
