"""The front desk: a manager books for someone related to the place, or for a walk-in.

The booking goes through the booking service's one create path, for that person at their rate
(the quote is what is charged), paid on site or on invoice when it has a price; the page then
opens the booking, where its payment is received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.guests import walk_in
from booking.controllers import BOOKINGS
from booking.desk_people import DeskPeople, DeskPerson
from booking.schemas import BookingCreate, ItemRequest
from booking.service import Bookings
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import AppError, InvalidInputError, NotFoundError
from kernel.routes import get, post
from mutualab.web.booking_forms import FALLBACK_REFUSAL, REFUSALS
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_day, parse_whole, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.models import Resource
from resources.schemas import PlaceRead
from resources.service import CatalogueService

Text = Annotated[str, QueryParameter(max_length=120)]
_HHMM = re.compile(r"^([01]?\d|2[0-3])[:hH]([0-5]\d)$")
MAX_NOTES = 1000
DESK_REFUSALS: dict[str, tuple[str | None, str]] = {
    **REFUSALS,
    "training_required": (
        None,
        N_("This person does not hold the training this equipment needs on that day."),
    ),
    "quota_exceeded": (None, N_("This person has reached the booking limit for that period.")),
    "no_rate": (None, N_("This equipment is not offered at this person's rate.")),
    "invoice_not_allowed": (
        "pay_by",
        N_("This person cannot be invoiced (e-mail address not verified): take it on site."),
    ),
    "invalid_payment_method": ("pay_by", N_("Choose how the booking is paid.")),
    "user_not_found": ("person_id", N_("Choose a person from the search results.")),
    "invalid_name": ("name", N_("Enter the person's name.")),
    "bad_email": ("email", N_("Enter an e-mail address like name@example.fr.")),
    "bad_phone": ("phone", N_("Enter a phone number like 02 96 00 00 00.")),
    "account_closed": ("email", N_("This address belongs to a closed account.")),
}


@dataclass
class DeskForm:
    """A front-desk booking, as typed (local time of the place)."""

    resource_id: str = ""
    quantity: str = "1"
    day: str = ""
    start: str = ""
    end: str = ""
    who: str = ""  # "person" or "walk_in"
    person_id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    pay_by: str = "on_site"
    notes: str = ""


def parse_time(text: str) -> time | None:
    """``14:00`` or ``14h00``; None otherwise."""
    match = _HHMM.match(text.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _hhmm(moment: time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


class DeskPages(Controller):
    """The front desk of the places I manage."""

    path = "/manage/places/{place_id:int}/desk"
    dependencies = {**CATALOGUE, **BOOKINGS}
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        place: PlaceRead,
        resources: list[Resource],
        people: DeskPeople,
        form: DeskForm,
        *,
        q: str = "",
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        found = await people.search(place.id, q) if q else []
        chosen: DeskPerson | None = None
        if form.person_id.isdigit():
            try:
                chosen = await people.person(place.id, int(form.person_id))
            except NotFoundError:
                chosen = None
        return place_page(
            request,
            "manage/desk.html",
            place,
            "/desk",
            status_code=status_code,
            resources=resources,
            form=form,
            q=q,
            found=found,
            chosen=chosen,
            errors=errors or {},
        )

    @get("/", opt=PLACE_MANAGER)
    async def desk(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        resource: Annotated[int | None, QueryParameter()] = None,
        day: Text = "",
        start: Text = "",
        q: Text = "",
        person: Annotated[int | None, QueryParameter()] = None,
    ) -> Template:
        """The front-desk booking form, prefilled from the planning (resource, day, start)."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        resources = await catalogue.active_resources_of(place_id)
        today = clock().astimezone(ZoneInfo(place.timezone)).date()
        first = parse_time(start)
        chosen = next((r for r in resources if r.id == resource), None)
        length = timedelta(minutes=max(chosen.min_minutes, 60) if chosen else 60)
        end = (datetime.combine(date.min, first) + length).time() if first else None
        form = DeskForm(
            resource_id=str(resource or ""),
            day=(parse_day(day) or today).isoformat(),
            start=_hhmm(first) if first else "",
            end=_hhmm(end) if end and first and end > first else "",
            who="person" if person else "",
            person_id=str(person or ""),
        )
        return await self._page(request, place, resources, DeskPeople(db_session), form, q=q)

    @post("/", opt=PLACE_MANAGER)
    async def book(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        bookings: NamedDependency[Bookings],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[DeskForm],
    ) -> Response[Any]:
        """Book for a person of the place or a walk-in, at their rate, through the booking
        service."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        resources = await catalogue.active_resources_of(place_id)
        people = DeskPeople(db_session)
        errors, parsed = _parse(data, resources, ZoneInfo(place.timezone))
        status = 422
        if not errors and parsed is not None:
            items, starts_at, ends_at = parsed
            try:
                async with db_session.begin_nested():
                    if data.who == "person":
                        user_id = (await people.person(place_id, int(data.person_id))).id
                    else:
                        guest = await walk_in(
                            db_session, place_id, data.name, data.email, data.phone, clock()
                        )
                        assert guest.id is not None
                        user_id = guest.id
                    booking = await bookings.create(
                        actor,
                        BookingCreate(
                            items=items,
                            starts_at=starts_at,
                            ends_at=ends_at,
                            notes=data.notes.strip(),
                        ),
                        for_user=user_id,
                        pay_by=data.pay_by,
                    )
            except AppError as exc:
                field, message = DESK_REFUSALS.get(exc.code, (None, FALLBACK_REFUSAL))
                if isinstance(exc, InvalidInputError) and field is None:
                    field = "end"
                errors[field or "form"] = FieldError(message)
                status = 422 if isinstance(exc, InvalidInputError) else 409
                if exc.code in ("user_not_found",):
                    status = 422
            else:
                return see_other(f"/manage/bookings/{booking.id}", notice="desk_booked")
        return await self._page(
            request, place, resources, people, data, errors=errors, status_code=status
        )


def _parse(
    data: DeskForm, resources: list[Resource], tz: ZoneInfo
) -> tuple[Errors, tuple[list[ItemRequest], datetime, datetime] | None]:
    """The form's fields checked one by one: errors by field, or the request."""
    errors: Errors = {}
    resource = next((r for r in resources if str(r.id) == data.resource_id.strip()), None)
    if resource is None or resource.id is None:
        errors["resource_id"] = FieldError(N_("Choose the equipment."))
    quantity = parse_whole(data.quantity or "1", 1, 1000)
    if quantity is None:
        errors["quantity"] = FieldError(N_("Enter a number of units, 1 or more."))
    day = parse_day(data.day)
    if day is None:
        errors["day"] = FieldError(N_("Enter a date like 2027-03-03."))
    start, end = parse_time(data.start), parse_time(data.end)
    if start is None:
        errors["start"] = FieldError(N_("Enter a start time like 14:00."))
    if end is None:
        errors["end"] = FieldError(N_("Enter an end time like 15:30."))
    elif start is not None and end <= start:
        errors["end"] = FieldError(N_("The end must be after the start."))
    if data.who == "person":
        if not data.person_id.strip().isdigit():
            errors["person_id"] = FieldError(N_("Choose a person from the search results."))
    elif data.who == "walk_in":
        if not data.name.strip():
            errors["name"] = FieldError(N_("Enter the person's name."))
    else:
        errors["who"] = FieldError(N_("Say who the booking is for."))
    if data.pay_by not in ("on_site", "invoice"):
        errors["pay_by"] = FieldError(N_("Choose how the booking is paid."))
    if len(data.notes) > MAX_NOTES:
        errors["notes"] = FieldError(N_("Use at most %(n)s characters."), {"n": MAX_NOTES})
    if errors or resource is None or resource.id is None or quantity is None:
        return errors, None
    assert day is not None and start is not None and end is not None
    return errors, (
        [ItemRequest(resource_id=resource.id, quantity=quantity)],
        datetime.combine(day, start, tz),
        datetime.combine(day, end, tz),
    )
