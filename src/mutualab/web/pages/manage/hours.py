"""The managers' back office: the places I manage, and their weekly opening hours.

Which place a manager may touch is decided by :class:`CatalogueService` (``managed_place``),
before any form is read: a manager of another place learns nothing from a malformed post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.controllers import AGENDA
from booking.service import PlaceAgenda
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import MANAGER, PLACE_MANAGER
from kernel.errors import InvalidInputError
from kernel.routes import get, post
from mutualab.overview import overview
from mutualab.web.errors import error_page
from mutualab.web.forms import Errors, FieldError, parse_time
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import place_page
from mutualab.web.pages.public import hhmm
from mutualab.web.rendering import i18n_of, page, see_other
from resources.controllers import CATALOGUE
from resources.repository import PlaceFilter
from resources.schemas import OpeningHoursUpdate, OpeningSpan, PlaceRead
from resources.service import CatalogueService

AnyRequest = Request[Any, Any, Any]
ROWS_PER_DAY = 2
MAX_ROWS = 70  # what the catalogue accepts for a week
MAX_LISTED_PLACES = 200


# A field sent once arrives as one string, several times as a list.
Repeated = list[str] | str


@dataclass
class HoursForm:
    """Rows of the weekly hours form: the n-th weekday, opening and closing time go together."""

    weekday: Repeated = field(default_factory=list)
    opens: Repeated = field(default_factory=list)
    closes: Repeated = field(default_factory=list)


def _values(value: Repeated) -> list[str]:
    return [value] if isinstance(value, str) else value


@dataclass
class Row:
    """One period of the form, as typed."""

    index: int
    weekday: int
    opens: str
    closes: str

    @property
    def opens_id(self) -> str:
        """The id of its opening-time input."""
        return f"opens-{self.index}"

    @property
    def closes_id(self) -> str:
        """The id of its closing-time input."""
        return f"closes-{self.index}"


def rows_of(spans: list[OpeningSpan]) -> list[Row]:
    """The form's rows for stored hours: every period, and at least two rows a day."""
    rows: list[Row] = []
    for weekday in range(7):
        day = sorted((s for s in spans if s.weekday == weekday), key=lambda s: s.opens)
        texts = [(hhmm(s.opens), hhmm(s.closes)) for s in day]
        texts += [("", "")] * max(0, ROWS_PER_DAY - len(texts))
        for opens, closes in texts:
            rows.append(Row(len(rows), weekday, opens, closes))
    return rows


def rows_from_form(form: HoursForm) -> list[Row] | None:
    """The typed rows, or None when the post is not this form (fields missing or mangled)."""
    weekdays, opening, closing = _values(form.weekday), _values(form.opens), _values(form.closes)
    count = len(weekdays)
    if not 0 < count <= MAX_ROWS or len(opening) != count or len(closing) != count:
        return None
    rows = []
    for index, (weekday, opens, closes) in enumerate(zip(weekdays, opening, closing, strict=True)):
        if weekday not in {"0", "1", "2", "3", "4", "5", "6"}:
            return None
        rows.append(Row(index, int(weekday), opens.strip(), closes.strip()))
    return sorted(rows, key=lambda r: (r.weekday, r.index))


def check_rows(rows: list[Row]) -> tuple[list[OpeningSpan], Errors]:
    """The spans the rows describe, and an error by each input that needs correcting."""
    errors: Errors = {}
    spans: list[tuple[Row, time, time]] = []
    for row in rows:
        if not row.opens and not row.closes:
            continue
        opens, closes = parse_time(row.opens), parse_time(row.closes)
        if not row.opens:
            errors[row.opens_id] = FieldError(N_("Enter the opening time, or clear both times."))
        elif opens is None:
            errors[row.opens_id] = FieldError(N_("Enter a time like 09:30."))
        if not row.closes:
            errors[row.closes_id] = FieldError(N_("Enter the closing time, or clear both times."))
        elif closes is None:
            errors[row.closes_id] = FieldError(N_("Enter a time like 18:00."))
        if opens is None or closes is None:
            continue
        if closes != time(0) and closes <= opens:
            errors[row.closes_id] = FieldError(
                N_("The closing time must be after the opening time.")
            )
            continue
        spans.append((row, opens, closes))
    by_day: dict[int, list[tuple[Row, time, time]]] = {}
    for item in spans:
        by_day.setdefault(item[0].weekday, []).append(item)
    for day_spans in by_day.values():
        day_spans.sort(key=lambda item: item[1])
        for (_, _, previous_end), (row, opens, _) in pairwise(day_spans):
            if previous_end == time(0) or opens < previous_end:
                errors.setdefault(
                    row.opens_id,
                    FieldError(N_("This period overlaps another period of the same day.")),
                )
    return [OpeningSpan(weekday=r.weekday, opens=o, closes=c) for r, o, c in spans], errors


class ManagePages(Controller):
    """Back office pages, for managers of at least one place."""

    path = "/manage"
    dependencies = {**CATALOGUE, **AGENDA}
    guards = [require_manager]

    @get("/", name="manage", opt=MANAGER)
    async def index(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        agenda: NamedDependency[PlaceAgenda],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """What needs me (requests to decide, waitlists, failed deliveries), then the places I
        manage and their equipment."""
        if actor.is_admin:
            listed = await catalogue.list_places(
                PlaceFilter(include_inactive=True), MAX_LISTED_PLACES, 0
            )
            place_ids = [p.id for p in listed.items]
        else:
            place_ids = sorted(actor.managed_place_ids)
        places = [await catalogue.place_detail(pid, include_inactive=True) for pid in place_ids]
        needs = await overview(actor, catalogue, agenda, db_session)
        zones = {p.id: ZoneInfo(p.timezone) for p in places}
        return page(
            request,
            "manage/index.html",
            private=True,
            places=places,
            overview=needs,
            zones=zones,
            admin=actor.is_admin,
        )

    async def _hours_page(
        self,
        request: AnyRequest,
        place: PlaceRead,
        rows: list[Row],
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        return place_page(
            request,
            "manage/hours.html",
            place,
            "/hours",
            status_code=status_code,
            rows=rows,
            errors=errors,
            zone=i18n_of(request).zone_name(place.timezone),
        )

    @get("/places/{place_id:int}/hours", name="manage_hours", opt=PLACE_MANAGER)
    async def hours_form(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
    ) -> Template:
        """The weekly opening hours of a place I manage, as a form."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return await self._hours_page(request, place, rows_of(place.opening_hours), {})

    @post("/places/{place_id:int}/hours", opt=PLACE_MANAGER)
    async def save_hours(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        db_session: NamedDependency[AsyncSession],
        place_id: FromPath[int],
        data: URLEncodedBody[HoursForm],
    ) -> Response[Any]:
        """Replace the weekly opening hours, or show what to correct."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        rows = rows_from_form(data)
        if rows is None:
            # Never read a mangled post as "closed every day".
            return error_page(request, 400)
        spans, errors = check_rows(rows)
        if not errors:
            try:
                async with db_session.begin_nested():
                    await catalogue.set_opening_hours(
                        actor, place_id, OpeningHoursUpdate(spans=spans)
                    )
            except InvalidInputError:
                first = rows[0].opens_id
                errors = {
                    first: FieldError(N_("These hours are not consistent: check every period."))
                }
            else:
                return see_other("/manage", notice="hours_saved")
        ordered = dict(sorted(errors.items(), key=lambda kv: int(kv[0].split("-")[1])))
        return await self._hours_page(request, place, rows, ordered, 422)
