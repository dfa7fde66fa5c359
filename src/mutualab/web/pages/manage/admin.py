"""Platform administrators' pages: add a place with its first manager, verify organisations
(their rate and invoicing then apply everywhere), answer the rates people asked for.

The rules are the catalogue's, the staff service's and the organisation service's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.controllers import ORGANISATIONS
from accounts.organisations import OrganisationService
from accounts.schemas import ManagerAdd
from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from kernel.auth.actor import Actor
from kernel.auth.guards import require_admin
from kernel.auth.rules import ADMIN
from kernel.errors import ConflictError, EmailNotVerifiedError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, first_errors, ordered
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest
from mutualab.web.rendering import i18n_of, page, see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceCreate
from resources.service import CatalogueService

# Verifications belong to no place: their dates are shown in the platform's French time.
PARIS = ZoneInfo("Europe/Paris")
PLACE_FIELDS = [
    "name",
    "slug",
    "address",
    "postcode",
    "town",
    "operator_name",
    "email",
    "manager_email",
]
PLACE_MESSAGES = {
    "name": FieldError(N_("Enter the name of the place (120 characters at most).")),
    "slug": FieldError(
        N_("Use lower-case letters, digits and hyphens, like fablab-lannion (80 at most).")
    ),
    "address": FieldError(N_("Enter the street address.")),
    "postcode": FieldError(N_("Enter a French postcode of 5 digits, like 22300.")),
    "town": FieldError(N_("Enter the town.")),
    "operator_name": FieldError(N_("Enter who runs the place, like Commune de Lannion.")),
    "email": FieldError(N_("Enter an e-mail address like name@example.fr.")),
    "manager_email": FieldError(N_("Enter an e-mail address like name@example.fr.")),
}
SLUG_TAKEN = FieldError(N_("Another place already uses this address name: choose another."))
UNKNOWN = FieldError(N_("No account uses this e-mail address."))
UNVERIFIED = FieldError(
    N_("This person has not confirmed their e-mail address yet: ask them to open the link mailed.")
)


@dataclass
class PlaceForm:
    """A new place, as typed, with the e-mail of its first manager."""

    name: str = ""
    slug: str = ""
    address: str = ""
    postcode: str = ""
    town: str = ""
    operator_name: str = ""
    email: str = ""
    manager_email: str = ""


def slug_of(name: str) -> str:
    """``Fablab du Trégor`` -> ``fablab-du-tregor``: the address name made from the name."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:80].strip("-")


