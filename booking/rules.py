"""Booking rules as pure functions: effective policy, reason codes as errors, unit allocation.

No I/O here, so every rule is tested in milliseconds; :mod:`booking.service` feeds it rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from booking.availability import Busy, Problem, Reason, Slot, SlotRules, bookable_slots
from kernel.errors import AppError, ConflictError, InvalidInputError
from resources.hours import local_to_utc
from resources.schedule import Span

DEFAULT_CANCEL_DEADLINE_HOURS = 24
# A booking lasts at most this long, so a cool-down-included blocked range never exceeds
# MAX_BLOCKED: availability queries bound ``starts_at`` from below and stay index range scans.
MAX_BOOKING = timedelta(days=31)
MAX_BUFFER = timedelta(days=1)
MAX_BLOCKED = MAX_BOOKING + MAX_BUFFER
MAX_HOLD_MINUTES = 24 * 60


class ResourceLike(Protocol):
    """The columns of a resource that booking rules read."""

    @property
    def id(self) -> int | None: ...
    @property
    def slot_minutes(self) -> int: ...
    @property
    def min_minutes(self) -> int: ...
    @property
    def max_minutes(self) -> int | None: ...
    @property
    def buffer_minutes(self) -> int: ...
    @property
    def min_notice_minutes(self) -> int: ...
    @property
    def max_advance_days(self) -> int: ...
    @property
    def requires_approval(self) -> bool: ...


class PolicyLike(Protocol):
    """One booking policy row."""

    @property
    def resource_id(self) -> int | None: ...
    @property
    def user_type_code(self) -> str | None: ...
    @property
    def max_advance_days(self) -> int | None: ...
    @property
    def min_notice_minutes(self) -> int | None: ...
    @property
    def weekly_quota_minutes(self) -> int | None: ...
    @property
    def requires_approval(self) -> bool | None: ...
    @property
    def cancel_deadline_hours(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The rules that apply to one resource for one user type."""

    max_advance_days: int
    min_notice_minutes: int
    requires_approval: bool
    cancel_deadline_hours: int
    weekly_quota_minutes: int | None = None
    # Which bookings the quota counts: those including this resource, or (None) the whole place.
    quota_resource_id: int | None = None


def _specificity(policy: PolicyLike) -> int:
    # Resource beats user type: a resource's own limits (a laser cutter's) are the stricter
    # intent, and a place-wide user-type rule should not loosen them.
    return (2 if policy.resource_id is not None else 0) + (
        1 if policy.user_type_code is not None else 0
    )


def matching_policies(
    policies: Iterable[PolicyLike], resource_id: int, user_type: str
) -> list[PolicyLike]:
    """Policies that apply to ``resource_id`` and ``user_type``, most specific first."""
    found = [
        p
        for p in policies
        if p.resource_id in (None, resource_id) and p.user_type_code in (None, user_type)
    ]
    return sorted(found, key=_specificity, reverse=True)


def effective_policy(
    policies: Iterable[PolicyLike], resource: ResourceLike, user_type: str
) -> EffectivePolicy:
    """Field by field, the most specific policy that sets it wins, else the resource's column.

    Approval is the exception: a policy may require it, never waive a resource's own
    ``requires_approval``.
    """
    assert resource.id is not None
    ordered = matching_policies(policies, resource.id, user_type)

    def first(name: str) -> tuple[object, PolicyLike | None]:
        for policy in ordered:
            value = getattr(policy, name)
            if value is not None:
                return value, policy
        return None, None

    advance, _ = first("max_advance_days")
    notice, _ = first("min_notice_minutes")
    approval, _ = first("requires_approval")
    deadline, _ = first("cancel_deadline_hours")
    quota, quota_policy = first("weekly_quota_minutes")
    return EffectivePolicy(
        max_advance_days=advance if isinstance(advance, int) else resource.max_advance_days,
        min_notice_minutes=notice if isinstance(notice, int) else resource.min_notice_minutes,
        requires_approval=resource.requires_approval or approval is True,
        cancel_deadline_hours=(
            deadline if isinstance(deadline, int) else DEFAULT_CANCEL_DEADLINE_HOURS
        ),
        weekly_quota_minutes=quota if isinstance(quota, int) else None,
        quota_resource_id=quota_policy.resource_id if quota_policy is not None else None,
    )


def slot_rules(resource: ResourceLike, policy: EffectivePolicy) -> SlotRules:
    """The availability rules of a resource under a policy."""
    return SlotRules(
        granularity=timedelta(minutes=resource.slot_minutes),
        min_duration=timedelta(minutes=resource.min_minutes),
        max_duration=(
            timedelta(minutes=resource.max_minutes) if resource.max_minutes is not None else None
        ),
        buffer_after=timedelta(minutes=resource.buffer_minutes),
        min_notice=timedelta(minutes=policy.min_notice_minutes),
        max_advance=timedelta(days=policy.max_advance_days),
    )


