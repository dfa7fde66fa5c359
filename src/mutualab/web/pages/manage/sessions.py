"""Publish a session from the back office, and cancel one.

The form is turned into the API's request model (:class:`programme.schemas.SessionCreate`):
dates typed on the place's clock (one or several days at the same hours, or the n-th weekday
of each month), the equipment ticked, the rest as the API takes it. The rules are the
programme's (:meth:`programme.sessions.Sessions.publish`): its refusals are shown next to the
field they name; equipment taken on a date says which date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

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
from kernel.errors import AppError, ConflictError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, app_error_field, ordered, parse_time
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.pages.manage.trainings import Repeated, chosen_resources
from mutualab.web.rendering import see_other
from programme.controllers import DEPENDENCIES
from programme.dates import local_span
from programme.schemas import SessionCreate
from programme.service import Sessions
from resources.controllers import CATALOGUE
from resources.schemas import PlaceRead
from resources.service import CatalogueService

KINDS = {"workshop": N_("Workshop"), "training": N_("Training"), "event": N_("Event")}
WEEKDAYS = [
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
]
NTHS = {1: N_("first"), 2: N_("second"), 3: N_("third"), 4: N_("fourth")}
FIELDS = [
    "title",
    "description",
    "kind",
    "training_id",
    "repeat",
    "dates",
    "first_month",
    "weekday",
    "nth",
    "count",
    "starts",
    "ends",
    "seats",
    "min_attendance",
    "registration_closes_hours",
    "minimum_check_hours",
    "resource_ids",
]
MESSAGES = {
    "title": FieldError(N_("Enter a title (at most 200 characters).")),
    "description": FieldError(N_("Use at most %(n)s characters."), {"n": 4000}),
    "kind": FieldError(N_("Choose a workshop, a training or an event.")),
    "training_id": FieldError(N_("A training session names the training it grants.")),
    "repeat": FieldError(N_("Choose dates, or every month.")),
    "dates": FieldError(N_("Enter one or more dates to come, like 2027-03-06, one per line.")),
    "first_month": FieldError(N_("Enter the first month, like 2027-03.")),
    "count": FieldError(N_("Enter a number of months from 1 to 24.")),
    "starts": FieldError(N_("Enter a start time like 14:00.")),
    "ends": FieldError(N_("The end must be after the start.")),
    "seats": FieldError(N_("Enter a number of seats from 1 to 1000.")),
    "min_attendance": FieldError(N_("Enter a minimum from 0 up to the number of seats.")),
    "registration_closes_hours": FieldError(N_("Enter a number of hours from 0 to 1440.")),
    "minimum_check_hours": FieldError(N_("Enter a number of hours from 0 to 1440.")),
    "resource_ids": FieldError(N_("Choose equipment of this place.")),
}
# The API's field names (its 422s) as the form's.
_FIELD_OF = {
    "resources": "resource_ids",
    "recurrence": "first_month",
    "registration_deadline": "registration_closes_hours",
}
_DATE_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass
class SessionForm:
    """A session to publish, as typed (local dates and times of the place)."""

    title: str = ""
    description: str = ""
    kind: str = "workshop"
    training_id: str = ""
    repeat: str = "dates"
    dates: str = ""
    first_month: str = ""
    weekday: str = "5"
    nth: str = "1"
    count: str = "3"
    starts: str = ""
    ends: str = ""
    seats: str = "12"
    min_attendance: str = "0"
    registration_closes_hours: str = "0"
    minimum_check_hours: str = "48"
    resource_ids: Repeated = field(default_factory=list)


@dataclass
class CancelForm:
    """Why the place cancels a session."""

    reason: str = ""


def parse_dates(text: str) -> list[date] | None:
    """Days typed as 2027-03-06 or 06/03/2027, separated by lines, spaces or commas."""
    days = []
    for word in _DATE_SEPARATORS.split(text.strip()):
        if not word:
            continue
        try:
            if "/" in word:
                day, month, year = (int(part) for part in word.split("/"))
                days.append(date(year, month, day))
            else:
                days.append(date.fromisoformat(word))
        except ValueError:
            return None
    return sorted(set(days)) or None


def _month(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:7] + "-01")
    except ValueError:
        return None


def _whole(text: str) -> int | str:
    """A whole number typed, or the text as it is (the model then names the field)."""
    return int(text.strip()) if text.strip().isdigit() else text.strip()


def session_request(data: SessionForm, place: PlaceRead, errors: Errors) -> SessionCreate | None:
    """The API's request for the form, or None with ``errors`` filled, field by field."""
    tz = ZoneInfo(place.timezone)
    starts, ends = parse_time(data.starts), parse_time(data.ends)
    if starts is None:
        errors["starts"] = MESSAGES["starts"]
    if ends is None or (starts is not None and ends <= starts):
        errors["ends"] = MESSAGES["ends"]
    ids = chosen_resources(place, data.resource_ids)
    if ids is None:
        errors["resource_ids"] = MESSAGES["resource_ids"]
    body: dict[str, Any] = {
        "title": data.title,
        "description": data.description,
        "kind": data.kind,
        "training_id": _whole(data.training_id) if data.training_id.strip() else None,
        "seats": _whole(data.seats),
        "min_attendance": _whole(data.min_attendance or "0"),
        "registration_closes_hours": _whole(data.registration_closes_hours or "0"),
        "minimum_check_hours": _whole(data.minimum_check_hours or "0"),
        "resources": [{"resource_id": rid, "quantity": 1} for rid in sorted(ids or ())],
    }
    if data.repeat == "monthly":
        first = _month(data.first_month)
        if first is None:
            errors["first_month"] = MESSAGES["first_month"]
        count = _whole(data.count)
        if not isinstance(count, int) or not 1 <= count <= 24:
            errors["count"] = MESSAGES["count"]
        if first is not None and starts is not None and ends is not None:
            body["recurrence"] = {
                "first_month": first,
                "weekday": _whole(data.weekday),
                "nth": _whole(data.nth),
                "count": count,
                "starts": starts,
                "ends": ends,
            }
    elif data.repeat == "dates":
        days = parse_dates(data.dates)
        if days is None:
            errors["dates"] = MESSAGES["dates"]
        elif starts is not None and ends is not None and ends > starts:
            spans = [local_span(day, starts, ends, tz) for day in days]
            body["dates"] = [{"starts_at": s, "ends_at": e} for s, e in spans]
    else:
        errors["repeat"] = MESSAGES["repeat"]
    try:
        made = SessionCreate.model_validate(body)
    except ValidationError as exc:
        for item in exc.errors():
            name = str(item["loc"][0]) if item["loc"] else "title"
            name = _FIELD_OF.get(name, name)
            errors.setdefault(name, MESSAGES.get(name, MESSAGES["title"]))
        return None
    return None if errors else made


