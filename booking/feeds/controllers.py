"""HTTP side of the calendar export: subscription management and ``text/calendar`` responses."""

from __future__ import annotations

from datetime import date
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.controllers import booking_services
from booking.feeds.repository import FeedRepository
from booking.feeds.service import FeedCreated, FeedService, Rendered
from kernel.auth.actor import Actor
from kernel.auth.guards import require_user
from kernel.auth.rules import BEARER, BOOKING, ORGANISATION, PUBLIC, SELF
from kernel.clock import Clock
from kernel.routes import delete, get, post
from resources.repository import CatalogueRepository
from resources.service import CatalogueService

CALENDAR = "text/calendar; charset=utf-8"
FromDate = Annotated[date | None, QueryParameter(name="from", description="first date (UTC)")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="date after the last one")]


def provide_feeds(
    db_session: NamedDependency[AsyncSession], state: State, clock: NamedDependency[Clock]
) -> FeedService:
    """The feed service bound to this request's transaction."""
    catalogue = CatalogueService(CatalogueRepository(db_session))
    bookings = booking_services(state).bookings(db_session)
    return FeedService(FeedRepository(db_session), bookings, catalogue, state.settings, clock)


FEEDS = {"feeds": Provide(provide_feeds, sync_to_thread=False)}
Feeds = NamedDependency[FeedService]
Me = NamedDependency[Actor]


def calendar_response(
    request: Request[Any, Any, Any], rendered: Rendered, *, private: bool, download: bool = False
) -> Response[str]:
    """The calendar, or 304 when the client already has this version."""
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": format_datetime(
            rendered.last_modified.replace(microsecond=0), usegmt=True
        ),
        # Private feeds must not sit in shared caches; clients revalidate with the ETag.
        "Cache-Control": "private, max-age=300" if private else "public, max-age=300",
    }
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{rendered.name}.ics"'
    if _not_modified(request, rendered):
        return Response("", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(rendered.body, media_type=CALENDAR, headers=headers)


def _not_modified(request: Request[Any, Any, Any], rendered: Rendered) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return rendered.etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return rendered.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class MyFeedController(Controller):
    """My private subscription address."""

    path = "/api/me/calendar-feed"
    tags = ["calendar"]
    dependencies = FEEDS
    guards = [require_user]
    security = BEARER
    opt = SELF

    @post("/", status_code=HTTP_201_CREATED)
    async def create(self, feeds: Feeds, actor: Me) -> FeedCreated:
        """Create (or regenerate) my private feed address; the old one stops working."""
        return await feeds.create_user_feed(actor)

    @delete("/", status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, feeds: Feeds, actor: Me) -> None:
        """Revoke my private feed address."""
        await feeds.revoke_user_feed(actor)


class OrganisationFeedController(Controller):
    """An organisation's private subscription address (its admins)."""

    path = "/api/organisations/{organisation_id:int}/calendar-feed"
    tags = ["calendar"]
    dependencies = FEEDS
    guards = [require_user]
    security = BEARER
    opt = ORGANISATION

    @post("/", status_code=HTTP_201_CREATED)
    async def create(self, feeds: Feeds, actor: Me, organisation_id: FromPath[int]) -> FeedCreated:
        """Create (or regenerate) the organisation's feed address."""
        return await feeds.create_organisation_feed(actor, organisation_id)

    @delete("/", status_code=HTTP_204_NO_CONTENT)
    async def revoke(self, feeds: Feeds, actor: Me, organisation_id: FromPath[int]) -> None:
        """Revoke the organisation's feed address."""
        await feeds.revoke_organisation_feed(actor, organisation_id)


class CalendarController(Controller):
    """Calendars for calendar clients: private feeds by token, public busy feeds."""

    path = "/calendar"
    tags = ["calendar"]
    dependencies = FEEDS
    opt = PUBLIC

    @get("/feeds/{token:str}/bookings.ics", media_type=CALENDAR, cache=False)
    async def private_feed(
        self,
        feeds: Feeds,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        from_: FromDate = None,
        to: ToDate = None,
    ) -> Response[str]:
        """A private feed; the unguessable token in the address is the only credential."""
        rendered = await feeds.private_feed(token, from_, to)
        return calendar_response(request, rendered, private=True)

    @get("/resources/{resource_id:int}/busy.ics", media_type=CALENDAR, cache=False)
    async def resource_busy(
        self,
        feeds: Feeds,
        request: Request[Any, Any, Any],
        resource_id: FromPath[int],
        from_: FromDate = None,
        to: ToDate = None,
    ) -> Response[str]:
        """When a resource is taken (no personal data)."""
        rendered = await feeds.resource_busy(resource_id, from_, to)
        return calendar_response(request, rendered, private=False)

    @get("/places/{place_id:int}/busy.ics", media_type=CALENDAR, cache=False)
    async def place_busy(
        self,
        feeds: Feeds,
        request: Request[Any, Any, Any],
        place_id: FromPath[int],
        from_: FromDate = None,
        to: ToDate = None,
    ) -> Response[str]:
        """When a place's resources are taken (no personal data)."""
        rendered = await feeds.place_busy(place_id, from_, to)
        return calendar_response(request, rendered, private=False)


class BookingFileController(Controller):
    """One booking as an .ics file."""

    path = "/api/bookings/{booking_id:int}/calendar.ics"
    tags = ["calendar"]
    dependencies = FEEDS
    guards = [require_user]
    security = BEARER
    opt = BOOKING

    @get("/", media_type=CALENDAR, cache=False)
    async def booking_file(
        self, feeds: Feeds, actor: Me, request: Request[Any, Any, Any], booking_id: FromPath[int]
    ) -> Response[str]:
        """Add this booking to my calendar."""
        rendered = await feeds.booking_file(actor, booking_id)
        return calendar_response(request, rendered, private=True, download=True)


CONTROLLERS = [
    MyFeedController,
    OrganisationFeedController,
    CalendarController,
    BookingFileController,
]
