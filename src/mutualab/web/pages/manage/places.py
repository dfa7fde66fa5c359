"""A place's back office: its overview and the form of its public details."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

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
from resources.models import Place
from resources.schemas import PlaceRead, PlaceUpdate
from resources.service import CatalogueService

DETAIL_FIELDS = [
    "name",
    "address",
    "postcode",
    "town",
    "phone",
    "email",
    "website",
    "description",
    "on_site_payment",
    "reminder_hours",
    "mail_from",
    "ics_alarm_minutes",
    "no_show_release_minutes",
]
# Optional details: an empty field removes them.
OPTIONAL = ("phone", "email", "website", "mail_from")
DETAIL_MESSAGES = {
    "name": FieldError(N_("Enter the name of the place (120 characters at most).")),
    "address": FieldError(N_("Enter the street address.")),
    "postcode": FieldError(N_("Enter a French postcode of 5 digits, like 22300.")),
    "town": FieldError(N_("Enter the town.")),
    "phone": FieldError(N_("Use at most %(n)s characters."), {"n": 40}),
    "email": FieldError(N_("Enter an e-mail address like name@example.fr.")),
    "website": FieldError(N_("Enter a web address starting with https://.")),
    "description": FieldError(N_("This description is too long.")),
    "on_site_payment": FieldError(N_("Use at most %(n)s characters."), {"n": 500}),
    "reminder_hours": FieldError(N_("Enter a number of hours from 0 to %(n)s."), {"n": 336}),
    "mail_from": FieldError(N_("Enter an e-mail address like name@example.fr.")),
    "ics_alarm_minutes": FieldError(N_("Enter a number of minutes from 0 to %(n)s."), {"n": 10080}),
    "no_show_release_minutes": FieldError(
        N_("Enter a number of minutes from %(low)s to %(n)s, or leave it empty."),
        {"low": 5, "n": 1440},
    ),
}


@dataclass
class DetailsForm:
    """The public details of a place, as typed."""

    name: str = ""
    address: str = ""
    postcode: str = ""
    town: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    description: str = ""
    on_site_payment: str = ""
    # Not public: how the place's e-mails are sent (empty hours: unchanged).
    reminder_hours: str = ""
    mail_from: str = ""
    ics_alarm_minutes: str = ""
    # Empty: bookings nobody checked in are never released.
    no_show_release_minutes: str = ""


def details_of(place: PlaceRead, stored: Place) -> DetailsForm:
    """The form filled with what is stored (``stored``: what the public does not see)."""
    return DetailsForm(
        name=place.name,
        address=place.address,
        postcode=place.postcode,
        town=place.town,
        phone=place.phone or "",
        email=place.email or "",
        website=place.website or "",
        description=place.description,
        on_site_payment=place.on_site_payment,
        reminder_hours=str(stored.reminder_hours),
        mail_from=stored.mail_from or "",
        ics_alarm_minutes=str(stored.ics_alarm_minutes),
        no_show_release_minutes=(
            str(stored.no_show_release_minutes) if stored.no_show_release_minutes else ""
        ),
    )


class PlacePages(Controller):
    """The overview and details of a place I manage."""

    path = "/manage/places/{place_id:int}"
    dependencies = CATALOGUE
    guards = [require_manager]

    @get("/", opt=PLACE_MANAGER)
    async def overview(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
    ) -> Template:
        """The sections of a place's back office."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(request, "manage/place.html", place, "")

    @get("/details", opt=PLACE_MANAGER)
    async def details_form(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
    ) -> Template:
        """The public details of a place, as a form."""
        stored = await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        form = details_of(place, stored)
        return place_page(request, "manage/details.html", place, "/details", form=form, errors={})

    @post("/details", opt=PLACE_MANAGER)
    async def save_details(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[DetailsForm],
    ) -> Response[Any]:
        """Change the public details of a place, or show what to correct."""
        await catalogue.managed_place(actor, place_id)
        values: dict[str, Any] = asdict(data)
        for name in (*OPTIONAL, "no_show_release_minutes"):
            values[name] = values[name].strip() or None
        # An empty lead leaves it as it is (a form posted before the field existed).
        for name in ("reminder_hours", "ics_alarm_minutes"):
            if not values[name].strip():
                del values[name]
        errors: Errors
        try:
            update = PlaceUpdate.model_validate(values)
        except ValidationError as exc:
            errors = first_errors(exc, DETAIL_MESSAGES)
        else:
            try:
                async with db_session.begin_nested():
                    await catalogue.update_place(actor, place_id, update)
            except InvalidInputError as exc:
                name = app_error_field(exc) or "name"
                errors = {
                    name: DETAIL_MESSAGES.get(name, FieldError(N_("This value is not valid.")))
                }
            else:
                return see_other(f"/manage/places/{place_id}", notice="place_saved")
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place_page(
            request,
            "manage/details.html",
            place,
            "/details",
            status_code=422,
            form=data,
            errors=ordered(errors, DETAIL_FIELDS),
        )
