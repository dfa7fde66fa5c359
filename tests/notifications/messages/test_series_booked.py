"""A series booked at once is told in one message: its dates, those that wait for the booking
horizon and those that could not be had, with one calendar file holding every booked date —
not one message per date."""

from __future__ import annotations

from typing import Any

import httpx

from kernel.db import Database
from kernel.settings import Settings
from tests.notifications.messages.support import dispatch, outbox, set_language
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris

HOST = "mutualab.test"  # of the settings' public address


def tuesdays(lab: Fablab, **extra: Any) -> dict[str, Any]:
    """The printer every Tuesday 14:00-15:00 from 2 to 23 March 2027, skipping conflicts."""
    return {
        "items": [{"resource_id": lab.printer, "quantity": 1}],
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270323",
        "first_date": "2027-03-02",
        "start_time": "14:00",
        "duration_minutes": 60,
        "mode": "skip_conflicts",
        **extra,
    }


async def test_a_series_is_mailed_once_with_every_booked_date_in_one_calendar_file(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    bob = await make_user(queue, "bob@example.org")
    taken = await book(api, bob, lab.printer, paris(2027, 3, 16, 14), paris(2027, 3, 16, 15))
    assert taken.status_code == 201, taken.text
    alice = await make_user(queue, "alice@example.org")
    created = await api.post("/api/series", json=tuesdays(lab), headers=alice.headers)
    assert created.status_code == 201, created.text
    series = created.json()
    booked = [o for o in series["occurrences"] if o["status"] == "booked"]
    assert [o["date"] for o in booked] == ["2027-03-02", "2027-03-09", "2027-03-23"]

    await dispatch(queue, settings, clock)

    to_alice = [sent for sent in await outbox(queue) if sent.recipient == "alice@example.org"]
    assert [sent.template for sent in to_alice] == ["series_booked"]
    [sent] = to_alice
    assert "3 séances" in sent.subject
    for day in ("mardi 2 mars 2027", "mardi 9 mars 2027", "mardi 23 mars 2027"):
        assert day in sent.text and day in sent.html
    # The date another person had is named as not booked.
    assert "mardi 16 mars 2027" in sent.text.split("Non réservée")[1]
    assert f"https://{HOST}/series/{series['id']}" in sent.text
    calendar = sent.calendar()
    assert calendar["METHOD"] == "PUBLISH"
    uids = sorted(str(event["UID"]) for event in calendar.walk("VEVENT"))
    assert uids == sorted(f"booking-{o['booking_id']}@{HOST}" for o in booked)
    # Bob's own booking is still confirmed to him on its own.
    assert [s.template for s in await outbox(queue) if s.recipient == "bob@example.org"] == [
        "booking_confirmed"
    ]


async def test_the_series_message_speaks_the_bookers_language(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    await set_language(queue, alice.user_id, "en")
    created = await api.post("/api/series", json=tuesdays(lab), headers=alice.headers)
    assert created.status_code == 201, created.text

    await dispatch(queue, settings, clock)

    [sent] = await outbox(queue)
    assert (sent.template, sent.language) == ("series_booked", "en")
    assert "4 sessions" in sent.subject
    assert "Tuesday, 2 March 2027" in sent.text
    assert len(sent.calendar().walk("VEVENT")) == 4


async def test_a_series_refused_as_a_whole_tells_nothing(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    bob = await make_user(queue, "bob@example.org")
    taken = await book(api, bob, lab.printer, paris(2027, 3, 16, 14), paris(2027, 3, 16, 15))
    assert taken.status_code == 201, taken.text
    alice = await make_user(queue, "alice@example.org")
    refused = await api.post(
        "/api/series", json=tuesdays(lab, mode="all_or_nothing"), headers=alice.headers
    )
    assert refused.status_code == 409, refused.text

    await dispatch(queue, settings, clock)

    assert [s.recipient for s in await outbox(queue)] == ["bob@example.org"]
