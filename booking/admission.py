"""Whether a booking may be made or changed: who books, the place's catalogue over the range,
the rules (training, opening hours, notice, quota), the cancellation deadline.

Check order for every booking: the request's shape, then existence and visibility of the place
and resources, then the rules, then (the allocator's job) availability.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.certifications import holds_valid_certification
from accounts.guests import person_rates
from accounts.plan_standing import Standing, standing
from accounts.verification import booking_rates
from booking.availability import Problem, Reason, check_booking
from booking.copies import CatalogueCopies, mixed_places
from booking.models import ACTIVE_STATUSES, Booking, BookingStatus, draft_booking
from booking.repository import BookingRepository
from booking.rules import (
    MAX_BOOKING,
    SHAPE_REASONS,
    EffectivePolicy,
    cancellable_by_user,
    effective_policy,
    minutes,
    problem_error,
    slot_rules,
    week_of,
)
from booking.schemas import ItemRequest
from kernel.auth.actor import Actor
from kernel.auth.rates import Rates
from kernel.errors import ConflictError, ForbiddenError, InvalidInputError
from resources.models import Place, Resource, ResourceUnit
from resources.schedule import Span
from resources.service import CatalogueService

_DAY = timedelta(days=1)

Items = list[tuple[int, int]]  # (resource_id, quantity), sorted by resource id


@dataclass(frozen=True, slots=True)
class Booker:
    """Who a booking is for: a user alone, or an organisation through one of its members."""

    user_id: int
    organisation_id: int | None
    # The rate at each place: the booking records the one of its place (Context.user_type).
    rates: Rates


@dataclass(slots=True)
class Context:
    """Catalogue data of one place and the requested resources over a time range."""

    place: Place
    tz: ZoneInfo
    resources: dict[int, Resource]
    units: dict[int, list[ResourceUnit]]
    policies: dict[int, EffectivePolicy]
    open_spans: list[Span]
    blackouts: dict[int, list[Span]]
    manager: bool
    # The booker's user type at this place: it sets the rules and the price.
    user_type: str
    # The revision of a kept catalogue copy used without reading the counter first: the unit
    # lock confirms it (then None) or the booking starts over from a fresh copy.
    unconfirmed_revision: int | None = None
    # The revision of the copy used (None: read without keeping copies), confirmed or not.
    revision: int | None = None

    def buffer(self, resource_id: int) -> timedelta:
        """The cool-down after a booking of ``resource_id``."""
        return timedelta(minutes=self.resources[resource_id].buffer_minutes)

    def blocked_until(self, end: datetime, resource_ids: Iterable[int]) -> dict[int, datetime]:
        """Until when a booking ending at ``end`` holds each resource's units (cool-down)."""
        return {rid: end + self.buffer(rid) for rid in resource_ids}


def parse_items(requested: Sequence[ItemRequest]) -> Items:
    """The requested items, each resource once with a positive quantity, by resource id."""
    seen: set[int] = set()
    for index, item in enumerate(requested):
        if item.quantity <= 0:
            raise InvalidInputError(
                f"The quantity must be at least 1, not {item.quantity}.",
                field=f"items[{index}].quantity",
                code=Reason.INVALID_QUANTITY,
            )
        if item.resource_id in seen:
            raise InvalidInputError(
                "Each resource may appear once; add up the quantities.",
                field=f"items[{index}].resource_id",
                code="duplicate_resource",
            )
        seen.add(item.resource_id)
    return sorted((item.resource_id, item.quantity) for item in requested)


def check_range(start: datetime, end: datetime) -> None:
    """A time range a booking may cover: ends after it starts, lasts at most MAX_BOOKING."""
    if end <= start:
        raise InvalidInputError(
            "The end must be after the start.", field="ends_at", code=Reason.END_BEFORE_START
        )
    if end - start > MAX_BOOKING:
        raise InvalidInputError(
            f"A booking lasts at most {MAX_BOOKING.days} days.",
            field="ends_at",
            code=Reason.TOO_LONG,
        )


def require_may_change(actor: Actor, booking: Booking) -> None:
    """Only the booker, an administrator of its organisation or a place manager change it."""
    if (
        booking.booker_user_id == actor.user_id
        or actor.manages(booking.place_id)
        or (booking.organisation_id is not None and actor.administers(booking.organisation_id))
    ):
        return
    raise ForbiddenError(
        "Only the booker, an administrator of the organisation or a manager of the place "
        "may change this booking.",
        code="not_your_booking",
    )


