"""The trainings of a place: create one (name, validity), and choose the equipment that
requires it; with who holds each.

Trainings are the staff service's; the link to equipment is the resource's required training
(the catalogue service checks it is one of the place's trainings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.schemas import TrainingCreate, TrainingRead
from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.errors import InvalidInputError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, first_errors, ordered
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead, ResourceUpdate
from resources.service import CatalogueService

FIELDS = ["name", "description", "validity_days", "resource_ids"]
MESSAGES = {
    "name": FieldError(N_("Name the training (200 characters at most).")),
    "description": FieldError(N_("This description is too long.")),
    "validity_days": FieldError(
        N_("Enter a whole number of days from 1 to %(n)s, or leave it empty."), {"n": 3650}
    ),
    "resource_ids": FieldError(N_("Choose equipment of this place.")),
}
# A field sent once arrives as one string, several times as a list.
Repeated = list[str] | str


@dataclass
class TrainingForm:
    """A training to create, as typed, with the equipment that will require it."""

    name: str = ""
    description: str = ""
    validity_days: str = ""
    resource_ids: Repeated = field(default_factory=list)


@dataclass
class LinkForm:
    """The equipment that requires one training."""

    resource_ids: Repeated = field(default_factory=list)


def chosen_resources(place: PlaceRead, value: Repeated) -> set[int] | None:
    """The ticked equipment of the place; None when a box is not one of the place's."""
    ticked = {value} if isinstance(value, str) else set(value)
    ids = {str(r.id): r.id for r in place.resources}
    if not ticked <= ids.keys():
        return None
    return {ids[t] for t in ticked}


async def link(
    actor: Actor, catalogue: CatalogueService, place: PlaceRead, training_id: int, ids: set[int]
) -> None:
    """Make exactly ``ids`` require the training: others that required it no longer do."""
    for resource in place.resources:
        wanted = resource.id in ids
        if wanted and resource.required_training_id != training_id:
            update = ResourceUpdate(required_training_id=training_id)
        elif not wanted and resource.required_training_id == training_id:
            update = ResourceUpdate(required_training_id=None)
        else:
            continue
        await catalogue.update_resource(actor, resource.id, update)


class TrainingPages(Controller):
    """The trainings of the places I manage."""

    path = "/manage/places/{place_id:int}/trainings"
    dependencies = {**CATALOGUE, **STAFF}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        actor: Actor,
        staff: StaffService,
        place: PlaceRead,
        *,
        form: TrainingForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        trainings = await staff.trainings(place.id)
        holders = {t.id: await staff.holders(actor, t.id) for t in trainings}
        return place_page(
            request,
            "manage/trainings.html",
            place,
            "/trainings",
            status_code=status_code,
            trainings=trainings,
            holders=holders,
            form=form or TrainingForm(),
            errors=errors or {},
        )

    async def _place(self, actor: Actor, catalogue: CatalogueService, place_id: int) -> PlaceRead:
        await catalogue.managed_place(actor, place_id)
        return await catalogue.place_detail(place_id, include_inactive=True)

    @get("/", opt=PLACE_MANAGER)
    async def trainings(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
    ) -> Template:
        """The trainings of a place, the equipment requiring each, who holds them."""
        place = await self._place(actor, catalogue, place_id)
        return await self._page(request, actor, staff, place)

    @post("/", opt=PLACE_MANAGER)
    async def create_training(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[TrainingForm],
    ) -> Response[Any]:
        """Add a training, and make the ticked equipment require it."""
        place = await self._place(actor, catalogue, place_id)
        errors: Errors = {}
        create: TrainingCreate | None = None
        try:
            create = TrainingCreate.model_validate(
                {
                    "name": data.name.strip(),
                    "description": data.description.strip(),
                    "validity_days": data.validity_days.strip() or None,
                }
            )
        except ValidationError as exc:
            errors = first_errors(exc, MESSAGES)
        ids = chosen_resources(place, data.resource_ids)
        if ids is None:
            errors["resource_ids"] = MESSAGES["resource_ids"]
        if errors or create is None or ids is None:
            errors = ordered(errors, FIELDS)
            return await self._page(
                request, actor, staff, place, form=data, errors=errors, status_code=422
            )
        training = await staff.create_training(actor, place_id, create)
        await link(actor, catalogue, place, training.id, ids)
        return see_other(f"/manage/places/{place_id}/trainings", notice="training_created")

    @post("/{training_id:int}/resources", opt=PLACE_MANAGER)
    async def link_resources(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
        training_id: FromPath[int],
        data: URLEncodedBody[LinkForm],
    ) -> Response[Any]:
        """Choose the equipment that requires a training."""
        place = await self._place(actor, catalogue, place_id)
        training = await self._training(staff, place_id, training_id)
        ids = chosen_resources(place, data.resource_ids)
        if ids is None:
            errors = {f"resources-{training.id}": MESSAGES["resource_ids"]}
            return await self._page(request, actor, staff, place, errors=errors, status_code=422)
        try:
            await link(actor, catalogue, place, training.id, ids)
        except InvalidInputError:
            errors = {f"resources-{training.id}": MESSAGES["resource_ids"]}
            return await self._page(request, actor, staff, place, errors=errors, status_code=422)
        return see_other(f"/manage/places/{place_id}/trainings", notice="training_linked")

    async def _training(self, staff: StaffService, place_id: int, training_id: int) -> TrainingRead:
        found = next((t for t in await staff.trainings(place_id) if t.id == training_id), None)
        if found is None:
            raise NotFoundError(f"No training with id {training_id}.", code="training_not_found")
        return found
