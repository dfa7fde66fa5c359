"""Booking rules (pure): effective policies, the reason-to-status table, units, weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.availability import Problem, Reason, SlotRules
from booking.rules import (
    DEFAULT_CANCEL_DEADLINE_HOURS,
    REASON_ERRORS,
    cancellable_by_user,
    effective_policy,
    free_units,
    problem_error,
    unit_slots,
    week_of,
)
from kernel.errors import ConflictError, InvalidInputError
from resources.hours import open_spans
from resources.schedule import Span, WeeklyOpening

PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)


@dataclass
class FakeResource:
    """The resource columns booking rules read (a plain value, not our code under test)."""

    id: int = 1
    slot_minutes: int = 30
    min_minutes: int = 30
    max_minutes: int | None = 480
    buffer_minutes: int = 0
    min_notice_minutes: int = 60
    max_advance_days: int = 90
    requires_approval: bool = False


@dataclass
class Policy:
    """A booking policy row as data."""

    resource_id: int | None = None
    user_type_code: str | None = None
    max_advance_days: int | None = None
    min_notice_minutes: int | None = None
    weekly_quota_minutes: int | None = None
    requires_approval: bool | None = None
    cancel_deadline_hours: int | None = None


def test_without_policies_the_resource_columns_apply() -> None:
    policy = effective_policy([], FakeResource(), "citizen")
    assert policy.max_advance_days == 90
    assert policy.min_notice_minutes == 60
    assert policy.cancel_deadline_hours == DEFAULT_CANCEL_DEADLINE_HOURS
    assert policy.weekly_quota_minutes is None
    assert not policy.requires_approval


def test_the_most_specific_policy_wins_field_by_field() -> None:
    policies = [
        Policy(max_advance_days=30, cancel_deadline_hours=48, weekly_quota_minutes=600),
        Policy(user_type_code="school", max_advance_days=120),
        Policy(resource_id=1, max_advance_days=7),
        Policy(resource_id=1, user_type_code="school", max_advance_days=60),
        Policy(resource_id=2, max_advance_days=1),
        Policy(user_type_code="company", requires_approval=True),
    ]
    school = effective_policy(policies, FakeResource(), "school")
    assert school.max_advance_days == 60
    assert school.cancel_deadline_hours == 48  # from the place-wide policy
    assert school.weekly_quota_minutes == 600
    assert school.quota_resource_id is None
    assert effective_policy(policies, FakeResource(), "citizen").max_advance_days == 7
    assert effective_policy(policies, FakeResource(id=3), "school").max_advance_days == 120
    assert effective_policy(policies, FakeResource(id=3), "citizen").max_advance_days == 30
    assert effective_policy(policies, FakeResource(id=3), "company").requires_approval
    scoped = effective_policy([Policy(resource_id=1, weekly_quota_minutes=60)], FakeResource(), "x")
    assert scoped.quota_resource_id == 1


def test_a_policy_cannot_waive_a_resources_approval() -> None:
    waived = effective_policy(
        [Policy(requires_approval=False)], FakeResource(requires_approval=True), "citizen"
    )
    assert waived.requires_approval


def test_every_reason_code_has_an_http_status() -> None:
    assert set(REASON_ERRORS) == set(Reason)
    bad = problem_error(Problem(Reason.NOT_ALIGNED, "off the grid"))
    assert isinstance(bad, InvalidInputError) and bad.status_code == 422
    assert bad.code == "not_aligned"
    assert bad.extra["errors"][0]["field"] == "starts_at"
    busy = problem_error(Problem(Reason.SLOT_UNAVAILABLE, "taken"), extra={"free_units": 0})
    assert isinstance(busy, ConflictError) and busy.status_code == 409
    assert busy.extra == {"free_units": 0}


def test_free_units_keep_the_preference_order() -> None:
    t = datetime(2027, 3, 2, 13, tzinfo=UTC)
    busy = [(11, t, t + H), (12, t + H, t + 2 * H)]
    assert free_units([10, 11, 12], busy, t, t + H) == [10, 12]
    assert free_units([10, 11, 12], busy, t + H, t + 2 * H) == [10, 11]  # ranges are [start, end)
    assert free_units([10, 11, 12], busy, t, t + 2 * H) == [10]


def test_week_of_uses_local_iso_weeks() -> None:
    sunday_night = datetime(2027, 3, 7, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    monday, span = week_of(sunday_night, PARIS)
    assert monday == date(2027, 3, 8)
    assert span.start == datetime(2027, 3, 7, 23, tzinfo=UTC)
    # The week of the spring change is 167 hours long.
    _, dst = week_of(datetime(2027, 3, 24, 12, tzinfo=UTC), PARIS)
    assert dst.end - dst.start == timedelta(hours=167)


def test_cancellation_deadline() -> None:
    start = datetime(2027, 3, 2, 13, tzinfo=UTC)
    assert cancellable_by_user(start - 24 * H, start, 24)
    assert not cancellable_by_user(start - 23 * H, start, 24)


WINDOW_DAY = date(2027, 3, 2)
OPEN = open_spans(
    [WeeklyOpening(1, datetime.min.time(), datetime.min.time())],
    [],
    PARIS,
    WINDOW_DAY,
    WINDOW_DAY + timedelta(days=1),
)
HOURLY = SlotRules(granularity=H, min_duration=H)
BASE = datetime(2027, 3, 1, 23, tzinfo=UTC)  # Tuesday 00:00 in Paris


@settings(max_examples=60, deadline=None)
@given(
    bookings=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 22), st.integers(1, 3)), max_size=8
    ),
    quantity=st.integers(1, 4),
)
def test_unit_slots_offer_exactly_what_allocation_accepts(
    bookings: list[tuple[int, int, int]], quantity: int
) -> None:
    units = [100, 101, 102, 103]
    busy = [(units[u], BASE + s * H, BASE + (s + n) * H) for u, s, n in bookings]
    slots = unit_slots(
        units=units,
        busy=busy,
        open_spans=OPEN,
        blackouts=[],
        rules=HOURLY,
        window=Span(BASE, BASE + 24 * H),
        now=BASE - 24 * H,
        tz=PARIS,
        duration=2 * H,
        quantity=quantity,
    )
    offered = {slot.start: slot.free_units for slot in slots}
    for hour in range(23):
        start = BASE + hour * H
        free = free_units(units, busy, start, start + 2 * H)
        if len(free) >= quantity:
            assert offered[start] == len(free)
        else:
            assert start not in offered
