"""Public pages: search places, a place, a resource with its free times this week."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Request
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.certifications import holds_valid_certification
from accounts.plan_standing import standing
from accounts.staff import StaffService
from accounts.staff_controllers import STAFF
from billing.benefits import benefits_for
from billing.controllers import PRICES
from billing.member_benefits import quote_benefits
from billing.prices import Priced, PriceService
from billing.schemas import QuoteRead
from booking.controllers import AVAILABILITY
from booking.schemas import ItemRequest
from booking.service import Availability
from kernel.auth.actor import Actor
from kernel.auth.rules import PUBLIC
from kernel.clock import Clock
from kernel.errors import ConflictError, InvalidInputError
from kernel.routes import get
from mutualab.web.booking_forms import book_url
from mutualab.web.forms import FieldError, app_error_field
from mutualab.web.i18n import N_
from mutualab.web.maps import map_context, map_points, map_policy
from mutualab.web.messages import KINDS
from mutualab.web.pages.booking import rate_label
from mutualab.web.photos import PHOTOS
from mutualab.web.rendering import i18n_of, page
from mutualab.web.scripts import OWN_SCRIPTS, with_policy
from mutualab.web.search_form import LENGTHS, RADII, SEARCH_ZONE, SearchForm
from mutualab.web.week import Period, week_grid
from resources.controllers import CATALOGUE
from resources.photo_service import PhotoService
from resources.place_search import Located, kilometres
from resources.schemas import OpeningSpan, PlaceRead, PlaceSummary
from resources.service import CatalogueService

PAGE_SIZE = 20
CLOSURES_DAYS = 60
WEEK_DAYS = 7
MAX_WEEKS_AHEAD = 104
_INSTANT = timedelta(microseconds=1)

Town = Annotated[str | None, QueryParameter(max_length=120)]
Kind = Annotated[str | None, QueryParameter(max_length=40)]
Short = Annotated[str | None, QueryParameter(max_length=40)]
Word = Annotated[str | None, QueryParameter(max_length=100)]
MAX_HITS = 50
PageNumber = Annotated[int, QueryParameter(name="page", ge=1, le=10_000)]
FirstDay = Annotated[date | None, QueryParameter(name="from")]
Part = Annotated[str | None, QueryParameter(max_length=10)]


async def _priced(
    prices: PriceService, actor: Actor, resource_id: int, now: datetime, minutes: int
) -> Priced | None:
    """``minutes`` of the resource from ``now`` priced at the actor's rate (None: not offered
    to it)."""
    try:
        return await prices.price(
            [ItemRequest(resource_id=resource_id)],
            now,
            now + timedelta(minutes=minutes),
            await prices.user_type_for(actor, None, None),
        )
    except ConflictError:
        return None


async def price_for(
    prices: PriceService, actor: Actor, resource_id: int, now: datetime, minutes: int
) -> QuoteRead | None:
    """What ``minutes`` of the resource cost at the actor's rate (None: not offered to it)."""
    priced = await _priced(prices, actor, resource_id, now, minutes)
    return None if priced is None else await prices.quote_read(priced)


async def member_price_for(
    prices: PriceService, actor: Actor, resource_id: int, now: datetime, minutes: int
) -> tuple[QuoteRead, int] | None:
    """What ``minutes`` of the resource cost a member after their benefits, through the quote
    checkout charges, and the minutes still included (None: no membership here, or no rate)."""
    if actor.user_id is None:
        return None
    priced = await _priced(prices, actor, resource_id, now, minutes)
    if priced is None:
        return None
    held = await benefits_for(
        prices.repo.session,
        user_id=actor.user_id,
        organisation_id=None,
        place_id=priced.place.id or 0,
        at=now,
    )
    if not held.plan_ids:
        return None
    benefits = quote_benefits(held, priced.resources)
    adjusted = await prices.adjust(
        priced,
        coupon_code=None,
        use_wallet=False,
        user_id=actor.user_id,
        now=now,
        strict=True,
        benefits=benefits,
    )
    return await prices.quote_read(adjusted), benefits.included_minutes.get(resource_id, 0)


def hhmm(value: time, *, closing: bool = False) -> str:
    """``09:30``; a closing time of 00:00 is midnight, shown as 24:00."""
    if closing and value == time(0):
        return "24:00"
    return value.strftime("%H:%M")


def offers_series(actor: Actor, place_id: int) -> bool:
    """Whether to offer booking every week: series are booked for an organisation (a school,
    a club: its rate, its invoices), so to its members, and to the place's managers; a visitor
    not logged in sees the offer too (logging in tells)."""
    if not actor.is_authenticated:
        return True
    return bool(actor.organisation_roles) or actor.manages(place_id)