class AdminPages(Controller):
    """What only platform administrators do from the back office."""

    path = "/manage/admin"
    dependencies = {**CATALOGUE, **STAFF, **ORGANISATIONS}
    guards = [require_admin]
    opt = ADMIN

    def _place_page(
        self,
        request: AnyRequest,
        form: PlaceForm,
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "manage/admin_place.html",
            status_code=status_code,
            private=True,
            form=form,
            errors=errors,
        )

    @get("/places/new")
    async def new_place(self, request: AnyRequest) -> Template:
        """A form to add a place and name its first manager."""
        return self._place_page(request, PlaceForm(), {})

    @post("/places/new")
    async def create_place(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[PlaceForm],
    ) -> Response[Any]:
        """Add the place, then make the account with this e-mail its manager."""
        errors: Errors = {}
        create: PlaceCreate | None = None
        manager: ManagerAdd | None = None
        values = {
            "name": data.name.strip(),
            "slug": data.slug.strip() or slug_of(data.name),
            "address": data.address.strip(),
            "postcode": data.postcode.strip(),
            "town": data.town.strip(),
            "operator_name": data.operator_name.strip(),
            "email": data.email.strip() or None,
        }
        try:
            create = PlaceCreate.model_validate(values)
        except ValidationError as exc:
            errors = first_errors(exc, PLACE_MESSAGES)
        if data.manager_email.strip():
            try:
                manager = ManagerAdd.model_validate({"email": data.manager_email.strip()})
            except ValidationError:
                errors["manager_email"] = PLACE_MESSAGES["manager_email"]
        if errors or create is None:
            return self._place_page(request, data, ordered(errors, PLACE_FIELDS), 422)
        status = 422
        try:
            async with db_session.begin_nested():
                place = await catalogue.create_place(create)
                if manager is not None:
                    await staff.add_manager(place.id, manager)
        except ConflictError as exc:
            if isinstance(exc, EmailNotVerifiedError):
                errors, status = {"manager_email": UNVERIFIED}, exc.status_code
            else:
                errors, status = {"slug": SLUG_TAKEN}, exc.status_code
        except NotFoundError:
            errors = {"manager_email": UNKNOWN}
        else:
            return see_other(f"/manage/places/{place.id}/managers", notice="place_created")
        return self._place_page(request, data, errors, status)

    @get("/organisations")
    async def organisations(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        organisations: NamedDependency[OrganisationService],
        staff: NamedDependency[StaffService],
    ) -> Template:
        """Every organisation, those awaiting verification first, to verify or unverify."""
        listed = await organisations.all_for_admins(actor)
        french = i18n_of(request).lang == "fr"
        labels = {
            t.code: t.label_fr if french else t.label_en for t in await staff.user_types(None)
        }
        return page(
            request,
            "manage/admin_organisations.html",
            private=True,
            organisations=sorted(listed, key=lambda o: (o.verified_at is not None, o.name)),
            type_label=lambda code: labels.get(code, code),
            verified_on=lambda moment: moment.astimezone(PARIS).date(),
        )

    @post("/organisations/{organisation_id:int}/verify")
    async def verify(
        self,
        actor: NamedDependency[Actor],
        organisations: NamedDependency[OrganisationService],
        organisation_id: FromPath[int],
    ) -> Response[Any]:
        """Verify an organisation: its rate and invoicing apply everywhere."""
        await organisations.verify(actor, organisation_id)
        return see_other("/manage/admin/organisations", notice="organisation_verified")

    @post("/organisations/{organisation_id:int}/unverify")
    async def unverify(
        self,
        organisations: NamedDependency[OrganisationService],
        organisation_id: FromPath[int],
    ) -> Response[Any]:
        """Withdraw an organisation's verification."""
        await organisations.unverify(organisation_id)
        return see_other("/manage/admin/organisations", notice="organisation_unverified")

    @get("/rate-requests")
    async def rate_requests(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        staff: NamedDependency[StaffService],
    ) -> Template:
        """The people waiting for the rate they asked for, to grant everywhere or refuse."""
        french = i18n_of(request).lang == "fr"
        labels = {
            t.code: t.label_fr if french else t.label_en for t in await staff.user_types(None)
        }
        return page(
            request,
            "manage/admin_rate_requests.html",
            private=True,
            people=await staff.rate_requests(actor),
            type_label=lambda code: labels.get(code, code),
        )

    @post("/rate-requests/{user_id:int}/approve")
    async def approve_rate(
        self,
        actor: NamedDependency[Actor],
        staff: NamedDependency[StaffService],
        user_id: FromPath[int],
    ) -> Response[Any]:
        """Grant everywhere the rate a person asked for, after checking their proof."""
        asked = next((p for p in await staff.rate_requests(actor) if p.id == user_id), None)
        if asked is None or asked.requested_user_type is None:
            raise ConflictError("This user asks for no rate.", code="no_rate_request")
        await staff.grant_user_type(actor, user_id, asked.requested_user_type, None)
        return see_other("/manage/admin/rate-requests", notice="rate_request_approved_everywhere")

    @post("/rate-requests/{user_id:int}/refuse")
    async def refuse_rate(
        self,
        actor: NamedDependency[Actor],
        staff: NamedDependency[StaffService],
        user_id: FromPath[int],
    ) -> Response[Any]:
        """Turn down the rate a person asked for."""
        await staff.refuse_rate_request(actor, user_id)
        return see_other("/manage/admin/rate-requests", notice="rate_request_refused")
