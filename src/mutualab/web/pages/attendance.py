"""Arrivals: staff mark a booking arrived from its back office page, and people check in
themselves on the kiosk page of the place (a tablet at the desk: the booking's reference and
the booker's e-mail address, no account logged in on a shared device)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.attendance_controllers import ATTENDANCE
from booking.attendance_schemas import KioskCheckIn
from booking.service import Attendance
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER, PUBLIC
from kernel.errors import ConflictError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest
from mutualab.web.rendering import page, see_other
from resources.controllers import CATALOGUE
from resources.service import CatalogueService


@dataclass
class KioskForm:
    """A check-in at the kiosk, as typed."""

    reference: str = ""
    email: str = ""


class CheckInPages(Controller):
    """Staff mark an arrival from a booking's back office page."""

    path = "/manage/bookings"
    dependencies = ATTENDANCE
    guards = [require_manager]

    @post("/{booking_id:int}/check-in", opt=PLACE_MANAGER)
    async def check_in(
        self,
        actor: NamedDependency[Actor],
        attendance: NamedDependency[Attendance],
        db_session: NamedDependency[AsyncSession],
        booking_id: FromPath[int],
    ) -> Response[Any]:
        """Mark the booking arrived, or say why it cannot be now."""
        try:
            async with db_session.begin_nested():
                await attendance.check_in(actor, booking_id)
        except ConflictError:
            return see_other(f"/manage/bookings/{booking_id}", notice="check_in_refused")
        return see_other(f"/manage/bookings/{booking_id}", notice="checked_in")


class KioskPages(Controller):
    """The kiosk of a place: people check in when they arrive."""

    path = "/kiosk/places/{place_id:int}"
    dependencies = {**CATALOGUE, **ATTENDANCE}
    opt = PUBLIC

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        place_id: int,
        form: KioskForm,
        errors: Errors,
        *,
        done: Any = None,
        status_code: int = 200,
    ) -> Template:
        place = await catalogue.place_detail(place_id)
        return page(
            request,
            "kiosk.html",
            status_code=status_code,
            private=True,
            place=place,
            form=form,
            errors=errors,
            done=done,
            zone=ZoneInfo(place.timezone),
        )

    @get("/", opt=PUBLIC)
    async def kiosk(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
    ) -> Template:
        """The check-in form of the place."""
        return await self._page(request, catalogue, place_id, KioskForm(), {})

    @post("/", opt=PUBLIC)
    async def kiosk_check_in(
        self,
        request: AnyRequest,
        catalogue: NamedDependency[CatalogueService],
        attendance: NamedDependency[Attendance],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[KioskForm],
    ) -> Template:
        """Check in with the booking's reference and e-mail, or say what is wrong."""
        errors: Errors = {}
        status = 422
        try:
            asked = KioskCheckIn.model_validate(
                {"reference": data.reference.strip(), "email": data.email.strip()}
            )
        except ValidationError as exc:
            for item in exc.errors():
                name = str(item["loc"][0])
                errors[name] = FieldError(
                    N_("Enter the reference of your booking, like MLB-59RGMB.")
                    if name == "reference"
                    else N_("Enter an e-mail address like name@example.fr.")
                )
        else:
            try:
                async with db_session.begin_nested():
                    done = await attendance.kiosk_check_in(place_id, asked)
            except NotFoundError:
                errors["reference"] = FieldError(
                    N_("No booking of this place has this reference and e-mail address.")
                )
                status = 404
            except ConflictError as exc:
                errors["reference"] = FieldError(
                    N_("This booking is not confirmed.")
                    if exc.code == "booking_not_confirmed"
                    else N_("Check-in opens 30 minutes before the start, until the end.")
                )
                status = 409
            else:
                return await self._page(request, catalogue, place_id, KioskForm(), {}, done=done)
        return await self._page(request, catalogue, place_id, data, errors, status_code=status)
