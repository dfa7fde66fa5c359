"""The planning grid of a place: a day by the hour, or a week by the day, a row per resource.

A real table (no JavaScript), printable; on a phone, the same bookings as a list per resource.
A free cell links to the front desk's booking form with its resource and start; a booking to
its page.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from billing.controllers import PAYMENTS
from billing.payments import PaymentService
from booking.controllers import AGENDA
from booking.models import BookingStatus
from booking.service import PlaceAgenda
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.routes import get
from mutualab.web.i18n import N_
from mutualab.web.pages.manage import grid_table
from mutualab.web.pages.manage.bookings import week_start
from mutualab.web.pages.manage.common import AnyRequest, place_page
from resources.controllers import CATALOGUE
from resources.service import CatalogueService

Day = Annotated[date | None, QueryParameter()]
View = Annotated[str, QueryParameter(max_length=10)]
STATES = {
    "held": N_("Awaiting payment"),
    "pending": N_("Awaiting approval"),
    "unpaid": N_("Confirmed, to be paid"),
    "paid": N_("Confirmed, paid"),
    "free": N_("Confirmed, nothing to pay"),
    "arrived": N_("Arrived"),
}


class GridPages(Controller):
    """The planning grid of the places I manage."""

    path = "/manage/places/{place_id:int}/grid"
    dependencies = {**CATALOGUE, **AGENDA, **PAYMENTS}
    guards = [require_manager]

    @get("/", opt=PLACE_MANAGER)
    async def grid(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        agenda: NamedDependency[PlaceAgenda],
        payments: NamedDependency[PaymentService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        day: Day = None,
        view: View = "day",
    ) -> Template:
        """Resources as rows, the day's hours or the week's days as columns."""
        managed = await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        tz = ZoneInfo(place.timezone)
        today = clock().astimezone(tz).date()
        shown = day or today
        week = view == "week"
        first = week_start(shown) if week else shown
        span = 7 if week else 1
        last = first + timedelta(days=span)
        found = await agenda.agenda(actor, place_id, first, last)
        entries = [e for d in found.days for e in d.entries]
        resources = await catalogue.active_resources_of(place_id)
        ids = [r.id for r in resources if r.id is not None]
        units = await catalogue.units_of(ids)
        rows = [
            grid_table.Resource(id=rid, name=r.name, units=len(units.get(rid, [])))
            for r in resources
            if (rid := r.id) is not None
        ]
        open_spans = await catalogue.open_spans_utc(managed, first, last)
        start = datetime.combine(first, datetime.min.time(), tz)
        end = datetime.combine(last, datetime.min.time(), tz)
        blackouts = await catalogue.blackout_spans(ids, start, end)
        statuses = await payments.repo.payment_statuses([e.booking.id for e in entries])
        columns = (
            grid_table.week_columns(first, tz)
            if week
            else grid_table.day_columns(first, open_spans, tz)
        )
        table = grid_table.build(
            columns, rows, open_spans, blackouts, entries, statuses, tz, merge=not week
        )
        closures = await catalogue.list_exceptions(place_id, first, last)
        pending = sum(e.booking.status == BookingStatus.PENDING_APPROVAL for e in entries)
        return place_page(
            request,
            "manage/grid.html",
            place,
            "/grid",
            grid=table,
            view="week" if week else "day",
            first=first,
            last=last - timedelta(days=1),
            previous=first - timedelta(days=span),
            following=first + timedelta(days=span),
            today=today,
            pending=pending,
            closures=[c for c in closures if c.closed or c.spans],
            states=STATES,
            open_spans=open_spans,
            first_free=grid_table.first_free,
        )
