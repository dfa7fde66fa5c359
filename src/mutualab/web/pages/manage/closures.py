"""Exceptional closures of a place: the coming ones, a form to add one, a button to remove one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import InvalidInputError
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.common import AnyRequest, parse_day, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import PlaceExceptionWrite, PlaceRead
from resources.service import MAX_SPAN_QUERY_DAYS, CatalogueService

MAX_REASON = 200


@dataclass
class ClosureForm:
    """A closure, as typed."""

    day: str = ""
    reason: str = ""


class ClosurePages(Controller):
    """Closures of a place I manage."""

    path = "/manage/places/{place_id:int}/closures"
    dependencies = CATALOGUE
    guards = [require_manager]

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        place: PlaceRead,
        today: date,
        form: ClosureForm,
        errors: Errors,
        status_code: int = 200,
    ) -> Template:
        coming = await catalogue.list_exceptions(
            place.id, today, today + timedelta(days=MAX_SPAN_QUERY_DAYS)
        )
        return place_page(
            request,
            "manage/closures.html",
            place,
            "/closures",
            status_code=status_code,
            closures=coming,
            form=form,
            errors=errors,
        )

    @get("/", opt=PLACE_MANAGER)
    async def closures(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
    ) -> Template:
        """The coming closures and special openings, and a form to add a closure."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        today = clock().astimezone(ZoneInfo(place.timezone)).date()
        return await self._page(request, catalogue, place, today, ClosureForm(), {})

    @post("/", opt=PLACE_MANAGER)
    async def add_closure(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[ClosureForm],
    ) -> Response[Any]:
        """Close the place on one day (replacing special hours that day), or say what to fix."""
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        today = clock().astimezone(ZoneInfo(place.timezone)).date()
        errors: Errors = {}
        day = parse_day(data.day)
        if day is None:
            errors["day"] = FieldError(N_("Enter a date like 24/12/2027."))
        elif day < today:
            errors["day"] = FieldError(N_("Choose today or a later day."))
        reason = data.reason.strip()
        if len(reason) > MAX_REASON:
            errors["reason"] = FieldError(N_("Use at most %(n)s characters."), {"n": MAX_REASON})
        if not errors and day is not None:
            try:
                async with db_session.begin_nested():
                    await catalogue.set_exception(
                        actor, place_id, day, PlaceExceptionWrite(closed=True, reason=reason)
                    )
            except InvalidInputError:
                errors["day"] = FieldError(N_("This day cannot be closed."))
            else:
                return see_other(f"/manage/places/{place_id}/closures", notice="closure_added")
        return await self._page(request, catalogue, place, today, data, errors, 422)

    @post("/{day:date}/delete", opt=PLACE_MANAGER)
    async def remove_closure(
        self,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
        day: FromPath[date],
    ) -> Response[Any]:
        """Open again on the weekly hours that day."""
        await catalogue.delete_exception(actor, place_id, day)
        return see_other(f"/manage/places/{place_id}/closures", notice="closure_removed")
