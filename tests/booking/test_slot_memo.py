"""Computed availability kept per worker (booking.snapshots.SlotMemo).

A kept answer must be the answer a new computation would give: each test changes one input
(a booking, a blackout, opening hours, the time) and checks what the next read shows.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from booking.schemas import SlotRead
from booking.snapshots import SlotMemo
from kernel.db import Database
from kernel.settings import Settings
from tests.support.accounts import make_user
from tests.support.booking import (
    Fablab,
    MutableClock,
    add_blackout,
    book,
    make_fablab,
    open_every_day,
    paris,
    served_app,
)
from tests.support.sql import sent_statements

DAY = {"from": "2027-03-02", "to": "2027-03-03"}


@pytest.fixture
async def served(
    settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[tuple[httpx.AsyncClient, SlotMemo]]:
    """The app on a fixed clock, and the memo of its worker."""
    async with served_app(settings, database, clock) as (http, app):
        yield http, app.state.catalogue_snapshots.slots


@pytest.fixture
async def lab(served: tuple[httpx.AsyncClient, SlotMemo], admin_headers: dict[str, str]) -> Fablab:
    """A furnished fablab open every day 08:00-20:00."""
    return await make_fablab(served[0], admin_headers)


async def starts(api: httpx.AsyncClient, resource_id: int, **params: Any) -> list[str]:
    """The local start times (HH:MM) of a resource's slots."""
    response = await api.get(f"/api/resources/{resource_id}/availability", params=params)
    assert response.status_code == 200, response.text
    return [slot["local_starts_at"][11:16] for slot in response.json()["slots"]]


async def test_the_same_read_is_computed_once(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab
) -> None:
    api, memo = served
    first = await api.get(f"/api/resources/{lab.printer}/availability", params=DAY)
    kept = len(memo)
    again = await api.get(f"/api/resources/{lab.printer}/availability", params=DAY)
    assert kept >= 1 and len(memo) == kept
    assert again.json() == first.json()
    await starts(api, lab.printer, duration_minutes=60, **DAY)  # another plan: another answer
    assert len(memo) == kept + 1


