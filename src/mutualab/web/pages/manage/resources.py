"""Equipment of a place: the list (hidden ones included), a form to add one and to change one.

A resource is deactivated (hidden from the public, no new booking) by unticking "bookable",
never deleted: its bookings and invoices keep naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, app_error_field, first_errors, ordered
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead, ResourceCreate, ResourceRead, ResourceUpdate
from resources.service import CatalogueService

FIELDS = [
    "name",
    "kind",
    "description",
    "capacity",
    "slot_minutes",
    "min_minutes",
    "max_minutes",
    "buffer_minutes",
    "required_training_id",
]
MESSAGES = {
    "name": FieldError(N_("Enter a name (120 characters at most).")),
    "kind": FieldError(N_("Choose a kind from the list.")),
    "description": FieldError(N_("This description is too long.")),
    "capacity": FieldError(N_("Enter a whole number from 1 to 1000.")),
    "slot_minutes": FieldError(N_("Enter a number of minutes from 5 to 1440.")),
    "min_minutes": FieldError(
        N_("The shortest booking must be a multiple of the time step, and at most the longest.")
    ),
    "max_minutes": FieldError(N_("Enter a number of minutes from 5 to 10080, or leave empty.")),
    "buffer_minutes": FieldError(N_("Enter a number of minutes from 0 to 1440.")),
    "required_training_id": FieldError(N_("Choose a training of this place.")),
}


@dataclass
class ResourceForm:
    """A resource, as typed (checkboxes send "on" when ticked, nothing otherwise)."""

    name: str = ""
    kind: str = ""
    description: str = ""
    capacity: str = "1"
    slot_minutes: str = "30"
    min_minutes: str = "30"
    max_minutes: str = "480"
    buffer_minutes: str = "0"
    required_training_id: str = ""
    requires_approval: str = ""
    members_only: str = ""
    active: str = ""


def form_of(resource: ResourceRead) -> ResourceForm:
    """The form filled with a stored resource."""
    return ResourceForm(
        name=resource.name,
        kind=resource.kind,
        description=resource.description,
        capacity=str(resource.capacity),
        slot_minutes=str(resource.slot_minutes),
        min_minutes=str(resource.min_minutes),
        max_minutes="" if resource.max_minutes is None else str(resource.max_minutes),
        buffer_minutes=str(resource.buffer_minutes),
        required_training_id=str(resource.required_training_id or ""),
        requires_approval="on" if resource.requires_approval else "",
        members_only="on" if resource.members_only else "",
        active="on" if resource.active else "",
    )


def values_of(form: ResourceForm) -> dict[str, Any]:
    """What the request models validate (empty optional numbers mean "none")."""
    return {
        "name": form.name,
        "kind": form.kind,
        "description": form.description,
        "capacity": form.capacity.strip(),
        "slot_minutes": form.slot_minutes.strip(),
        "min_minutes": form.min_minutes.strip(),
        "max_minutes": form.max_minutes.strip() or None,
        "buffer_minutes": form.buffer_minutes.strip(),
        "required_training_id": form.required_training_id.strip() or None,
        "requires_approval": form.requires_approval == "on",
        "members_only": form.members_only == "on",
    }


def errors_of(exc: ValidationError) -> Errors:
    """Field errors; a check across durations is reported by the shortest booking."""
    errors = first_errors(exc, MESSAGES)
    if "form" in errors:
        errors.pop("form")
        errors.setdefault("min_minutes", MESSAGES["min_minutes"])
    return ordered(errors, FIELDS)


def service_error(exc: InvalidInputError) -> Errors:
    """The field a service refusal names."""
    name = app_error_field(exc) or "name"
    return {name: MESSAGES.get(name, FieldError(N_("This value is not valid.")))}


class ResourcePages(Controller):
    """Equipment of the places I manage."""

    path = "/manage"
    dependencies = {**CATALOGUE, **STAFF}
    guards = [require_manager]

    async def _form_page(
        self,
        request: AnyRequest,
        staff: StaffService,
        place: PlaceRead,
        form: ResourceForm,
        errors: Errors,
        resource: ResourceRead | None = None,
        status_code: int = 200,
    ) -> Template:
        return place_page(
            request,
            "manage/resource_form.html",
            place,
            "/resources",
            status_code=status_code,
            form=form,
            errors=errors,
            resource=resource,
            trainings=await staff.trainings(place.id),
        )

    @get("/places/{place_id:int}/resources", opt=PLACE_MANAGER)
    async def resources(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
    ) -> Template:
        """The equipment of a place, hidden ones included."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(request, "manage/resources.html", place, "/resources")

    @get("/places/{place_id:int}/resources/new", opt=PLACE_MANAGER)
    async def new_resource(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
    ) -> Template:
        """The form to add equipment."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return await self._form_page(request, staff, place, ResourceForm(), {})

    @post("/places/{place_id:int}/resources/new", opt=PLACE_MANAGER)
    async def create_resource(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[ResourceForm],
    ) -> Response[Any]:
        """Add equipment, or show what to correct."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        try:
            created = ResourceCreate.model_validate(values_of(data))
        except ValidationError as exc:
            errors = errors_of(exc)
        else:
            try:
                async with db_session.begin_nested():
                    await catalogue.create_resource(actor, place_id, created)
            except InvalidInputError as exc:
                errors = service_error(exc)
            else:
                return see_other(f"/manage/places/{place_id}/resources", notice="resource_created")
        return await self._form_page(request, staff, place, data, errors, status_code=422)

    @get("/resources/{resource_id:int}", opt=PLACE_MANAGER)
    async def edit_resource(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        resource_id: FromPath[int],
    ) -> Template:
        """A resource of a place I manage, as a form."""
        row = await catalogue.managed_resource(actor, resource_id)
        place = await catalogue.place_detail(row.place_id, include_inactive=True)
        resource = next(r for r in place.resources if r.id == resource_id)
        return await self._form_page(request, staff, place, form_of(resource), {}, resource)

    @post("/resources/{resource_id:int}", opt=PLACE_MANAGER)
    async def save_resource(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        resource_id: FromPath[int],
        data: URLEncodedBody[ResourceForm],
    ) -> Response[Any]:
        """Change a resource (unticking "bookable" hides it), or show what to correct."""
        row = await catalogue.managed_resource(actor, resource_id)
        place = await catalogue.place_detail(row.place_id, include_inactive=True)
        resource = next(r for r in place.resources if r.id == resource_id)
        try:
            # Checked as a whole new resource first, so the durations are checked together.
            ResourceCreate.model_validate(values_of(data))
            update = ResourceUpdate.model_validate(
                {**values_of(data), "active": data.active == "on"}
            )
        except ValidationError as exc:
            errors = errors_of(exc)
        else:
            try:
                async with db_session.begin_nested():
                    await catalogue.update_resource(actor, resource_id, update)
            except InvalidInputError as exc:
                errors = service_error(exc)
            else:
                return see_other(f"/manage/places/{place.id}/resources", notice="resource_saved")
        return await self._form_page(request, staff, place, data, errors, resource, 422)
