"""The school journey: book a room (and class seats) every week of a term, see which weeks
conflict, give the purchase order, pay on invoice, then the series with its invoices.

Every rule lives in the services (:class:`SeriesBillingService` over the booking engine); these
handlers turn the form into a :class:`SeriesQuoteRequest` and the refusals into messages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.controllers import ACCOUNTS
from accounts.service import AccountService
from billing.schemas import SeriesCheckoutRequest, SeriesQuoteRead, SeriesQuoteRequest
from billing.series import SeriesBillingService
from billing.series_controllers import SERIES_BILLING
from booking.models import ACTIVE_STATUSES
from booking.schemas import SeriesRead
from booking.series import WEEKDAYS
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import BOOKING, USER
from kernel.clock import Clock
from kernel.errors import AppError, ConflictError, ForbiddenError, InvalidInputError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError, app_error_field, ordered, parse_time
from mutualab.web.i18n import N_
from mutualab.web.rendering import i18n_of, page, see_other, upper_first
from resources.controllers import CATALOGUE
from resources.repository import ResourceFilter
from resources.schemas import ResourceRead
from resources.school_holidays import Holiday, holiday_dates, holidays, zone_of
from resources.service import CatalogueService

AnyRequest = Request[Any, Any, Any]
FIELDS = [
    "organisation_id",
    "weekday",
    "first_date",
    "last_date",
    "start_time",
    "end_time",
    "seats_id",
    "seats_quantity",
    "notes",
    "purchase_order",
    "method",
    "from_date",
]
MAX_NOTES = 1000
MAX_SEATS = 1000
# Where the services' field names land on the form.
SERVICE_FIELDS = {
    "rule": "last_date",
    "first_date": "first_date",
    "start_time": "start_time",
    "duration_minutes": "end_time",
    "items[1].quantity": "seats_quantity",
    "purchase_order": "purchase_order",
    "organisation_id": "organisation_id",
    "method": "method",
}
MESSAGES = {
    "organisation_id": FieldError(N_("Choose whom you book for from the list.")),
    "weekday": FieldError(N_("Choose a day of the week.")),
    "first_date": FieldError(N_("Enter the first day of the term, like 2027-09-07.")),
    "last_date": FieldError(N_("Enter the last day of the term, after the first one.")),
    "start_time": FieldError(N_("Enter a start time like 14:00.")),
    "end_time": FieldError(N_("Enter an end time after the start, like 16:00.")),
    "seats_id": FieldError(N_("Choose the seats from the list.")),
    "seats_quantity": FieldError(N_("Enter a number of seats from 1 to the pool's size.")),
    "notes": FieldError(N_("Use at most %(n)s characters."), {"n": MAX_NOTES}),
    "purchase_order": FieldError(N_("Enter the purchase-order number your school gave you.")),
    "method": FieldError(N_("Choose how to pay from the list.")),
}
# Why a week cannot be booked, by the engine's reason code.
REASONS = {
    "outside_opening_hours": N_("The place is closed (public holiday, closure or hours)."),
    "blackout": N_("%(name)s is under maintenance."),
    "too_far_ahead": N_("Too far ahead to book yet."),
    "insufficient_notice": N_("Too soon to book."),
    "in_the_past": N_("This date has passed."),
    "quota_exceeded": N_("Over the place's booking quota."),
    "training_required": N_("A training is required."),
}
TAKEN = N_("%(name)s is already booked.")
NOT_ENOUGH = N_("Not enough free seats of %(name)s.")
UNAVAILABLE = N_("Not available.")
METHODS = {"invoice": N_("On invoice (purchase order)"), "on_site": N_("On site")}
# How the place invoices a series paid on invoice (billing.invoice_periods).
INVOICE_PERIODS = {
    "booking": N_("One invoice per date"),
    "month": N_("One invoice per purchase order and month"),
    "quarter": N_("One invoice per purchase order and quarter"),
}
INVOICE_ISSUES = {
    "booking.at_booking": N_("issued at booking"),
    "booking.period_start": N_("issued on the day of the session"),
    "booking.period_end": N_("issued the day after the session"),
    "month.at_booking": N_("issued at booking"),
    "month.period_start": N_("issued on the first day of the month"),
    "month.period_end": N_("issued on the first day of the next month"),
    "quarter.at_booking": N_("issued at booking"),
    "quarter.period_start": N_("issued on the first day of the quarter"),
    "quarter.period_end": N_("issued on the first day of the next quarter"),
}


@dataclass
class SeriesForm:
    """The series form, as typed; the confirmation adds the purchase order and the method."""

    organisation_id: str = ""
    weekday: str = "1"
    first_date: str = ""
    last_date: str = ""
    start_time: str = "14:00"
    end_time: str = "16:00"
    seats_id: str = ""
    seats_quantity: str = ""
    notes: str = ""
    purchase_order: str = ""
    method: str = "invoice"
    # "1": leave out the school-holiday weeks of the place's zone.
    skip_holidays: str = ""
    quote_fingerprint: str = ""
    step: str = "preview"


@dataclass
class CancelForm:
    """Cancel a series from a date on."""

    from_date: str = ""


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _int(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def skipped_holidays(form: SeriesForm, zone: str | None) -> list[Holiday]:
    """The school holidays of the place's zone over the term, when the form skips them."""
    first, last = _date(form.first_date), _date(form.last_date)
    if form.skip_holidays != "1" or zone is None or first is None or last is None:
        return []
    return holidays(zone, first, last)


