"""How a holder's allowances become the quote's included minutes (pure): one allowance is
spent by one resource of a booking only, a resource's own allowance before its kind's, and the
earlier dates of a series count against the allowances of their period."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from billing.benefits import Allowance, Benefits
from billing.member_benefits import included_per_resource, quote_benefits, with_earlier
from resources.models import Resource

MARCH = datetime(2027, 3, 1, tzinfo=UTC)
APRIL = datetime(2027, 4, 1, tzinfo=UTC)


def _resource(rid: int, kind: str) -> Resource:
    return Resource(id=rid, place_id=1, name=f"R{rid}", kind=kind)


def _allowance(rid: int | None, kind: str | None, included: int, used: int = 0) -> Allowance:
    return Allowance(1, rid, kind, included, used, MARCH, APRIL)


def _held(*allowances: Allowance, discount: int = 0) -> Benefits:
    return Benefits((1,), discount, False, 0, allowances)


def test_a_kind_s_allowance_goes_to_one_resource_of_the_booking_only() -> None:
    laser, printer = _resource(1, "machine"), _resource(2, "machine")
    held = _held(_allowance(None, "machine", 60))
    assert included_per_resource(held, [laser, printer]) == {1: 60}


def test_a_resource_s_own_allowance_comes_before_its_kind_s() -> None:
    laser, printer = _resource(1, "machine"), _resource(2, "machine")
    held = _held(_allowance(None, "machine", 60), _allowance(2, None, 30, used=10))
    # The printer has its own 20 minutes left; the kind's hour goes to the laser, listed first.
    assert included_per_resource(held, [laser, printer]) == {1: 60, 2: 20}
    benefits = quote_benefits(_held(_allowance(2, None, 30), discount=10), [laser, printer])
    assert benefits.included_minutes == {2: 30}
    assert benefits.discount_percent == Decimal(10)


def test_earlier_dates_of_a_series_use_the_allowances_of_their_period() -> None:
    room = _resource(3, "space")
    held = _held(_allowance(3, None, 180, used=30))
    earlier = [
        (datetime(2027, 3, 2, 13, tzinfo=UTC), 120, [room]),
        (datetime(2027, 4, 6, 12, tzinfo=UTC), 120, [room]),  # another period: not counted
        (datetime(2027, 3, 9, 13, tzinfo=UTC), 60, [_resource(4, "space")]),  # not the room
    ]
    assert [a.remaining_minutes for a in with_earlier(held, earlier).allowances] == [30]
    assert with_earlier(held, []) is held
