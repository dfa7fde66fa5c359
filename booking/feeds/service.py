"""Calendar export rules: who may subscribe to what, which events a feed shows, cache keys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from urllib.parse import urlsplit

import anyio
from pydantic import BaseModel

from booking.calendar import CalendarEvent, booking_uid, render_calendar, render_event
from booking.feeds.models import CalendarFeed
from booking.feeds.repository import FeedRepository
from booking.models import BookingStatus
from booking.schemas import BookingRead
from booking.service import Bookings
from kernel.auth.actor import Actor
from kernel.auth.tokens import digest, new_token
from kernel.clock import Clock
from kernel.errors import ForbiddenError, InvalidInputError, NotFoundError
from kernel.settings import Settings
from resources.models import Place
from resources.service import CatalogueService

# What a feed may cover: no request can ask for everything.
PAST_LIMIT = timedelta(days=92)
FUTURE_LIMIT = timedelta(days=366)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ended bookings stay in feeds this long with STATUS:CANCELLED, so clients remove them.
KEEP_ENDED = timedelta(days=30)
STATUS_MAP: dict[str, Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]] = {
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.HELD: "TENTATIVE",
    BookingStatus.PENDING_APPROVAL: "TENTATIVE",
    BookingStatus.CANCELLED: "CANCELLED",
    BookingStatus.REFUSED: "CANCELLED",
    BookingStatus.EXPIRED: "CANCELLED",
    BookingStatus.NO_SHOW: "CANCELLED",
}


class FeedCreated(BaseModel):
    """A new subscription address; the token inside is shown this once."""

    url: str
    webcal_url: str
    created_at: datetime


@dataclass(frozen=True)
class Rendered:
    """A calendar body with its validators for conditional requests."""

    body: str
    etag: str
    last_modified: datetime
    name: str


def _etag(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


class FeedService:
    """Private feeds, public busy feeds and single-booking calendar files."""

    def __init__(
        self,
        repository: FeedRepository,
        bookings: Bookings,
        catalogue: CatalogueService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.repo = repository
        self.bookings = bookings
        self.catalogue = catalogue
        self.settings = settings
        self.clock = clock
        self.host = urlsplit(settings.public_base_url).hostname or "mutualab.local"

    # subscriptions ------------------------------------------------------------------
    async def _new_feed(
        self, actor: Actor, user_id: int | None, organisation_id: int | None
    ) -> FeedCreated:
        now = self.clock()
        await self.repo.revoke_feeds(user_id=user_id, organisation_id=organisation_id, at=now)
        token = new_token()
        await self.repo.add(
            CalendarFeed(
                user_id=user_id,
                organisation_id=organisation_id,
                created_by_user_id=actor.user_id,
                token_sha256=digest(token),
                created_at=now,
            )
        )
        url = f"{self.settings.public_base_url.rstrip('/')}/calendar/feeds/{token}/bookings.ics"
        webcal = "webcal://" + url.split("://", 1)[1]
        return FeedCreated(url=url, webcal_url=webcal, created_at=now)

    async def create_user_feed(self, actor: Actor) -> FeedCreated:
        """A new private address for my bookings (the previous one stops working)."""
        if actor.user_id is None:
            raise ForbiddenError("Feeds belong to user accounts.", code="user_account_required")
        return await self._new_feed(actor, actor.user_id, None)

    async def revoke_user_feed(self, actor: Actor) -> None:
        """Stop my private feed at once."""
        if actor.user_id is None or not await self.repo.revoke_feeds(
            user_id=actor.user_id, at=self.clock()
        ):
            raise NotFoundError("You have no calendar feed.", code="feed_not_found")

    async def _org_admin(self, actor: Actor, organisation_id: int) -> None:
        # Admins may act for any organisation, but only for one that exists.
        exists = await self.repo.organisation_exists(organisation_id)
        if not exists or not actor.member_of(organisation_id):
            raise NotFoundError(
                f"No organisation with id {organisation_id}.", code="organisation_not_found"
            )
        if not actor.administers(organisation_id):
            raise ForbiddenError(
                "Only the organisation's admins manage its feed.", code="not_organisation_admin"
            )

    async def create_organisation_feed(self, actor: Actor, organisation_id: int) -> FeedCreated:
        """A new private address for an organisation's bookings (its admins); it works while
        the admin who creates it stays one."""
        await self._org_admin(actor, organisation_id)
        return await self._new_feed(actor, None, organisation_id)

    async def revoke_organisation_feed(self, actor: Actor, organisation_id: int) -> None:
        """Stop an organisation's feed at once."""
        await self._org_admin(actor, organisation_id)
        if not await self.repo.revoke_feeds(organisation_id=organisation_id, at=self.clock()):
            raise NotFoundError("This organisation has no calendar feed.", code="feed_not_found")

    # windows ----------------------------------------------------------------------------
    def window(self, start: date | None, end: date | None) -> tuple[datetime, datetime]:
        """The requested range, defaulting to and capped at 3 months back, 12 months ahead."""
        now = self.clock()
        earliest, latest = now - PAST_LIMIT, now + FUTURE_LIMIT
        lower = datetime.combine(start, time(), tzinfo=now.tzinfo) if start else earliest
        upper = datetime.combine(end, time(), tzinfo=now.tzinfo) if end else latest
        if upper <= lower:
            raise InvalidInputError("'to' must be after 'from'.", field="to", code="invalid_range")
        if lower < earliest - timedelta(days=1) or upper > latest + timedelta(days=1):
            raise InvalidInputError(
                "A feed covers at most 3 months back and 12 months ahead.",
                field="from" if lower < earliest else "to",
                code="range_too_long",
            )
        return lower, upper

    # rendering -----------------------------------------------------------------------------
    async def _events(
        self, bookings: Sequence[BookingRead], *, busy_only: bool
    ) -> list[CalendarEvent]:
        places = await self.catalogue.places_by_ids(sorted({b.place_id for b in bookings}))
        base = self.settings.public_base_url.rstrip("/")
        key = self.settings.resolved_secret_key() if busy_only else b""
        events = []
        for booking in bookings:
            if busy_only and booking.status not in (
                BookingStatus.CONFIRMED,
                BookingStatus.HELD,
                BookingStatus.PENDING_APPROVAL,
            ):
                continue
            place = places[booking.place_id]
            # The booker's page of the booking (pages/booking.py), at the public address.
            page = f"{base}/account/bookings/{booking.id}"
            resources = ", ".join(item.resource_name for item in booking.items)
            events.append(
                CalendarEvent(
                    uid=_busy_uid(key, booking.id, self.host)
                    if busy_only
                    else booking_uid(booking.id, self.host),
                    sequence=booking.sequence,
                    summary=f"{resources} — {place.name}",
                    starts_at=booking.starts_at,
                    ends_at=booking.ends_at,
                    stamp=booking.updated_at,
                    status=STATUS_MAP[booking.status],
                    location=_location(place),
                    description=f"Référence : {booking.reference}\n{page}",
                    url=page,
                    organizer_name=place.name,
                    organizer_email=place.email,
                    busy_only=busy_only,
                    alarm_minutes=place.ics_alarm_minutes,
                )
            )
        return events

    async def _render(
        self, bookings: Sequence[BookingRead], name: str, *, busy_only: bool, since: datetime
    ) -> Rendered:
        events = await self._events(bookings, busy_only=busy_only)
        # Generating a large feed is CPU work: keep the event loop free for other requests.
        body = await anyio.to_thread.run_sync(lambda: render_calendar(events, name=name))
        changed = max([since, *(b.updated_at for b in bookings)])
        return Rendered(body=body, etag=_etag(body), last_modified=changed, name=name)

    async def private_feed(self, token: str, start: date | None, end: date | None) -> Rendered:
        """The feed behind a token: 404 for an unknown or revoked token."""
        feed = await self.repo.by_token_digest(digest(token))
        if feed is None:
            raise NotFoundError("No calendar at this address.", code="feed_not_found")
        lower, upper = self.window(start, end)
        rows = await self.repo.bookings(
            start=lower,
            end=upper,
            ended_since=self.clock() - KEEP_ENDED,
            user_id=feed.user_id,
            organisation_id=feed.organisation_id,
        )
        name = "Mutualab — mes réservations"
        if feed.organisation_id is not None:
            name = "Mutualab — réservations de l'organisation"
        return await self._render(
            await self.bookings.reads(rows), name, busy_only=False, since=feed.created_at
        )

    async def resource_busy(
        self, resource_id: int, start: date | None, end: date | None
    ) -> Rendered:
        """When a resource is taken, without any personal data."""
        resource = await self.catalogue.resource_detail(resource_id)
        lower, upper = self.window(start, end)
        rows = await self.repo.bookings(
            start=lower, end=upper, ended_since=upper, resource_id=resource_id, live_only=True
        )
        reads = await self.bookings.reads(rows)
        return await self._render(
            reads,
            f"{resource.name} — occupation",
            busy_only=True,
            since=EPOCH,
        )

    async def place_busy(self, place_id: int, start: date | None, end: date | None) -> Rendered:
        """When a place's resources are taken, without any personal data."""
        place = await self.catalogue.place_detail(place_id)
        lower, upper = self.window(start, end)
        rows = await self.repo.bookings(
            start=lower, end=upper, ended_since=upper, place_id=place_id, live_only=True
        )
        reads = await self.bookings.reads(rows)
        return await self._render(
            reads,
            f"{place.name} — occupation",
            busy_only=True,
            since=EPOCH,
        )

    async def booking_file(self, actor: Actor, booking_id: int) -> Rendered:
        """One booking as a calendar file ("add to my calendar")."""
        booking = await self.bookings.get(actor, booking_id)
        events = await self._events([booking], busy_only=False)
        body = render_event(events[0])
        return Rendered(
            body=body,
            etag=_etag(body),
            last_modified=booking.updated_at,
            name=f"reservation-{booking.reference}",
        )


def _busy_uid(key: bytes, booking_id: int, host: str) -> str:
    """The UID of a booking in public busy feeds: stable, but neither its id (which would count
    the place's bookings and tie the slot to the booker's own feed) nor derivable from it."""
    tag = hmac.new(key, f"busy-feed:{booking_id}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"busy-{tag}@{host}"


def _location(place: Place) -> str:
    return f"{place.name}, {place.address}, {place.postcode} {place.town}"
