"""Reminders before a booking: once per booking and start, in real hours also on the days the
clocks change, only to those who keep them on, with a signed one-click unsubscribe link."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from kernel.db import Database
from kernel.settings import Settings
from notifications.reminders import due_reminders, send_reminders
from notifications.unsubscribe import unsubscribe_token
from tests.notifications.messages.support import outbox, set_language
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
WEDNESDAY_2PM = paris(2027, 3, 3, 14)
WEDNESDAY_3PM = paris(2027, 3, 3, 15)
WEDNESDAY_4PM = paris(2027, 3, 3, 16)


async def _reminder_hours(database: Database, place_id: int, hours: int) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE place SET reminder_hours = :hours WHERE id = :id"),
            {"hours": hours, "id": place_id},
        )


async def _reminders(database: Database) -> list[tuple[str, str]]:
    return [(m.recipient, m.key) for m in await outbox(database, "booking_reminder")]


async def _due(database: Database, clock: MutableClock) -> list[int]:
    async with database.writer() as session, session.begin():
        return await due_reminders(session, clock())


async def _reminders_on(database: Database, user_id: int) -> bool:
    async with database.read_engine.connect() as conn:
        result = await conn.execute(
            text("SELECT reminders FROM user_account WHERE id = :id"), {"id": user_id}
        )
        return bool(result.scalar_one())


async def test_a_booking_that_fails_to_render_does_not_hold_back_the_others(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    bob = await make_user(queue, "bob@example.org")
    first = await book(api, alice, lab.printer, WEDNESDAY_2PM, WEDNESDAY_3PM)
    second = await book(api, bob, lab.printer, WEDNESDAY_3PM, WEDNESDAY_4PM)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    # Alice's row is made inconsistent: her reminder, due first, cannot be queued.
    async with queue.engine.begin() as conn:
        await conn.execute(
            text("UPDATE user_account SET email = 'no-address' WHERE id = :id"),
            {"id": alice.user_id},
        )
    clock.now = datetime(2027, 3, 2, 14, 30, tzinfo=UTC)  # under 24 h before both
    assert await send_reminders(queue, settings, clock) == 1
    assert [to for to, _ in await _reminders(queue)] == ["bob@example.org"]
    assert await send_reminders(queue, settings, clock) == 0  # Alice's fails again, alone


async def test_a_booking_is_reminded_once_within_its_places_hours_and_again_when_moved(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    await set_language(queue, alice.user_id, "en")
    await _reminder_hours(queue, lab.place_id, 48)  # before the 24 h moving deadline
    created = await book(api, alice, lab.printer, WEDNESDAY_2PM, WEDNESDAY_3PM)
    assert created.status_code == 201, created.text
    booking_id = created.json()["id"]

    clock.now = datetime(2027, 3, 1, 12, 55, tzinfo=UTC)  # 48 h 05 before: not yet
    assert await send_reminders(queue, settings, clock) == 0
    clock.now = datetime(2027, 3, 1, 13, 5, tzinfo=UTC)  # 47 h 55 before
    assert await send_reminders(queue, settings, clock) == 1
    clock.advance(minutes=5)
    assert await _due(queue, clock) == []  # skipped by the query: not even rendered again
    assert await send_reminders(queue, settings, clock) == 0  # once

    [sent] = await outbox(queue, "booking_reminder")
    assert (sent.recipient, sent.language) == ("alice@example.org", "en")
    assert "Wednesday, 3 March 2027, 14:00\u201315:00" in sent.subject
    assert not sent.transactional and sent.unsubscribe_url is not None
    assert sent.unsubscribe_url in sent.text and sent.unsubscribe_url in sent.html

    moved = await api.post(
        f"/api/bookings/{booking_id}/reschedule",
        json={"starts_at": WEDNESDAY_3PM.isoformat(), "ends_at": WEDNESDAY_4PM.isoformat()},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    assert await send_reminders(queue, settings, clock) == 0  # 48 h 50 before the new start
    clock.now = datetime(2027, 3, 1, 14, 5, tzinfo=UTC)
    assert await send_reminders(queue, settings, clock) == 1  # the new start, once more
    keys = [key for _, key in await _reminders(queue)]
    assert len(keys) == len(set(keys)) == 2


async def test_no_reminder_to_those_who_turned_them_off_nor_where_the_place_sends_none(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    settings: Settings,
    clock: MutableClock,
    admin_headers: dict[str, str],
) -> None:
    alice = await make_user(queue, "alice@example.org")
    bob = await make_user(queue, "bob@example.org")
    async with queue.engine.begin() as conn:
        await conn.execute(
            text("UPDATE user_account SET reminders = false WHERE id = :id"), {"id": bob.user_id}
        )
    other = await api.post(
        "/api/places",
        json={
            "slug": "tiers-lieu",
            "name": "Tiers-lieu",
            "address": "2 rue",
            "postcode": "22300",
            "town": "Lannion",
            "operator_name": "Commune",
        },
        headers=admin_headers,
    )
    assert other.status_code == 201, other.text
    await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    await book(api, bob, lab.laser, TUESDAY_2PM, TUESDAY_3PM)
    await _reminder_hours(queue, lab.place_id, 0)  # the lab sends none
    clock.now = datetime(2027, 3, 1, 13, 5, tzinfo=UTC)
    assert await send_reminders(queue, settings, clock) == 0
    await _reminder_hours(queue, lab.place_id, 24)
    assert await send_reminders(queue, settings, clock) == 1
    assert [to for to, _ in await _reminders(queue)] == ["alice@example.org"]


@pytest.mark.parametrize(
    ("now", "start", "due_at", "local_time"),
    [
        # Sunday 28 March 2027, clocks go forward at 02:00: 10:00 CEST is 08:00 UTC, and 24
        # real hours before is Saturday 09:00 CET (a wall clock would say 10:00).
        (
            datetime(2027, 3, 20, 9, tzinfo=UTC),
            paris(2027, 3, 28, 10),
            datetime(2027, 3, 27, 8, tzinfo=UTC),
            "10:00",
        ),
        # Sunday 31 October 2027, clocks go back at 03:00: 10:00 CET is 09:00 UTC, and 24 real
        # hours before is Saturday 11:00 CEST.
        (
            datetime(2027, 10, 25, 9, tzinfo=UTC),
            paris(2027, 10, 31, 10),
            datetime(2027, 10, 30, 9, tzinfo=UTC),
            "10:00",
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
async def test_on_the_days_the_clocks_change_the_reminder_comes_24_real_hours_before(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    settings: Settings,
    clock: MutableClock,
    now: datetime,
    start: datetime,
    due_at: datetime,
    local_time: str,
) -> None:
    clock.now = now
    alice = await make_user(queue, "alice@example.org")
    created = await book(api, alice, lab.printer, start, start.replace(hour=start.hour + 1))
    assert created.status_code == 201, created.text

    clock.now = due_at.replace(hour=due_at.hour - 1, minute=55)  # 24 h 05 before
    assert await send_reminders(queue, settings, clock) == 0
    clock.now = due_at.replace(minute=5)  # 23 h 55 before
    assert await send_reminders(queue, settings, clock) == 1
    [sent] = await outbox(queue, "booking_reminder")
    assert f"{local_time}\u2013" in sent.subject  # the place's wall clock that day
    assert sent.key.endswith(f":booking_reminder:{alice.email}")


async def test_the_unsubscribe_link_turns_reminders_off_and_refuses_a_tampered_one(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    bob = await make_user(queue, "bob@example.org")
    await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    clock.now = datetime(2027, 3, 1, 13, 5, tzinfo=UTC)
    await send_reminders(queue, settings, clock)
    [sent] = await outbox(queue, "booking_reminder")
    assert sent.unsubscribe_url is not None
    link = urlsplit(sent.unsubscribe_url)
    assert f"{link.scheme}://{link.netloc}" == settings.public_base_url
    target = f"{link.path}?{link.query}"

    # Following the link only asks (link checkers follow links).
    page = await api.get(target)
    assert page.status_code == 200, page.text
    assert 'method="post"' in page.text and await _reminders_on(queue, alice.user_id)

    # Tampered: another signature, or alice's signature on bob's id.
    token = unsubscribe_token(settings, alice.user_id)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    swapped = f"{bob.user_id}.{token.split('.', 1)[1]}"
    for bad in (forged, swapped, "nothing", f"{alice.user_id}."):
        refused = await api.post(link.path, params={"token": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["code"] == "invalid_unsubscribe_link"
    assert await _reminders_on(queue, alice.user_id) and await _reminders_on(queue, bob.user_id)

    # The mail client's one-click POST (RFC 8058): no cookie, no CSRF token.
    done = await api.post(target, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text
    assert not await _reminders_on(queue, alice.user_id)
    assert await _reminders_on(queue, bob.user_id)
    clock.advance(days=1)
    await book(api, alice, lab.printer, paris(2027, 3, 3, 14), paris(2027, 3, 3, 15))
    assert await send_reminders(queue, settings, clock) == 0