def refusal(exc: AppError, tz: ZoneInfo) -> tuple[str, FieldError]:
    """The field a refusal of the programme is about, and what to say there."""
    starts_at = exc.extra.get("starts_at")
    if isinstance(exc, ConflictError) and isinstance(starts_at, str):
        local = datetime.fromisoformat(starts_at).astimezone(tz)
        return "resource_ids", FieldError(
            N_("The equipment is taken on %(day)s at %(time)s: choose another date or equipment."),
            {"day": local.date().isoformat(), "time": local.strftime("%H:%M")},
        )
    name = (app_error_field(exc) or "").split("[")[0].split(".")[0]
    if name == "dates" and "ends_at" in (app_error_field(exc) or ""):
        name = "ends"
    if name == "dates" and "starts_at" in (app_error_field(exc) or ""):
        return "dates", FieldError(N_("A session is published before it starts."))
    name = _FIELD_OF.get(name, name)
    if name == "min_attendance":
        return name, MESSAGES["min_attendance"]
    if name in MESSAGES:
        return name, MESSAGES[name]
    return "resource_ids", FieldError(
        N_("The equipment cannot be occupied then (maintenance, or a time past).")
    )


class SessionPages(Controller):
    """A place's managers publish sessions and cancel them from the back office."""

    path = "/manage"
    dependencies = {**CATALOGUE, **DEPENDENCIES, **STAFF}
    guards = [require_manager]
    opt = PLACE_MANAGER

    async def _form(
        self,
        request: AnyRequest,
        staff: StaffService,
        place: PlaceRead,
        form: SessionForm,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        return place_page(
            request,
            "manage/session_form.html",
            place,
            "/programme",
            status_code=status_code,
            form=form,
            errors=errors or {},
            trainings=await staff.trainings(place.id),
            KINDS=KINDS,
            WEEKDAYS=WEEKDAYS,
            NTHS=NTHS,
        )

    async def _place(self, actor: Actor, catalogue: CatalogueService, place_id: int) -> PlaceRead:
        await catalogue.managed_place(actor, place_id)
        return await catalogue.place_detail(place_id, include_inactive=True)

    @get("/places/{place_id:int}/sessions/new", opt=PLACE_MANAGER)
    async def new_session(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        place_id: FromPath[int],
    ) -> Template:
        """The form to publish a session of the place."""
        place = await self._place(actor, catalogue, place_id)
        return await self._form(request, staff, place, SessionForm())

    @post("/places/{place_id:int}/sessions/new", opt=PLACE_MANAGER)
    async def publish(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        staff: NamedDependency[StaffService],
        sessions: NamedDependency[Sessions],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[SessionForm],
    ) -> Response[Any]:
        """Publish the session on each date (all or nothing), then back to the programme."""
        place = await self._place(actor, catalogue, place_id)
        errors: Errors = {}
        made = session_request(data, place, errors)
        status = 422
        if made is not None:
            try:
                async with db_session.begin_nested():
                    await sessions.publish(actor, place_id, made)
            except AppError as exc:
                if isinstance(exc, NotFoundError) or exc.status_code == 403:
                    raise
                name, message = refusal(exc, ZoneInfo(place.timezone))
                errors[name] = message
                status = exc.status_code
        if made is None or errors:
            return await self._form(
                request, staff, place, data, ordered(errors, FIELDS), status_code=status
            )
        return see_other(f"/manage/places/{place_id}/programme", notice="sessions_published")

    @post("/sessions/{session_id:int}/cancel", opt=PLACE_MANAGER)
    async def cancel(
        self,
        actor: NamedDependency[Actor],
        sessions: NamedDependency[Sessions],
        session_id: FromPath[int],
        data: URLEncodedBody[CancelForm],
    ) -> Response[Any]:
        """Cancel a session: registrations cancelled, resources released, registrants told."""
        await sessions.cancel(actor, session_id, data.reason.strip()[:300])
        return see_other(f"/manage/sessions/{session_id}", notice="session_cancelled")
