"""The booking form of the citizen journey, pure: local times, clock changes, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from kernel.errors import ConflictError, InvalidInputError
from mutualab.web.booking_forms import SlotForm, book_url, parse_slot, refusal

PARIS = ZoneInfo("Europe/Paris")


def test_a_slot_is_read_in_the_place_s_zone_and_kept_in_utc() -> None:
    slot, errors = parse_slot(SlotForm("2027-07-06", "14h", "15:30", "2"), PARIS, 12)
    assert errors == {}
    assert slot is not None
    assert (slot.starts_at, slot.ends_at, slot.quantity) == (
        datetime(2027, 7, 6, 12, tzinfo=UTC),
        datetime(2027, 7, 6, 13, 30, tzinfo=UTC),
        2,
    )


def test_an_end_at_midnight_is_the_end_of_the_day() -> None:
    slot, _ = parse_slot(SlotForm("2027-07-06", "22:00", "00:00"), PARIS, 1)
    assert slot is not None and slot.ends_at == datetime(2027, 7, 6, 22, tzinfo=UTC)


def test_clock_changes_are_refused_or_counted_in_real_time() -> None:
    # 02:30 does not exist on 28 March 2027 in Paris.
    skipped, errors = parse_slot(SlotForm("2027-03-28", "02:30", "04:00"), PARIS, 1)
    assert skipped is None and set(errors) == {"start"}
    # 01:00-04:00 on 31 October 2027 lasts four real hours (the clock goes back once).
    autumn, _ = parse_slot(SlotForm("2027-10-31", "01:00", "04:00"), PARIS, 1)
    assert autumn is not None and autumn.ends_at - autumn.starts_at == (
        datetime(2027, 10, 31, 3, tzinfo=UTC) - datetime(2027, 10, 30, 23, tzinfo=UTC)
    )


def test_every_mistake_is_named_by_its_field() -> None:
    slot, errors = parse_slot(SlotForm("demain", "9h75", "", "13"), PARIS, 12)
    assert slot is None
    assert list(errors) == ["day", "start", "end", "quantity"]
    assert errors["quantity"].params == {"n": 12}
    backwards, errors = parse_slot(SlotForm("2027-07-06", "15:00", "14:00"), PARIS, 1)
    assert backwards is None and list(errors) == ["end"]


def test_refusals_go_by_their_field_or_to_the_whole_page() -> None:
    too_long = InvalidInputError("Too long.", field="ends_at", code="too_long")
    assert list(refusal(too_long)[0]) == ["end"]
    errors, message = refusal(ConflictError("Taken.", code="slot_unavailable"))
    assert errors == {} and message is not None and "someone else" in message
    assert refusal(ConflictError("?", code="something_new"))[1] is not None


def test_a_free_period_links_to_its_review_page() -> None:
    start = datetime(2027, 3, 4, 9, 30, tzinfo=PARIS)
    end = datetime(2027, 3, 4, 10, 30, tzinfo=PARIS)
    assert book_url(7, start, end) == "/resources/7/book?day=2027-03-04&start=09:30&end=10:30"
