"""The managers of a place: who they are (its managers see them), and naming or removing one
by e-mail (platform administrators, as the staff service rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.schemas import ManagerAdd
from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin, require_manager
from kernel.auth.rules import ADMIN, PLACE_MANAGER
from kernel.errors import EmailNotVerifiedError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

EMAIL_ERROR = FieldError(N_("Enter an e-mail address like name@example.fr."))
UNKNOWN = FieldError(N_("No account uses this e-mail address."))
UNVERIFIED = FieldError(
    N_("This person has not confirmed their e-mail address yet: ask them to open the link mailed.")
)


@dataclass
class ManagerForm:
    """A manager to name, by the e-mail of their account."""

    email: str = ""


class ManagerPages(Controller):
    """The managers of the places I manage; naming them is for platform administrators."""

    path = "/manage/places/{place_id:int}/managers"
    dependencies = {**CATALOGUE, **STAFF}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        staff: StaffService,
        place_id: int,
        *,
        form: ManagerForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        managers = await staff.managers(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(
            request,
            "manage/managers.html",
            place,
            "/managers",
            status_code=status_code,
            managers=managers,
            form=form or ManagerForm(),
            errors=errors or {},
        )

    @get("/", opt=PLACE_MANAGER)
    async def managers(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
    ) -> Template:
        """The managers of a place; for administrators, forms to name or remove one."""
        await catalogue.managed_place(actor, place_id)
        return await self._page(request, actor, catalogue, staff, place_id)

    @post("/", guards=[require_admin], opt=ADMIN)
    async def add_manager(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[ManagerForm],
    ) -> Response[Any]:
        """Make the account with this e-mail a manager of the place."""
        await catalogue.managed_place(actor, place_id)
        try:
            add = ManagerAdd.model_validate({"email": data.email.strip()})
        except ValidationError:
            return await self._refused(request, actor, catalogue, staff, data, EMAIL_ERROR, 422)
        try:
            async with db_session.begin_nested():
                await staff.add_manager(place_id, add)
        except NotFoundError:
            return await self._refused(request, actor, catalogue, staff, data, UNKNOWN, 422)
        except EmailNotVerifiedError as exc:
            return await self._refused(
                request, actor, catalogue, staff, data, UNVERIFIED, exc.status_code
            )
        return see_other(f"/manage/places/{place_id}/managers", notice="manager_added")

    async def _refused(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        staff: StaffService,
        form: ManagerForm,
        error: FieldError,
        status_code: int,
    ) -> Template:
        place_id = int(request.path_params["place_id"])
        return await self._page(
            request,
            actor,
            catalogue,
            staff,
            place_id,
            form=form,
            errors={"email": error},
            status_code=status_code,
        )

    @post("/{user_id:int}/remove", guards=[require_admin], opt=ADMIN)
    async def remove_manager(
        self,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
        user_id: FromPath[int],
    ) -> Response[Any]:
        """Withdraw a manager role."""
        await catalogue.managed_place(actor, place_id)
        await staff.remove_manager(place_id, user_id)
        return see_other(f"/manage/places/{place_id}/managers", notice="manager_removed")