def weekly_hours(spans: list[OpeningSpan]) -> list[tuple[int, list[tuple[str, str]]]]:
    """Opening spans grouped by weekday, Monday first, every day listed."""
    by_day: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: (s.weekday, s.opens)):
        by_day[span.weekday].append((hhmm(span.opens), hhmm(span.closes, closing=True)))
    return [(day, by_day.get(day, [])) for day in range(7)]


def _distances(places: Sequence[PlaceSummary], located: Located) -> dict[int, float]:
    """How far each place is from the centre searched around (none without a centre)."""
    if located.centre is None:
        return {}
    return {
        place.id: kilometres(located.centre, (place.latitude, place.longitude))
        for place in places
        if place.latitude is not None and place.longitude is not None
    }


class PublicPages(Controller):
    """Pages anyone may read."""

    path = "/"
    dependencies = {**CATALOGUE, **AVAILABILITY, **STAFF, **PRICES, **PHOTOS}
    opt = PUBLIC

    @get("/", name="home", opt=PUBLIC)
    async def home(
        self,
        request: Request[Any, Any, Any],
        catalogue: NamedDependency[CatalogueService],
        availability: NamedDependency[Availability],
        prices: NamedDependency[PriceService],
        photos: NamedDependency[PhotoService],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        town: Town = None,
        kind: Kind = None,
        radius: Short = None,
        lat: Short = None,
        lon: Short = None,
        q: Word = None,
        day: Short = None,
        start: Short = None,
        end: Short = None,
        length: Short = None,
        page_number: PageNumber = 1,
    ) -> Template:
        """Find machines, rooms and seats free at a time near a place, or places."""
        form = SearchForm(
            town=(town or "").strip(),
            radius=radius or "",
            latitude=lat or "",
            longitude=lon or "",
            kind=kind if kind in KINDS else "",
            q=(q or "").strip(),
            day=day or "",
            start=start or "",
            end=end or "",
            length=length or "",
        )
        where = form.where()
        located = await catalogue.locate(where)
        context: dict[str, Any] = {
            "form": form,
            "radii": RADII,
            "lengths": LENGTHS,
            "located": located,
        }
        if form.by_time:
            context |= await self._free_times(form, availability, prices, actor, clock)
            context["photos"] = await photos.of_resources(
                [hit.resource_id for hit in context["hits"]]
            )
        else:
            offset = (page_number - 1) * PAGE_SIZE
            found = await catalogue.search_places(
                where, form.kind or None, PAGE_SIZE, offset, located=located
            )

            def page_url(number: int) -> str:
                query = {k: v for k, v in request.query_params.items() if k != "page" and v}
                return "/?" + urlencode({**query, "page": str(number)})

            context |= {
                "places": found.items,
                "distances": _distances(found.items, located),
                "total": found.total,
                "previous_url": page_url(page_number - 1) if page_number > 1 else None,
                "next_url": page_url(page_number + 1) if offset + PAGE_SIZE < found.total else None,
            }
        response = page(
            request,
            "home.html",
            town=form.town,
            kind=form.kind,
            errors=form.errors,
            map_places=map_points(context.get("places") or context.get("hit_places") or []),
            **map_context(request),
            **context,
        )
        return with_policy(response, map_policy(request))

    @staticmethod
    async def _free_times(
        form: SearchForm,
        availability: Availability,
        prices: PriceService,
        actor: Actor,
        clock: Clock,
    ) -> dict[str, Any]:
        """The free times that fit, soonest first, with the price of each at the actor's rate."""
        now = clock()
        window = form.window(now.astimezone(SEARCH_ZONE).date())
        if window is None:
            return {"hits": [], "searched": False}
        try:
            hits = await availability.search(
                actor,
                form.where(),
                form.kind or None,
                window[0],
                window[1],
                1,
                text=form.q or None,
                free_times=True,
                duration_minutes=form.minutes(),
            )
        except InvalidInputError as exc:
            form.errors[app_error_field(exc) or "day"] = FieldError(N_("This value is not valid."))
            return {"hits": [], "searched": False}
        hits = hits[:MAX_HITS]
        quotes = {}
        for hit in hits:
            first = hit.free_times[0]
            minutes = int((first.ends_at - first.starts_at).total_seconds() // 60)
            quotes[hit.resource_id] = await price_for(prices, actor, hit.resource_id, now, minutes)
        places: dict[int, dict[str, Any]] = {}
        for hit in hits:
            places.setdefault(
                hit.place_id,
                {
                    "id": hit.place_id,
                    "name": hit.place_name,
                    "latitude": hit.latitude,
                    "longitude": hit.longitude,
                },
            )
        return {
            "hits": hits,
            "quotes": quotes,
            "searched": True,
            "book_url": book_url,
            "hit_places": list(places.values()),
        }

    @get("/places/{place_id:int}", name="place", opt=PUBLIC)
    async def place(
        self,
        request: Request[Any, Any, Any],
        catalogue: NamedDependency[CatalogueService],
        photos: NamedDependency[PhotoService],
        clock: NamedDependency[Clock],
        place_id: FromPath[int],
    ) -> Template:
        """A place: address, opening hours, closures, equipment."""
        place: PlaceRead = await catalogue.place_detail(place_id)
        today = clock().astimezone(ZoneInfo(place.timezone)).date()
        until = today + timedelta(days=CLOSURES_DAYS)
        exceptions = await catalogue.list_exceptions(place_id, today, until)
        closures: dict[date, dict[str, Any]] = {}
        if place.closed_on_public_holidays:
            for holiday in await catalogue.holidays(place_id, today, until):
                closures[holiday.day] = {
                    "day": holiday.day,
                    "closed": True,
                    "spans": [],
                    "reason": holiday.name,
                }
        for exception in exceptions:  # a dated exception wins over a public holiday
            closures[exception.day] = {
                "day": exception.day,
                "closed": exception.closed,
                "spans": [(hhmm(s.opens), hhmm(s.closes, closing=True)) for s in exception.spans],
                "reason": exception.reason,
            }
        place_photo, resource_photos = await photos.of_place(place_id)
        response = page(
            request,
            "place.html",
            place=place,
            hours=weekly_hours(place.opening_hours),
            closures=[closures[day] for day in sorted(closures)],
            zone=i18n_of(request).zone_name(place.timezone),
            map_places=map_points([place]),
            **map_context(request),
            place_photo=place_photo,
            photos=resource_photos,
        )
        return with_policy(response, map_policy(request))

    @get("/resources/{resource_id:int}", name="resource", opt=PUBLIC)
    async def resource(
        self,
        request: Request[Any, Any, Any],
        catalogue: NamedDependency[CatalogueService],
        availability: NamedDependency[Availability],
        staff: NamedDependency[StaffService],
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        clock: NamedDependency[Clock],
        resource_id: FromPath[int],
        prices: NamedDependency[PriceService],
        photos: NamedDependency[PhotoService],
        first_day: FirstDay = None,
        part: Part = None,
    ) -> Template:
        """A resource: what it is, what it costs me, what it needs, and when it is free."""
        resource = await catalogue.resource_detail(resource_id)
        row = await catalogue.require_resource(resource_id)
        place = await catalogue.active_place(resource.place_id)
        tz = ZoneInfo(place.timezone)
        today = clock().astimezone(tz).date()
        first = min(max(first_day or today, today), today + timedelta(weeks=MAX_WEEKS_AHEAD))
        last = first + timedelta(days=WEEK_DAYS)
        free = await availability.resource_availability(actor, resource_id, first, last, None, 1)
        # Days without any opening are "closed", not "fully booked".
        open_days = {
            moment.date()
            for span in await catalogue.open_spans_utc(place, first, last)
            for moment in (span.start.astimezone(tz), (span.end - _INSTANT).astimezone(tz))
        }
        training = None
        certified = False
        if row.required_training_id is not None:
            trainings = await staff.trainings(resource.place_id)
            training = next((t for t in trainings if t.id == row.required_training_id), None)
            if actor.user_id is not None:
                certified = await holds_valid_certification(
                    db_session, actor.user_id, row.required_training_id, today
                )
        # Members-only equipment says whether the visitor may book it (their own plans).
        member = (
            row.members_only
            and actor.user_id is not None
            and (
                await standing(
                    db_session,
                    user_id=actor.user_id,
                    organisation_id=None,
                    place_id=resource.place_id,
                    at=clock(),
                )
            ).members_access
        )
        previous = first - timedelta(days=WEEK_DAYS)
        price_minutes = max(60, resource.min_minutes)
        price = await price_for(prices, actor, resource_id, clock(), price_minutes)
        member_price = await member_price_for(prices, actor, resource_id, clock(), price_minutes)
        shortest = timedelta(minutes=resource.min_minutes)

        def choose(period: Period) -> str:
            return book_url(resource_id, period.start, min(period.start + shortest, period.end))

        response = page(
            request,
            "booking/week_part.html" if part == "week" else "resource.html",
            resource=resource,
            photo=(await photos.of_resources([resource_id])).get(resource_id),
            price=price,
            price_minutes=price_minutes,
            member_price=member_price[0] if member_price else None,
            included_left=member_price[1] if member_price else 0,
            rate=await rate_label(request, staff, actor.user_type_at(resource.place_id)),
            choose=choose,
            place=place,
            training=training,
            certified=certified,
            requires_approval=row.requires_approval,
            members_only=row.members_only,
            member=member,
            offer_series=offers_series(actor, resource.place_id),
            week=week_grid(first, WEEK_DAYS, free.slots, open_days),
            slot_length=free.duration_minutes,
            zone=i18n_of(request).zone_name(place.timezone),
            previous_week=max(previous, today) if first > today else None,
            next_week=last,
        )
        return with_policy(response, OWN_SCRIPTS)