def series_request(
    form: SeriesForm, room_id: int, seat_ids: set[int], zone: str | None = None
) -> tuple[SeriesQuoteRequest | None, Errors]:
    """The service's request for what was typed, or the errors to show by the fields."""
    errors: Errors = {}
    organisation = _int(form.organisation_id) if form.organisation_id else None
    if form.organisation_id and organisation is None:
        errors["organisation_id"] = MESSAGES["organisation_id"]
    weekday = _int(form.weekday)
    if weekday is None or weekday > 6:
        errors["weekday"] = MESSAGES["weekday"]
    first, last = _date(form.first_date), _date(form.last_date)
    if first is None:
        errors["first_date"] = MESSAGES["first_date"]
    if last is None or (first is not None and last < first):
        errors["last_date"] = MESSAGES["last_date"]
    start, end = parse_time(form.start_time), parse_time(form.end_time)
    if start is None:
        errors["start_time"] = MESSAGES["start_time"]
    if end is None or (start is not None and end <= start):
        errors["end_time"] = MESSAGES["end_time"]
    items: list[dict[str, int]] = [{"resource_id": room_id, "quantity": 1}]
    seats = _int(form.seats_id) if form.seats_id else None
    if form.seats_id and (seats is None or seats not in seat_ids):
        errors["seats_id"] = MESSAGES["seats_id"]
    quantity = _int(form.seats_quantity) if form.seats_quantity.strip() else None
    typed = bool(form.seats_quantity.strip())
    if (typed and (quantity is None or not 1 <= quantity <= MAX_SEATS)) or (
        seats is not None and quantity is None
    ):
        errors["seats_quantity"] = MESSAGES["seats_quantity"]
    if seats is not None and quantity is not None:
        items.append({"resource_id": seats, "quantity": quantity})
    if len(form.notes) > MAX_NOTES:
        errors["notes"] = MESSAGES["notes"]
    if errors:
        return None, ordered(errors, FIELDS)
    assert first is not None and last is not None and start is not None and end is not None
    assert weekday is not None
    minutes = (datetime.combine(first, end) - datetime.combine(first, start)) // timedelta(
        minutes=1
    )
    # The holiday weeks are left out as exclusion dates: the rule stays "every <day>".
    exdates = sorted(
        day
        for day in (holiday_dates(zone, first, last) if zone and form.skip_holidays == "1" else ())
        if day.weekday() == weekday
    )
    try:
        request = SeriesQuoteRequest.model_validate(
            {
                "items": items,
                "rule": f"FREQ=WEEKLY;BYDAY={WEEKDAYS[weekday]};UNTIL={last:%Y%m%d}",
                "first_date": first,
                "start_time": start,
                "duration_minutes": minutes,
                "exdates": exdates,
                "organisation_id": organisation,
                "notes": form.notes,
            }
        )
    except ValidationError:
        return None, {"first_date": FieldError(N_("This value is not valid."))}
    return request, {}


def service_errors(exc: AppError) -> Errors:
    """A refusal of the services, shown by the field it is about."""
    if exc.code == "not_a_member":
        return {"organisation_id": MESSAGES["organisation_id"]}
    if exc.code == "series_too_long":
        return {"last_date": FieldError(N_("A series may last at most about a year."))}
    if exc.code == "series_empty":
        return {"first_date": FieldError(N_("No such weekday between these two dates."))}
    if exc.code == "no_rate":
        return {"organisation_id": FieldError(N_("This place has no rate for you here."))}
    if exc.code == "payment_method_not_allowed":
        return {"method": FieldError(N_("This place does not accept this way of paying."))}
    if exc.code == "over_capacity":
        return {"seats_quantity": MESSAGES["seats_quantity"]}
    field = SERVICE_FIELDS.get(app_error_field(exc) or "", "first_date")
    return {field: MESSAGES.get(field, FieldError(N_("This value is not valid.")))}


