"""From a booking to an inbox: the confirmation and the reminder through real workers and a
real SMTP server (aiosmtpd), each delivered once, the reminder with List-Unsubscribe."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from icalendar import Calendar

from kernel.db import Database
from kernel.settings import Settings
from notifications.reminders import send_reminders
from tests.notifications.messages.support import mailing_registry, outbox, url_of
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris
from tests.support.jobs import eventually, queued_count, workers
from tests.support.smtp import Inbox, smtp_server


async def test_the_confirmation_and_the_reminder_reach_the_inbox_once(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    created = await book(api, alice, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert created.status_code == 201, created.text
    inbox = Inbox()

    async def delivered(count: int) -> bool:
        sent = [m for m in await outbox(queue)]
        return len(inbox.received) == count and len(sent) == count and not await queued_count(queue)

    async with smtp_server(inbox) as port:
        jobs = mailing_registry(queue, settings, clock, port)
        async with workers(url_of(queue), jobs, count=2):
            await eventually(lambda: delivered(1), "the confirmation was delivered")
            clock.now = datetime(2027, 3, 1, 13, 5, tzinfo=UTC)
            assert await send_reminders(queue, settings, clock) == 1
            await eventually(lambda: delivered(2), "the reminder was delivered")

    confirmation, reminder = inbox.to("alice@example.org")
    assert confirmation["Subject"].startswith("Réservation confirmée")
    assert "List-Unsubscribe" not in confirmation  # transactional
    [ics] = [p for p in confirmation.walk() if p.get_content_type() == "text/calendar"]
    assert ics.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(ics.get_payload(decode=True))
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"booking-{created.json()['id']}@mutualab.test"
    assert reminder["Subject"].startswith("Rappel")
    assert reminder["List-Unsubscribe"].startswith(
        f"<{settings.public_base_url}/api/unsubscribe/reminders?token="
    )
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