async def test_a_new_booking_shows_at_once(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab, database: Database
) -> None:
    api, _ = served
    assert "14:00" in await starts(api, lab.printer, **DAY)
    alice = await make_user(database, "alice@example.org")
    made = await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert made.status_code == 201, made.text
    after = await starts(api, lab.printer, **DAY)
    assert not {"14:00", "14:30"} & set(after) and "15:00" in after
    cancelled = await api.post(f"/api/bookings/{made.json()['id']}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert "14:00" in await starts(api, lab.printer, **DAY)


def day_starts(answer: httpx.Response, day: str) -> list[str]:
    """The local start times (HH:MM) of the slots of one local date in an availability answer."""
    assert answer.status_code == 200, answer.text
    slots = answer.json()["slots"]
    return [s["local_starts_at"][11:16] for s in slots if s["local_starts_at"].startswith(day)]


async def test_a_week_is_kept_day_by_day(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab, database: Database
) -> None:
    api, memo = served
    week = {"from": "2027-03-02", "to": "2027-03-09"}
    kept = len(memo)
    await starts(api, lab.printer, **week)
    assert len(memo) == kept + 7  # each of its days on its own
    place_day = await api.get(
        f"/api/places/{lab.place_id}/availability", params={"date": "2027-03-04"}
    )
    assert place_day.status_code == 200, place_day.text
    others = len(place_day.json()["resources"]) - 1
    assert len(memo) == kept + 7 + others  # the printer's Thursday is the week's
    alice = await make_user(database, "alice@example.org")
    made = await book(api, alice, lab.printer, paris(2027, 3, 5, 14), paris(2027, 3, 5, 15))
    assert made.status_code == 201, made.text
    before = len(memo)
    again = await api.get(f"/api/resources/{lab.printer}/availability", params=week)
    assert len(memo) == before + 1  # the booked Friday only is computed again
    friday = day_starts(again, "2027-03-05")
    assert "14:30" not in friday and {"13:30", "15:00"} <= set(friday)


async def test_a_booking_after_midnight_shapes_the_day_before(
    served: tuple[httpx.AsyncClient, SlotMemo],
    lab: Fablab,
    admin_headers: dict[str, str],
    database: Database,
) -> None:
    api, _ = served
    await open_every_day(api, admin_headers, lab.place_id, opens="00:00", closes="00:00")
    # Two hours of the laser, whose bookings keep 15 minutes free after them.
    two_hours = {"duration_minutes": 120}
    thursday = {"from": "2027-03-04", "to": "2027-03-05", **two_hours}
    assert {"22:00", "22:30", "23:30"} <= set(await starts(api, lab.laser, **thursday))
    alice = await make_user(database, "alice@example.org")
    made = await book(api, alice, lab.laser, paris(2027, 3, 5, 0, 30), paris(2027, 3, 5, 1, 30))
    assert made.status_code == 201, made.text
    week = await api.get(
        f"/api/resources/{lab.laser}/availability",
        params={"from": "2027-03-02", "to": "2027-03-09", **two_hours},
    )
    # Thursday's kept day ended at midnight; Friday's booking at 00:30 reaches back into it.
    after = day_starts(week, "2027-03-04")
    assert "22:00" in after and not {"22:30", "23:00", "23:30"} & set(after)


async def test_a_blackout_and_new_hours_show_at_once(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab, admin_headers: dict[str, str]
) -> None:
    api, _ = served
    before = await starts(api, lab.printer, **DAY)
    assert {"10:00", "19:30"} <= set(before)
    blackout = await add_blackout(
        api, admin_headers, lab.printer, paris(2027, 3, 2, 10), paris(2027, 3, 2, 11)
    )
    assert blackout.status_code == 201, blackout.text
    assert not {"10:00", "10:30"} & set(await starts(api, lab.printer, **DAY))
    await open_every_day(api, admin_headers, lab.place_id, closes="12:00")
    assert (await starts(api, lab.printer, **DAY))[-1] == "11:30"


async def test_notice_is_cut_at_each_request_from_a_kept_answer(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab, clock: MutableClock
) -> None:
    api, memo = served
    today = {"from": "2027-03-01", "to": "2027-03-02"}
    # Now is 09:00 and the printer needs an hour's notice.
    assert (await starts(api, lab.printer, **today))[0] == "10:00"
    kept = len(memo)
    clock.advance(hours=3)
    assert (await starts(api, lab.printer, **today))[0] == "13:00"
    assert len(memo) == kept  # the same computed day, cut later


async def test_a_read_from_a_kept_copy_sends_one_statement(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab
) -> None:
    api, _ = served
    place_day = f"/api/places/{lab.place_id}/availability"
    await starts(api, lab.printer, **DAY)  # the place's copy is kept from here on
    with sent_statements() as seen:
        await starts(api, lab.printer, **DAY)
        answer = await api.get(place_day, params={"date": DAY["from"]})
    assert answer.status_code == 200, answer.text
    # Each read: the catalogue counter and the bookings in one statement.
    assert len(seen) == 2, seen
    assert all("catalogue_revision" in s and "booking_allocation" in s for s in seen), seen


async def test_a_place_day_shows_new_hours_at_once(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab, admin_headers: dict[str, str]
) -> None:
    api, _ = served

    async def last_start() -> str:
        answer = await api.get(
            f"/api/places/{lab.place_id}/availability", params={"date": DAY["from"]}
        )
        assert answer.status_code == 200, answer.text
        [printer] = [r for r in answer.json()["resources"] if r["resource_id"] == lab.printer]
        return str(printer["slots"][-1]["local_starts_at"][11:16])

    assert await last_start() == "19:30"
    await open_every_day(api, admin_headers, lab.place_id, closes="12:00")
    assert await last_start() == "11:30"


async def test_a_refusal_by_an_out_of_date_copy_is_judged_again(
    served: tuple[httpx.AsyncClient, SlotMemo], lab: Fablab, admin_headers: dict[str, str]
) -> None:
    api, _ = served
    four_hours = {"duration_minutes": 240, **DAY}
    too_long = await api.get(f"/api/resources/{lab.laser}/availability", params=four_hours)
    assert (too_long.status_code, too_long.json()["code"]) == (422, "too_long")
    longer = await api.patch(
        f"/api/resources/{lab.laser}", json={"max_minutes": 240}, headers=admin_headers
    )
    assert longer.status_code == 200, longer.text
    # The worker's copy still says three hours at most; the current catalogue says four.
    assert (await starts(api, lab.laser, **four_hours))[0] == "08:00"


async def test_nothing_is_kept_without_the_counter_row(
    served: tuple[httpx.AsyncClient, SlotMemo],
    lab: Fablab,
    admin_headers: dict[str, str],
    database: Database,
) -> None:
    # A database restored without the row: no change could be told, so nothing is kept.
    async with database.writer() as session, session.begin():
        await session.exec(text("DELETE FROM catalogue_revision"))  # type: ignore[call-overload]
    api, memo = served
    kept = len(memo)
    assert (await starts(api, lab.printer, **DAY))[-1] == "19:30"
    await open_every_day(api, admin_headers, lab.place_id, closes="12:00")
    assert (await starts(api, lab.printer, **DAY))[-1] == "11:30"
    assert len(memo) == kept


def test_the_memo_forgets_the_least_recently_used() -> None:
    memo = SlotMemo(max_answers=2)
    memo.keep("a", ())
    memo.keep("b", ())
    assert memo.find("a") == ()  # "a" is now the most recently used
    memo.keep("c", ())
    assert memo.find("b") is None and memo.find("a") == () and memo.find("c") == ()
    assert len(memo) == 2


def a_slot() -> SlotRead:
    """A slot of an hour."""
    return SlotRead(
        starts_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
        ends_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        local_starts_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
        local_ends_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        free_units=1,
    )


def test_the_memo_holds_at_most_its_slots() -> None:
    slot = a_slot()
    memo = SlotMemo(max_answers=10, max_slots=5)
    memo.keep("a", (slot,) * 2)
    memo.keep("b", (slot,) * 3)
    memo.keep("a", (slot,) * 2)  # kept again: counted once, and now the most recently used
    assert memo.find("b") is not None and memo.find("a") is not None
    memo.keep("c", (slot,) * 1)  # 6 slots: "b", the least recently used, goes
    assert memo.find("b") is None and memo.find("a") is not None and memo.find("c") is not None
    memo.keep("d", (slot,) * 9)  # bigger than the whole budget: kept alone
    assert len(memo) == 1 and memo.find("d") is not None


def test_kept_answers_are_left_out_of_the_collectors_rounds() -> None:
    # Answers live long and are many (a week of one machine: 336 slots); were they tracked,
    # every full collection would walk them, a pause of tens of milliseconds for whichever
    # requests were running (bench/availability.py, "machines in turn").
    memo = SlotMemo()
    memo.keep("week", tuple(a_slot() for _ in range(336)))
    gc.collect()
    answer = memo.find("week")
    assert answer is not None and not gc.is_tracked(answer)