def reason_text(
    reason: str | None, resource_id: int | None, resources: dict[int, ResourceRead]
) -> tuple[str, dict[str, object]]:
    """The message id (and its placeholders) saying why a week is not free."""
    resource = resources.get(resource_id) if resource_id is not None else None
    name = resource.name if resource is not None else ""
    if reason == "slot_unavailable" and resource is not None:
        return (NOT_ENOUGH if resource.capacity > 1 else TAKEN), {"name": name}
    if reason in REASONS:
        return REASONS[reason], {"name": name}
    return UNAVAILABLE, {}


class SeriesPages(Controller):
    """Book a resource every week (classes, clubs) and follow the series' invoices."""

    path = "/"
    dependencies = {**ACCOUNTS, **CATALOGUE, **SERIES_BILLING}
    guards = [require_user]

    async def _form_page(
        self,
        request: AnyRequest,
        actor: Actor,
        accounts: AccountService,
        catalogue: CatalogueService,
        series_billing: SeriesBillingService,
        resource_id: int,
        form: SeriesForm,
        errors: Errors,
        quote: SeriesQuoteRead | None = None,
        status_code: int = 200,
    ) -> Template:
        room = await catalogue.resource_detail(resource_id)
        place = await catalogue.active_place(room.place_id)
        pools = await self._pools(catalogue, room)
        me = await accounts.me(actor)
        known = {room.id: room, **{p.id: p for p in pools}}
        zone = zone_of(place.postcode, place.school_zone)
        organisation = _int(form.organisation_id) if form.organisation_id else None
        try:
            # The horizon of this person (their school's rate) for the room: stated up front.
            ahead: int | None = await series_billing.series.horizon_days(
                actor, [room.id], organisation
            )
        except AppError:
            ahead = None
        today = series_billing.series.clock().astimezone(ZoneInfo(place.timezone)).date()
        return page(
            request,
            "series/form.html",
            status_code=status_code,
            private=True,
            room=room,
            place=place,
            pools=pools,
            organisations=[(m.organisation_id, m.organisation_name) for m in me.organisations],
            form=form,
            errors=errors,
            quote=quote,
            reason_text=lambda o: reason_text(o.reason, o.resource_id, known),
            methods=METHODS,
            weekdays=[(i, upper_first(i18n_of(request).weekday(i))) for i in range(7)],
            pool_options=[(p.id, f"{p.name} ({p.capacity})") for p in pools],
            kept=asdict(form),
            zone=zone,
            horizon_days=ahead,
            horizon_date=today + timedelta(days=ahead) if ahead is not None else None,
            skipped_holidays=skipped_holidays(form, zone),
        )

    @staticmethod
    async def _pools(catalogue: CatalogueService, room: ResourceRead) -> list[ResourceRead]:
        found = await catalogue.list_resources(
            ResourceFilter(place_id=room.place_id, kind="software_seats"), 50, 0
        )
        return [r for r in found.items if r.id != room.id]

    @get("/resources/{resource_id:int}/series", name="series_form", opt=USER)
    async def series_form(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        catalogue: NamedDependency[CatalogueService],
        series_billing: NamedDependency[SeriesBillingService],
        resource_id: FromPath[int],
    ) -> Template:
        """The form to book a resource every week of a term."""
        me = await accounts.me(actor)
        # Teachers book for their school: its rate and its invoices, and no class in holidays.
        first = str(me.organisations[0].organisation_id) if me.organisations else ""
        form = SeriesForm(organisation_id=first, skip_holidays="1" if first else "")
        return await self._form_page(
            request, actor, accounts, catalogue, series_billing, resource_id, form, {}
        )

    @post("/resources/{resource_id:int}/series", opt=USER)
    async def series_post(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        accounts: NamedDependency[AccountService],
        catalogue: NamedDependency[CatalogueService],
        series_billing: NamedDependency[SeriesBillingService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        resource_id: FromPath[int],
        data: URLEncodedBody[SeriesForm],
    ) -> Response[Any]:
        """Show each week (free or conflicting) and the price, or book and bill the series."""
        room = await catalogue.resource_detail(resource_id)
        place = await catalogue.active_place(room.place_id)
        pools = await self._pools(catalogue, room)
        zone = zone_of(place.postcode, place.school_zone)
        wanted, errors = series_request(data, room.id, {p.id for p in pools}, zone)

        async def again(errors: Errors, quote: SeriesQuoteRead | None, status: int) -> Template:
            return await self._form_page(
                request,
                actor,
                accounts,
                catalogue,
                series_billing,
                resource_id,
                data,
                errors,
                quote,
                status,
            )

        if wanted is None:
            return await again(errors, None, 422)
        try:
            async with db_session.begin_nested():
                quote = await series_billing.quote(actor, wanted)
        except (InvalidInputError, ConflictError, ForbiddenError) as exc:
            return await again(service_errors(exc), None, exc.status_code)
        if data.step != "confirm":
            return await again({}, quote, 200)
        try:
            checkout = SeriesCheckoutRequest.model_validate(
                {
                    **wanted.model_dump(),
                    "method": data.method,
                    "purchase_order": data.purchase_order.strip() or None,
                    "quote_fingerprint": data.quote_fingerprint,
                }
            )
        except ValidationError as exc:
            fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            errors = {
                name: MESSAGES[name] for name in ("purchase_order", "method") if name in fields
            } or {"method": FieldError(N_("Your preview is out of date: check it again."))}
            return await again(errors, quote, 422)
        try:
            async with db_session.begin_nested():
                done = await series_billing.checkout(actor, checkout, clock())
        except (InvalidInputError, ConflictError, ForbiddenError) as exc:
            if exc.code in ("price_changed", "series_conflict"):
                fresh = await series_billing.quote(actor, wanted)
                stale = {"method": FieldError(N_("The weeks changed since your preview."))}
                return await again(stale, fresh, exc.status_code)
            return await again(service_errors(exc), quote, exc.status_code)
        return see_other(f"/series/{done.series.id}")

    async def _summary(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        series_billing: SeriesBillingService,
        series_id: int,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        now = series_billing.series.clock()
        series = await series_billing.series.get(actor, series_id)
        billing = await series_billing.billing(actor, series_id)
        place = await catalogue.require_place(series.place_id)
        first = series.bookings[0] if series.bookings else None
        return page(
            request,
            "series/summary.html",
            private=True,
            status_code=status_code,
            series=series,
            billing=billing,
            place=place,
            items=first.items if first is not None else [],
            ends_at=(
                datetime.combine(series.first_date, series.start_time)
                + timedelta(minutes=series.duration_minutes)
            ).time(),
            methods=METHODS,
            INVOICE_PERIODS=INVOICE_PERIODS,
            INVOICE_ISSUES=INVOICE_ISSUES,
            weekday=series.bookings[0].local_starts_at.weekday() if series.bookings else None,
            cancellable=_cancellable(series, now),
            errors=errors or {},
        )

    @get("/series/{series_id:int}", name="series", opt=BOOKING)
    async def series(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        series_billing: NamedDependency[SeriesBillingService],
        series_id: FromPath[int],
    ) -> Template:
        """A series: its booked, waiting and skipped dates, its invoices and purchase order."""
        return await self._summary(request, actor, catalogue, series_billing, series_id)

    @post("/series/{series_id:int}/cancel", opt=BOOKING)
    async def cancel(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        series_billing: NamedDependency[SeriesBillingService],
        db_session: NamedDependency[AsyncSession],
        series_id: FromPath[int],
        data: URLEncodedBody[CancelForm],
    ) -> Response[Any]:
        """Cancel every date of a series from the chosen one on (and those still waiting)."""
        series = await series_billing.series.get(actor, series_id)
        chosen = _date(data.from_date)
        if chosen is None or chosen not in _cancellable(series, series_billing.series.clock()):
            errors = {"from_date": FieldError(N_("Choose a date of the series from the list."))}
            return await self._summary(
                request, actor, catalogue, series_billing, series_id, errors, 422
            )
        try:
            async with db_session.begin_nested():
                await series_billing.series.cancel(actor, series_id, chosen)
        except (ConflictError, ForbiddenError, InvalidInputError) as exc:
            errors = {"from_date": FieldError(N_("These dates can no longer be cancelled here."))}
            return await self._summary(
                request, actor, catalogue, series_billing, series_id, errors, exc.status_code
            )
        return see_other(f"/series/{series_id}")


def _cancellable(series: SeriesRead, now: datetime) -> list[date]:
    """The dates a series can be cancelled from: its live bookings to come and waiting dates."""
    live = {
        b.local_starts_at.date()
        for b in series.bookings
        if b.status in ACTIVE_STATUSES and b.starts_at > now
    }
    return sorted(live | set(series.pending_dates))


__all__ = ["SeriesForm", "SeriesPages"]
