"""booking.state.transition: the allowed moves, what each writes, the event it returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from booking.state import EXPIRABLE, MOVES, expired, transition
from kernel.errors import ConflictError

S = BookingStatus
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

ALLOWED = [
    (S.HELD, S.CONFIRMED),
    (S.HELD, S.PENDING_APPROVAL),
    (S.HELD, S.CANCELLED),
    (S.HELD, S.EXPIRED),
    (S.PENDING_APPROVAL, S.CONFIRMED),
    (S.PENDING_APPROVAL, S.REFUSED),
    (S.PENDING_APPROVAL, S.CANCELLED),
    (S.CONFIRMED, S.PENDING_APPROVAL),
    (S.CONFIRMED, S.CANCELLED),
    (S.CONFIRMED, S.NO_SHOW),
]
REFUSED = [(a, b) for a in S for b in S if (a, b) not in ALLOWED]


def _booking(status: BookingStatus, sequence: int = 3) -> Booking:
    return Booking(
        id=42,
        reference="ABCD1234",
        place_id=1,
        booker_user_id=7,
        user_type_code="resident",
        status=status,
        hold_expires_at=NOW + timedelta(minutes=15) if status == S.HELD else None,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=2),
        sequence=sequence,
        status_reason="",
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
    )


def test_the_table_is_the_allowed_list() -> None:
    assert {(a, b) for a, tos in MOVES.items() for b in tos} == set(ALLOWED)
    assert set(MOVES) == set(S)
    assert EXPIRABLE == (S.HELD,)
    # Ended bookings are final; active ones never move to held.
    assert all(not MOVES[s] for s in S if s not in ACTIVE_STATUSES)
    assert all(S.HELD not in tos for tos in MOVES.values())


@pytest.mark.parametrize(("source", "to"), ALLOWED)
def test_every_allowed_move_applies_and_returns_its_event(
    source: BookingStatus, to: BookingStatus
) -> None:
    booking = _booking(source)
    event = transition(booking, to, NOW, reason="why", by_user_id=9, by_place=True)
    assert booking.status == to
    assert booking.sequence == 4
    assert booking.updated_at == NOW
    assert booking.status_reason == "why"
    assert event.booking_id == 42
    assert event.status == to
    assert event.previous == source
    assert event.at == NOW
    assert event.actor_user_id == 9
    assert event.by_place is True
    assert event.reason == "why"


@pytest.mark.parametrize(("source", "to"), REFUSED)
def test_every_other_move_is_refused_and_changes_nothing(
    source: BookingStatus, to: BookingStatus
) -> None:
    booking = _booking(source)
    before = booking.model_dump()
    with pytest.raises(ConflictError) as refused:
        transition(booking, to, NOW, reason="why", by_user_id=9)
    assert refused.value.code == "booking_transition_refused"
    assert refused.value.extra == {"booking_status": source.value, "requested_status": to.value}
    assert booking.model_dump() == before


def test_what_each_kind_of_move_writes() -> None:
    held = _booking(S.HELD)
    transition(held, S.CONFIRMED, NOW)
    assert held.hold_expires_at is None
    assert (held.decided_by_user_id, held.decided_at, held.cancelled_at) == (None, None, None)
    assert held.status_reason == ""  # no reason given: the one it had is kept

    lapsed = _booking(S.HELD)
    transition(lapsed, S.EXPIRED, NOW)
    assert lapsed.hold_expires_at == NOW + timedelta(minutes=15)  # when it lapsed

    for decision in (S.CONFIRMED, S.REFUSED):
        pending = _booking(S.PENDING_APPROVAL)
        transition(pending, decision, NOW, reason="ok", by_user_id=5)
        assert (pending.decided_by_user_id, pending.decided_at) == (5, NOW)

    confirmed = _booking(S.CONFIRMED)
    event = transition(confirmed, S.CANCELLED, NOW, by_user_id=7)
    assert (confirmed.cancelled_at, confirmed.cancelled_by_user_id) == (NOW, 7)
    assert confirmed.decided_at is None
    assert event.reason == ""


def test_a_bulk_expiry_event_says_where_it_came_from() -> None:
    event = expired(3, NOW)
    assert (event.booking_id, event.status, event.previous, event.at) == (
        3,
        S.EXPIRED,
        S.HELD,
        NOW,
    )


@given(
    st.lists(st.sampled_from(list(S)), max_size=12),
    st.integers(min_value=0, max_value=10_000),
)
def test_sequence_grows_by_one_per_applied_move(path: list[BookingStatus], start: int) -> None:
    booking = _booking(S.HELD, sequence=start)
    applied = 0
    for to in path:
        source = BookingStatus(booking.status)
        try:
            event = transition(booking, to, NOW)
        except ConflictError:
            assert to not in MOVES[source]
            assert booking.status == source
        else:
            applied += 1
            assert (event.previous, event.status) == (source, to)
        assert booking.sequence == start + applied