def require_not_place_use(booking: Booking) -> None:
    """A place's own booking (a session's room and machine) changes only with its session:
    cancelling or moving it here would leave the session on without its resources."""
    if booking.place_use:
        raise ConflictError(
            "This booking holds the resources of a session of the place's programme: cancel "
            "the session instead (POST /api/sessions/{id}/cancel), which releases them and "
            "tells its registrants.",
            code="session_booking",
            extra={"booking_id": booking.id},
        )


def require_active(booking: Booking) -> None:
    """An ended booking (cancelled, refused, expired) changes no more."""
    if booking.status not in ACTIVE_STATUSES:
        raise ConflictError(
            f"This booking is {booking.status.replace('_', ' ')}.",
            code="booking_not_active",
            extra={"booking_status": booking.status},
        )


def _problems(problems: Sequence[Problem]) -> list[dict[str, str]]:
    return [{"code": str(p.code), "detail": p.detail} for p in problems]


class Admission:
    """Who books, on which catalogue, under which rules; what a new booking starts as."""

    def __init__(
        self,
        repository: BookingRepository,
        catalogue: CatalogueService,
        copies: CatalogueCopies,
    ) -> None:
        self.repo = repository
        self.catalogue = catalogue
        self.copies = copies

    # who --------------------------------------------------------------------------------
    async def booker(self, actor: Actor, organisation_id: int | None) -> Booker:
        """The actor booking for themselves, or for an organisation they are a member of."""
        if actor.user_id is None:
            raise ForbiddenError(
                "Bookings are made by a user account, not an admin token.",
                code="user_account_required",
            )
        return Booker(
            actor.user_id, organisation_id, await self.viewer_rates(actor, organisation_id)
        )

    async def booker_for(self, actor: Actor, user_id: int) -> Booker:
        """A person a manager books for at the front desk, at their own rates (whether the
        actor manages the place is checked with the catalogue)."""
        if not actor.is_manager:
            raise ForbiddenError("Only managers book for someone else.", code="not_a_manager")
        return Booker(user_id, None, await person_rates(self.repo.session, user_id))

    async def viewer_rates(self, actor: Actor, organisation_id: int | None) -> Rates:
        """The rates whose rules the actor sees (their own, or an organisation's)."""
        return await booking_rates(self.repo.session, actor, organisation_id)

    # what -------------------------------------------------------------------------------
    async def context(
        self,
        actor: Actor,
        resource_ids: Sequence[int],
        rates: Rates | str,
        start: datetime,
        end: datetime,
        place_id: int | None = None,
        *,
        confirm_later: bool = False,
    ) -> Context:
        """The catalogue of the resources' place over [start, end), for the booker's rate there.

        ``confirm_later``: a kept copy is used without reading the counter; the allocator
        confirms it under the unit locks (:attr:`Context.unconfirmed_revision`).
        """
        kept = self.copies.latest(resource_ids) if confirm_later else None
        snapshot = kept or await self.copies.of_resources(resource_ids)
        place = snapshot.place
        if place_id is not None and place.id != place_id:
            raise mixed_places()
        assert place.id is not None
        tz = ZoneInfo(place.timezone)
        first = start.astimezone(tz).date() - _DAY
        last = end.astimezone(tz).date() + 2 * _DAY
        by_id = {rid: snapshot.resources[rid] for rid in resource_ids}
        user_type = rates if isinstance(rates, str) else rates.at(place.id)
        return Context(
            place=place,
            tz=tz,
            resources=by_id,
            units={rid: snapshot.units[rid] for rid in by_id},
            policies={rid: snapshot.rules_for(rid, user_type)[0] for rid in by_id},
            open_spans=snapshot.open_spans(first, last),
            blackouts=snapshot.blackouts_between(list(by_id), start, end),
            manager=actor.manages(place.id),
            user_type=user_type,
            unconfirmed_revision=None if kept is None else kept.revision,
            revision=snapshot.revision if snapshot.revision >= 0 else None,
        )

    # rules ------------------------------------------------------------------------------
    def problems(
        self, ctx: Context, items: Items, start: datetime, end: datetime, now: datetime
    ) -> list[tuple[int, int, list[Problem]]]:
        """(index, resource id, problems) of each item, raising at once for a malformed
        request (a problem of its shape)."""
        found = []
        for index, (rid, quantity) in enumerate(items):
            resource = ctx.resources[rid]
            problems = check_booking(
                start,
                end,
                quantity,
                capacity=len(ctx.units[rid]),
                open_spans=ctx.open_spans,
                busy=(),
                blackouts=ctx.blackouts.get(rid, []),
                rules=slot_rules(resource, ctx.policies[rid]),
                now=now,
                tz=ctx.tz,
            )
            shape = [p for p in problems if p.code in SHAPE_REASONS]
            if shape:
                field = "ends_at" if shape[0].code == Reason.END_BEFORE_START else None
                raise problem_error(
                    shape[0],
                    field=field or f"items[{index}].quantity",
                    extra={"resource_id": rid, "capacity": len(ctx.units[rid])},
                )
            found.append((index, rid, problems))
        return found

    async def check_rules(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> None:
        """The request's shape, the trainings the resources need, members-only resources, then
        every other rule (a member's plan may lengthen the horizon)."""
        checked = self.problems(ctx, items, start, end, now)
        if any(p.code == Reason.TOO_FAR_AHEAD for _, _, found in checked for p in found):
            checked = await self._member_horizon(ctx, booker, items, start, end, now) or checked
        day = start.astimezone(ctx.tz).date()
        for rid, _ in items:
            training = ctx.resources[rid].required_training_id
            if training is not None and not await holds_valid_certification(
                self.repo.session, booker.user_id, training, day
            ):
                raise ForbiddenError(
                    f"{ctx.resources[rid].name} needs a training certification valid on "
                    f"{day.isoformat()}.",
                    code="training_required",
                    extra={"resource_id": rid, "training_id": training},
                )
        await self._check_members_only(ctx, booker, items, start)
        for _, rid, problems in checked:
            if problems:
                raise problem_error(
                    problems[0], extra={"resource_id": rid, "problems": _problems(problems)}
                )

    async def _standing(self, ctx: Context, booker: Booker, at: datetime) -> Standing:
        assert ctx.place.id is not None
        return await standing(
            self.repo.session,
            user_id=booker.user_id,
            organisation_id=booker.organisation_id,
            place_id=ctx.place.id,
            at=at,
        )

    async def _check_members_only(
        self, ctx: Context, booker: Booker, items: Items, start: datetime
    ) -> None:
        """Members-only resources need a plan with members' access covering the start (the
        place's managers book them for anyone)."""
        reserved = [rid for rid, _ in items if ctx.resources[rid].members_only]
        if not reserved or ctx.manager:
            return
        if not (await self._standing(ctx, booker, start)).members_access:
            raise ForbiddenError(
                f"{ctx.resources[reserved[0]].name} is for members of {ctx.place.name}: "
                "subscribe to one of its plans first.",
                code="members_only",
                extra={"resource_id": reserved[0], "place_id": ctx.place.id},
            )

    async def _member_horizon(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> list[tuple[int, int, list[Problem]]] | None:
        """The rules again with the horizon a member's plan adds (held now), if any."""
        extra = (await self._standing(ctx, booker, now)).extra_horizon_days
        if not extra:
            return None
        ctx.policies = {
            rid: replace(policy, max_advance_days=policy.max_advance_days + extra)
            for rid, policy in ctx.policies.items()
        }
        return self.problems(ctx, items, start, end, now)

    @staticmethod
    def counts_quota(ctx: Context, items: Items) -> bool:
        """Whether a weekly quota bounds booking ``items``: each booking then counts the
        minutes booked before it (:meth:`check_quota`)."""
        return bool(_weekly_quotas(ctx, items))

    async def check_quota(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
        exclude_booking_id: int | None = None,
    ) -> None:
        """The booker's weekly quotas, serialised per booker scope (an advisory lock)."""
        quotas = _weekly_quotas(ctx, items)
        if not quotas:
            return
        who = (
            f"organisation:{booker.organisation_id}"
            if booker.organisation_id is not None
            else f"user:{booker.user_id}"
        )
        await self.repo.lock_quota(f"quota:{ctx.place.id}:{who}")
        monday, week = week_of(start, ctx.tz)
        wanted = minutes(start, end)
        assert ctx.place.id is not None
        for scope, quota in sorted(quotas.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0)):
            used = await self.repo.minutes_booked(
                place_id=ctx.place.id,
                booker_user_id=booker.user_id,
                organisation_id=booker.organisation_id,
                resource_id=scope,
                start=week.start,
                end=week.end,
                now=now,
                exclude_booking_id=exclude_booking_id,
            )
            if used + wanted > quota:
                remaining = max(0, quota - used)
                raise ConflictError(
                    f"This booking needs {wanted} minutes but only {remaining} remain of the "
                    f"weekly quota of {quota} minutes (week of {monday.isoformat()}).",
                    code="quota_exceeded",
                    extra={
                        "quota_minutes": quota,
                        "used_minutes": used,
                        "remaining_minutes": remaining,
                        "requested_minutes": wanted,
                        "week_of": monday.isoformat(),
                        "resource_id": scope,
                    },
                )

    def needs_approval(self, ctx: Context, items: Items) -> bool:
        """Whether a manager must approve it (never for the place's own managers)."""
        return not ctx.manager and any(ctx.policies[rid].requires_approval for rid, _ in items)

    async def admit(
        self,
        ctx: Context,
        booker: Booker,
        items: Items,
        start: datetime,
        end: datetime,
        now: datetime,
        *,
        notes: str = "",
        hold_minutes: int | None = None,
        series_id: int | None = None,
    ) -> Booking:
        """Check the rules and quotas of a new booking and draft it, not yet stored: awaiting
        approval when a manager must approve it, else held for ``hold_minutes`` (a payment
        to come) or confirmed. The allocator stores it."""
        await self.check_rules(ctx, booker, items, start, end, now)
        await self.check_quota(ctx, booker, items, start, end, now)
        if self.needs_approval(ctx, items):
            status, hold = BookingStatus.PENDING_APPROVAL, None
        elif hold_minutes is not None:
            status, hold = BookingStatus.HELD, now + timedelta(minutes=hold_minutes)
        else:
            status, hold = BookingStatus.CONFIRMED, None
        assert ctx.place.id is not None
        return draft_booking(
            reference="",  # the allocator draws it (book_units() tries several)
            place_id=ctx.place.id,
            booker_user_id=booker.user_id,
            organisation_id=booker.organisation_id,
            user_type_code=ctx.user_type,
            status=status,
            hold_expires_at=hold,
            starts_at=start,
            ends_at=end,
            series_id=series_id,
            notes=notes,
            created_at=now,
            updated_at=now,
        )

    # changes ----------------------------------------------------------------------------
    async def check_deadline(self, actor: Actor, booking: Booking, now: datetime) -> None:
        """Users cancel or move a confirmed booking until the place's deadline."""
        # Holds and requests awaiting approval can always be withdrawn; managers always may.
        if booking.status != BookingStatus.CONFIRMED or actor.manages(booking.place_id):
            return
        hours = await self._deadline_hours(booking)
        if not cancellable_by_user(now, booking.starts_at, hours):
            raise ConflictError(
                f"Bookings can be cancelled or moved until {hours} hours before they start; "
                "contact the place.",
                code="cancellation_deadline_passed",
                extra={
                    "deadline_hours": hours,
                    "deadline": (booking.starts_at - timedelta(hours=hours)).isoformat(),
                },
            )

    async def _deadline_hours(self, booking: Booking) -> int:
        assert booking.id is not None
        items = (await self.repo.items_of([booking.id]))[booking.id]
        resources = await self.catalogue.resources_by_ids([i.resource_id for i in items])
        policies = await self.repo.policies_of(booking.place_id)
        return max(
            effective_policy(
                policies, resources[i.resource_id], booking.user_type_code
            ).cancel_deadline_hours
            for i in items
        )


def _weekly_quotas(ctx: Context, items: Items) -> dict[int | None, int]:
    """The smallest weekly quota (minutes) of each quota scope ``items`` fall under."""
    quotas: dict[int | None, int] = {}
    for rid, _ in items:
        policy = ctx.policies[rid]
        if policy.weekly_quota_minutes is not None:
            scope = policy.quota_resource_id
            current = quotas.get(scope)
            quota = policy.weekly_quota_minutes
            quotas[scope] = quota if current is None else min(current, quota)
    return quotas
