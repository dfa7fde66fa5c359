"""People at the front desk: find someone by e-mail, certify a training, grant a reduced rate,
answer the rate they asked for (approve or refuse); the people whose bookings were released
because nobody came."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.schemas import CertificationGrant, UserSummary
from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from booking.attendance_controllers import ATTENDANCE
from booking.attendance_schemas import NoShowCount
from booking.service import Attendance
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import AppError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_day, place_page
from mutualab.web.rendering import i18n_of, see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead
from resources.service import CatalogueService

EmailQuery = Annotated[str, QueryParameter(max_length=254)]


@dataclass
class CertifyForm:
    """A certification to record, as typed."""

    email: str = ""
    training_id: str = ""
    granted_on: str = ""


@dataclass
class RateRequestForm:
    """The answer to the rate a person asked for."""

    email: str = ""
    decision: str = ""


@dataclass
class RateForm:
    """A rate to grant, as chosen."""

    email: str = ""
    user_type: str = ""


class PeoplePages(Controller):
    """The people pages of the places I manage."""

    path = "/manage/places/{place_id:int}/people"
    dependencies = {**CATALOGUE, **STAFF, **ATTENDANCE}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        staff: StaffService,
        place: PlaceRead,
        today: str,
        *,
        email: str = "",
        person: UserSummary | None = None,
        certify: CertifyForm | None = None,
        rate: RateForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
        no_shows: list[NoShowCount] | None = None,
    ) -> Template:
        lang = i18n_of(request).lang
        types = await staff.user_types(place.id)
        labels = {t.code: (t.label_fr if lang == "fr" else t.label_en) for t in types}
        # The rate the person books at here: this place's grant, else their rate everywhere.
        place_rate = person.rates.get(place.id, person.user_type) if person else ""
        return place_page(
            request,
            "manage/people.html",
            place,
            "/people",
            status_code=status_code,
            email=email,
            person=person,
            place_rate=place_rate,
            certify=certify or CertifyForm(granted_on=today),
            rate=rate or RateForm(user_type=place_rate),
            trainings=await staff.trainings(place.id),
            person_types=[(t.code, labels[t.code]) for t in types if not t.for_organisations],
            type_label=lambda code: labels.get(code, code),
            errors=errors or {},
            no_shows=no_shows,
            person_no_shows=next(
                (c.no_shows for c in no_shows or [] if person and c.user_id == person.id), 0
            ),
        )

    async def _setting(
        self, actor: Actor, catalogue: CatalogueService, clock: Clock, place_id: int
    ) -> tuple[PlaceRead, str]:
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place, clock().astimezone(ZoneInfo(place.timezone)).date().isoformat()

    async def _person(self, actor: Actor, staff: StaffService, email: str) -> UserSummary | None:
        try:
            return await staff.find_user(actor, email)
        except NotFoundError:
            return None

    @get("/", opt=PLACE_MANAGER)
    async def people(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        attendance: NamedDependency[Attendance],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        email: EmailQuery = "",
    ) -> Template:
        """Find a person by e-mail, then certify a training or grant a rate; the no-shows."""
        place, today = await self._setting(actor, catalogue, clock, place_id)
        no_shows = await attendance.no_shows(actor, place_id)
        email = email.strip()
        if not email:
            return await self._page(request, staff, place, today, no_shows=no_shows)
        person = await self._person(actor, staff, email)
        if person is None:
            errors = {"email": FieldError(N_("No account uses this e-mail address."))}
            return await self._page(
                request,
                staff,
                place,
                today,
                email=email,
                errors=errors,
                status_code=404,
                no_shows=no_shows,
            )
        return await self._page(
            request, staff, place, today, email=email, person=person, no_shows=no_shows
        )

    async def _after_post(
        self,
        request: AnyRequest,
        staff: StaffService,
        place: PlaceRead,
        today: str,
        person: UserSummary,
        errors: Errors,
        certify: CertifyForm | None = None,
        rate: RateForm | None = None,
    ) -> Response[Any]:
        return await self._page(
            request,
            staff,
            place,
            today,
            email=person.email,
            person=person,
            certify=certify,
            rate=rate,
            errors=errors,
            status_code=422,
        )

    @post("/certifications", opt=PLACE_MANAGER)
    async def certify(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[CertifyForm],
    ) -> Response[Any]:
        """Record that a person completed one of this place's trainings."""
        place, today = await self._setting(actor, catalogue, clock, place_id)
        person = await self._person(actor, staff, data.email)
        if person is None:
            return see_other(f"/manage/places/{place_id}/people")
        trainings = {str(t.id) for t in await staff.trainings(place_id)}
        errors: Errors = {}
        if data.training_id not in trainings:
            errors["training_id"] = FieldError(N_("Choose a training of this place."))
        granted_on = parse_day(data.granted_on)
        if granted_on is None:
            errors["granted_on"] = FieldError(N_("Enter a date like 24/12/2027."))
        if not errors and granted_on is not None:
            try:
                grant = CertificationGrant(user_id=person.id, granted_on=granted_on)
                async with db_session.begin_nested():
                    await staff.certify(actor, int(data.training_id), grant)
            except (ValidationError, AppError):
                errors["training_id"] = FieldError(N_("This certification cannot be recorded."))
            else:
                return see_other(
                    f"/manage/places/{place_id}/people", email=person.email, notice="certified"
                )
        return await self._after_post(request, staff, place, today, person, errors, certify=data)

    @post("/rate", opt=PLACE_MANAGER)
    async def grant_rate(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[RateForm],
    ) -> Response[Any]:
        """Give a person a rate at this place (e.g. student) after checking their proof."""
        place, today = await self._setting(actor, catalogue, clock, place_id)
        person = await self._person(actor, staff, data.email)
        if person is None:
            return see_other(f"/manage/places/{place_id}/people")
        try:
            async with db_session.begin_nested():
                await staff.grant_user_type(actor, person.id, data.user_type, place_id)
        except AppError:
            errors = {"user_type": FieldError(N_("Choose a rate from the list."))}
            return await self._after_post(request, staff, place, today, person, errors, rate=data)
        return see_other(
            f"/manage/places/{place_id}/people", email=person.email, notice="rate_granted"
        )

    @post("/rate-request", opt=PLACE_MANAGER)
    async def answer_rate_request(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[RateRequestForm],
    ) -> Response[Any]:
        """Grant here the rate a person asked for (after checking their proof), or refuse it."""
        place, today = await self._setting(actor, catalogue, clock, place_id)
        person = await self._person(actor, staff, data.email)
        if person is None:
            return see_other(f"/manage/places/{place_id}/people")
        asked = person.requested_user_type
        errors: Errors = {}
        if data.decision not in ("approve", "refuse"):
            errors["decision"] = FieldError(N_("Approve or refuse the request."))
        elif asked is None:
            errors["decision"] = FieldError(N_("This person asks for no rate any more."))
        else:
            try:
                async with db_session.begin_nested():
                    if data.decision == "approve":
                        await staff.grant_user_type(actor, person.id, asked, place_id)
                    else:
                        await staff.refuse_rate_request(actor, person.id, place_id)
            except AppError:
                errors["decision"] = FieldError(
                    N_("This rate is not offered here: grant another one below, or refuse.")
                )
            else:
                notice = (
                    "rate_request_approved"
                    if data.decision == "approve"
                    else "rate_request_refused"
                )
                return see_other(
                    f"/manage/places/{place_id}/people", email=person.email, notice=notice
                )
        return await self._after_post(request, staff, place, today, person, errors)
