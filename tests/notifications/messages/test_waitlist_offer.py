"""A waitlist offer (``waitlist.offered``, published by the waitlist): to the person offered,
with the one-click link and the deadline on the place's clock, once per event."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from kernel import events
from kernel.db import Database
from kernel.settings import Settings
from tests.notifications.messages.support import dispatch, outbox, set_language
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris


async def test_an_offer_goes_once_to_the_person_offered_with_its_link_and_deadline(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    zoe = await make_user(queue, "zoe@example.org")
    await set_language(queue, zoe.user_id, "en")
    held = await book(api, zoe, lab.printer, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert held.status_code == 201, held.text
    booking_id = held.json()["id"]
    await dispatch(queue, settings, clock)
    offer = {
        "entry_id": 7,
        "booking_id": booking_id,
        "user_id": zoe.user_id,
        "expires_at": datetime(2027, 3, 1, 10, 0, tzinfo=UTC).isoformat(),
    }
    for _ in range(2):  # delivered twice: told once
        async with queue.writer() as session, session.begin():
            await events.publish(session, "waitlist.offered", offer, key="waitlist.7.offered")
        await dispatch(queue, settings, clock)

    [sent] = await outbox(queue, "waitlist_offer")
    assert (sent.recipient, sent.language) == ("zoe@example.org", "en")
    assert f"{settings.public_base_url}/account/bookings" in sent.text  # where "Book it" is
    assert "Monday, 1 March 2027, 11:00" in sent.text  # 10:00 UTC on the place's clock
    assert "Tuesday, 2 March 2027, 14:00\u201315:00" in sent.subject
