"""A person chooses the language of their messages and whether reminders come (PATCH /api/me),
and the messages follow."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from kernel.db import Database
from kernel.settings import Settings
from notifications.reminders import send_reminders
from tests.notifications.messages.support import dispatch, outbox
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris


async def test_the_language_and_reminders_chosen_on_the_account_are_followed(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    me = (await api.get("/api/me", headers=alice.headers)).json()
    assert (me["language"], me["reminders"]) == ("fr", True)
    changed = await api.patch(
        "/api/me", json={"language": "en", "reminders": False}, headers=alice.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["language"], changed.json()["reminders"]) == ("en", False)
    wrong = await api.patch("/api/me", json={"language": "de"}, headers=alice.headers)
    assert wrong.status_code == 422

    await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    await dispatch(queue, settings, clock)
    [confirmed] = await outbox(queue, "booking_confirmed")
    assert confirmed.language == "en" and confirmed.subject.startswith("Booking confirmed")
    clock.now = datetime(2027, 3, 1, 13, 5, tzinfo=UTC)
    assert await send_reminders(queue, settings, clock) == 0

    back = await api.patch("/api/me", json={"reminders": True}, headers=alice.headers)
    assert back.json()["reminders"] is True and back.json()["language"] == "en"
    assert await send_reminders(queue, settings, clock) == 1