# Every reason code of booking.availability, as an HTTP-level error: 422 for a request that
# can never succeed as written (naming the field to fix), 409 for one refused as things stand.
REASON_ERRORS: Mapping[str, tuple[type[AppError], str | None]] = {
    Reason.END_BEFORE_START: (InvalidInputError, "ends_at"),
    Reason.INVALID_QUANTITY: (InvalidInputError, "quantity"),
    Reason.OVER_CAPACITY: (InvalidInputError, "quantity"),
    Reason.IN_THE_PAST: (InvalidInputError, "starts_at"),
    Reason.TOO_SHORT: (InvalidInputError, "ends_at"),
    Reason.TOO_LONG: (InvalidInputError, "ends_at"),
    Reason.NOT_ALIGNED: (InvalidInputError, "starts_at"),
    Reason.OUTSIDE_OPENING_HOURS: (ConflictError, None),
    Reason.BLACKOUT: (ConflictError, None),
    Reason.INSUFFICIENT_NOTICE: (ConflictError, None),
    Reason.TOO_FAR_AHEAD: (ConflictError, None),
    Reason.SLOT_UNAVAILABLE: (ConflictError, None),
}
# Refusals of a request's shape: reported before any rule (training, quota) is looked at.
SHAPE_REASONS = frozenset({Reason.END_BEFORE_START, Reason.INVALID_QUANTITY, Reason.OVER_CAPACITY})


def problem_error(
    problem: Problem, *, field: str | None = None, extra: Mapping[str, object] | None = None
) -> AppError:
    """The error to raise for a refused booking, with its stable code."""
    kind, default_field = REASON_ERRORS.get(problem.code, (ConflictError, None))
    detail = problem.detail[:1].upper() + problem.detail[1:] + "."
    error: AppError
    if kind is InvalidInputError:
        error = InvalidInputError(detail, field=field or default_field or "body", code=problem.code)
    else:
        error = kind(detail, code=str(problem.code))
    error.extra.update(extra or {})
    return error


def free_units(
    units: Sequence[int],
    busy: Iterable[tuple[int, datetime, datetime]],
    start: datetime,
    blocked_until: datetime,
) -> list[int]:
    """Units (in the given preference order) with no busy range overlapping the blocked range."""
    taken = {unit for unit, s, e in busy if s < blocked_until and e > start}
    return [unit for unit in units if unit not in taken]


def unit_slots(
    *,
    units: Sequence[int],
    busy: Iterable[tuple[int, datetime, datetime]],
    open_spans: Sequence[Span],
    blackouts: Sequence[Span],
    rules: SlotRules,
    window: Span,
    now: datetime | None,
    tz: ZoneInfo,
    duration: timedelta | None = None,
    quantity: int = 1,
) -> list[Slot]:
    """Bookable slots counting units one by one, as allocation does (``now`` as in bookable_slots).

    A pooled count would offer 09:00-11:00 on a two-seat pool whose seat 1 is taken 09:00-10:00
    and seat 2 10:00-11:00, yet no single seat is free for those two hours. Units with the same
    busy ranges (typically all the free ones) are computed once.
    """
    by_unit: dict[int, list[Busy]] = {unit: [] for unit in units}
    for unit, start, end in busy:
        if unit in by_unit:
            by_unit[unit].append(Busy(start, end, 1))
    groups = Counter(
        tuple(sorted(ranges, key=lambda b: (b.start, b.end))) for ranges in by_unit.values()
    )

    def one_unit(ranges: tuple[Busy, ...]) -> list[Slot]:
        return bookable_slots(
            open_spans=open_spans,
            busy=ranges,
            blackouts=blackouts,
            capacity=1,
            rules=rules,
            window=window,
            now=now,
            tz=tz,
            duration=duration,
        )

    if len(groups) == 1:  # every unit alike (a single machine, or a pool with nothing booked)
        [(ranges, how_many)] = groups.items()
        if how_many < quantity:
            return []
        # In time order already, all of one length: (start, end) order.
        slots = one_unit(ranges)
        if how_many == 1:
            return slots
        return [Slot(slot.start, slot.end, how_many) for slot in slots]
    counts: Counter[tuple[datetime, datetime]] = Counter()
    for ranges, how_many in groups.items():
        for slot in one_unit(ranges):
            counts[(slot.start, slot.end)] += how_many
    return [
        Slot(start, end, free) for (start, end), free in sorted(counts.items()) if free >= quantity
    ]


def week_of(instant: datetime, tz: ZoneInfo) -> tuple[date, Span]:
    """The Monday and the UTC span of the local ISO week containing ``instant``."""
    local_day = instant.astimezone(tz).date()
    monday = local_day - timedelta(days=local_day.weekday())
    start = local_to_utc(datetime.combine(monday, time()), tz)
    end = local_to_utc(datetime.combine(monday + timedelta(days=7), time()), tz)
    return monday, Span(start, end)


@lru_cache(maxsize=1024)
def day_window(first: date, last_exclusive: date, tz: ZoneInfo) -> Span:
    """The UTC span of local dates [first, last_exclusive) (worked out once per dates and zone:
    a place's day asks it again for each of its resources, on every read)."""
    return Span(
        local_to_utc(datetime.combine(first, time()), tz),
        local_to_utc(datetime.combine(last_exclusive, time()), tz),
    )


def minutes(start: datetime, end: datetime) -> int:
    """Whole minutes between two instants."""
    return int((end - start).total_seconds() // 60)


def cancellable_by_user(now: datetime, starts_at: datetime, deadline_hours: int) -> bool:
    """Whether a user (not a manager) may still cancel or move a confirmed booking."""
    return now <= starts_at - timedelta(hours=deadline_hours)
