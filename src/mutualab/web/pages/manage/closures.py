"""Closures of a place and maintenance of its equipment: the coming ones, forms to add one
(reviewing the bookings it hits first), a button to remove one.

A closure or maintenance window that hits bookings is not applied at once: a review lists
them, each ticked to be cancelled by the place (full refund, or a credit note where an invoice
was issued; the person is mailed) or left to be moved first (a link to it); nothing is applied
while a booking is left undecided inside the period.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.closure_controllers import CLOSURES
from booking.closure_schemas import BlackoutApply, ClosureCreate, ClosurePreview, ClosureRequest
from booking.schemas import AgendaEntry
from booking.service import Closures
from kernel.auth.actor import Actor
from kernel.auth.guards import require_manager
from kernel.auth.rules import PLACE_MANAGER
from kernel.clock import Clock
from kernel.errors import ConflictError, InvalidInputError, NotFoundError
from kernel.routes import get, post
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_
from mutualab.web.pages.manage.closure_forms import BlackoutForm, ClosureForm, chosen_ids
from mutualab.web.pages.manage.common import AnyRequest, place_page
from mutualab.web.rendering import see_other
from resources.controllers import CATALOGUE
from resources.schemas import BlackoutRead, PlaceRead
from resources.service import MAX_SPAN_QUERY_DAYS, CatalogueService

UNDECIDED = FieldError(
    N_("Some bookings are still in this period: tick them to cancel them, or move them first.")
)


class ClosurePages(Controller):
    """Closures and maintenance windows of a place I manage."""

    path = "/manage/places/{place_id:int}/closures"
    dependencies = {**CATALOGUE, **CLOSURES}
    guards = [require_manager]

    async def _place(
        self, actor: Actor, catalogue: CatalogueService, clock: Clock, place_id: int
    ) -> tuple[PlaceRead, ZoneInfo]:
        await catalogue.managed_place(actor, place_id)
        place = await catalogue.place_detail(place_id, include_inactive=True)
        return place, ZoneInfo(place.timezone)

    async def _page(
        self,
        request: AnyRequest,
        catalogue: CatalogueService,
        clock: Clock,
        place: PlaceRead,
        *,
        form: ClosureForm | None = None,
        blackout: BlackoutForm | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        tz = ZoneInfo(place.timezone)
        now = clock()
        today = now.astimezone(tz).date()
        coming = await catalogue.list_exceptions(
            place.id, today, today + timedelta(days=MAX_SPAN_QUERY_DAYS)
        )
        resources = {r.id: r.name for r in place.resources}
        windows: list[BlackoutRead] = []
        for resource_id in resources:
            windows += [b for b in await catalogue.list_blackouts(resource_id) if b.ends_at > now]
        return place_page(
            request,
            "manage/closures.html",
            place,
            "/closures",
            status_code=status_code,
            closures=coming,
            blackouts=sorted(windows, key=lambda b: (b.starts_at, b.id)),
            resources=resources,
            form=form or ClosureForm(),
            blackout=blackout or BlackoutForm(),
            errors=errors or {},
            which="blackout" if blackout is not None else "closure",
            zone=tz,
        )

    def _review(
        self,
        request: AnyRequest,
        place: PlaceRead,
        *,
        kind: str,
        fields: dict[str, str],
        affected: list[AgendaEntry],
        summary: str,
        when: dict[str, date],
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Template:
        return place_page(
            request,
            "manage/closure_review.html",
            place,
            "/closures",
            status_code=status_code,
            kind=kind,
            fields=fields,
            affected=affected,
            summary=summary,
            when=when,
            errors=errors or {},
            zone=ZoneInfo(place.timezone),
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
        """The coming closures and maintenance windows, and forms to add them."""
        place, _ = await self._place(actor, catalogue, clock, place_id)
        return await self._page(request, catalogue, clock, place)

    # closures -----------------------------------------------------------------------------
    @post("/", opt=PLACE_MANAGER)
    async def add_closure(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        closures: NamedDependency[Closures],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[ClosureForm],
    ) -> Response[Any]:
        """Review the bookings a closure hits, or close at once when it hits none."""
        return await self._closure(
            request, actor, catalogue, closures, db_session, clock, place_id, data, confirm=False
        )

    @post("/confirm", opt=PLACE_MANAGER)
    async def confirm_closure(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        closures: NamedDependency[Closures],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[ClosureForm],
    ) -> Response[Any]:
        """Cancel the ticked bookings for the place and close, or review them again."""
        return await self._closure(
            request, actor, catalogue, closures, db_session, clock, place_id, data, confirm=True
        )

    async def _closure(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        closures: Closures,
        db_session: AsyncSession,
        clock: Clock,
        place_id: int,
        data: ClosureForm,
        *,
        confirm: bool,
    ) -> Response[Any]:
        place, tz = await self._place(actor, catalogue, clock, place_id)
        asked, errors = data.checked(clock().astimezone(tz).date())
        if asked is None:
            return await self._page(
                request, catalogue, clock, place, form=data, errors=errors, status_code=422
            )
        preview = await closures.preview_closure(actor, place_id, asked)
        fields = {
            "day": asked.first_day.isoformat(),
            "last_day": (asked.last_day or asked.first_day).isoformat(),
            "opens": data.opens.strip(),
            "closes": data.closes.strip(),
            "reason": asked.reason,
        }
        when = {"first": asked.first_day, "last": asked.last_day or asked.first_day}
        if preview.affected and not confirm:
            return self._review(
                request,
                place,
                kind="closure",
                fields=fields,
                affected=preview.affected,
                summary=_closure_summary(asked),
                when=when,
            )
        chosen = chosen_ids(data.cancel) if confirm else []
        try:
            async with db_session.begin_nested():
                applied = await closures.close(
                    actor, place_id, ClosureCreate(**asked.model_dump(), cancel_booking_ids=chosen)
                )
        except ConflictError as exc:
            if exc.code != "closure_hits_bookings":
                raise
            again = await closures.preview_closure(actor, place_id, asked)
            return self._review(
                request,
                place,
                kind="closure",
                fields=fields,
                affected=again.affected,
                summary=_closure_summary(asked),
                when=when,
                errors={"cancel": UNDECIDED},
                status_code=409,
            )
        except InvalidInputError:
            errors = {"day": FieldError(N_("This day cannot be closed."))}
            return await self._page(
                request, catalogue, clock, place, form=data, errors=errors, status_code=422
            )
        notice = "closure_added_cancelled" if applied.cancelled else "closure_added"
        return see_other(f"/manage/places/{place_id}/closures", notice=notice)

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

    # maintenance windows -----------------------------------------------------------------
    @post("/blackouts", opt=PLACE_MANAGER)
    async def add_blackout(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        closures: NamedDependency[Closures],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[BlackoutForm],
    ) -> Response[Any]:
        """Review the bookings a maintenance window hits, or block the equipment at once."""
        return await self._blackout(
            request, actor, catalogue, closures, db_session, clock, place_id, data, confirm=False
        )

    @post("/blackouts/confirm", opt=PLACE_MANAGER)
    async def confirm_blackout(
        self,
        request: AnyRequest,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        closures: NamedDependency[Closures],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
        data: URLEncodedBody[BlackoutForm],
    ) -> Response[Any]:
        """Cancel the ticked bookings for the place and block the equipment, or review again."""
        return await self._blackout(
            request, actor, catalogue, closures, db_session, clock, place_id, data, confirm=True
        )

    async def _blackout(
        self,
        request: AnyRequest,
        actor: Actor,
        catalogue: CatalogueService,
        closures: Closures,
        db_session: AsyncSession,
        clock: Clock,
        place_id: int,
        data: BlackoutForm,
        *,
        confirm: bool,
    ) -> Response[Any]:
        place, tz = await self._place(actor, catalogue, clock, place_id)
        resources = {r.id: r.name for r in place.resources}
        resource_id, asked, errors = data.checked(clock(), tz, resources)
        if asked is None or resource_id is None:
            return await self._page(
                request, catalogue, clock, place, blackout=data, errors=errors, status_code=422
            )
        preview: ClosurePreview = await closures.preview_blackout(actor, resource_id, asked)
        local_start, local_end = asked.starts_at.astimezone(tz), asked.ends_at.astimezone(tz)
        fields = {
            "resource": str(resource_id),
            "start_day": local_start.date().isoformat(),
            "start_time": local_start.strftime("%H:%M"),
            "end_day": local_end.date().isoformat(),
            "end_time": local_end.strftime("%H:%M"),
            "blackout_reason": asked.reason,
        }
        summary = resources[resource_id]
        when = {"first": local_start.date(), "last": local_end.date()}
        if preview.affected and not confirm:
            return self._review(
                request,
                place,
                kind="blackout",
                fields=fields,
                affected=preview.affected,
                summary=summary,
                when=when,
            )
        chosen = chosen_ids(data.cancel) if confirm else []
        try:
            async with db_session.begin_nested():
                applied = await closures.black_out(
                    actor,
                    resource_id,
                    BlackoutApply(**asked.model_dump(), cancel_booking_ids=chosen),
                )
        except ConflictError as exc:
            if exc.code != "closure_hits_bookings":
                raise
            again = await closures.preview_blackout(actor, resource_id, asked)
            return self._review(
                request,
                place,
                kind="blackout",
                fields=fields,
                affected=again.affected,
                summary=summary,
                when=when,
                errors={"cancel": UNDECIDED},
                status_code=409,
            )
        notice = "blackout_added_cancelled" if applied.cancelled else "blackout_added"
        return see_other(f"/manage/places/{place_id}/closures", notice=notice)

    @post("/blackouts/{resource_id:int}/{blackout_id:int}/delete", opt=PLACE_MANAGER)
    async def remove_blackout(
        self,
        actor: NamedDependency[Actor],
        catalogue: NamedDependency[CatalogueService],
        place_id: FromPath[int],
        resource_id: FromPath[int],
        blackout_id: FromPath[int],
    ) -> Response[Any]:
        """Lift a maintenance window of one of the place's equipment."""
        await catalogue.managed_place(actor, place_id)
        resource = await catalogue.require_resource(resource_id)
        if resource.place_id != place_id:
            raise NotFoundError(f"No blackout with id {blackout_id}.", code="blackout_not_found")
        await catalogue.delete_blackout(actor, resource_id, blackout_id)
        return see_other(f"/manage/places/{place_id}/closures", notice="blackout_removed")


def _closure_summary(asked: ClosureRequest) -> str:
    """Which closure the review is about (its heading is worded by the template)."""
    return "special" if asked.spans else ("range" if asked.last_day != asked.first_day else "day")
