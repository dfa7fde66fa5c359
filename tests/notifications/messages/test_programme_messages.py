"""The programme's messages: seats confirmed with the session's ``.ics``, and a session
cancelled below its minimum told to each registrant once, however often its job runs."""

from __future__ import annotations

import httpx

from kernel.db import Database
from kernel.settings import Settings
from tests.notifications.messages.support import dispatch, outbox
from tests.programme.support import publish, register, run_minimum_job, session_body
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, paris


async def test_registrants_get_their_confirmation_then_the_cancellation_once(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    manager = await make_user(queue, "gerante@fablab.fr", manages=(lab.place_id,))
    alice = await make_user(queue, "alice@example.fr")
    bob = await make_user(queue, "bob@example.fr")
    body = session_body(
        paris(2027, 3, 10, 14), paris(2027, 3, 10, 17), resources=(lab.room,), min_attendance=3
    )
    [made] = await publish(api, manager, lab.place_id, body)
    for person in (alice, bob):
        assert (await register(api, person, made["id"])).status_code == 201
    await dispatch(queue, settings, clock)

    confirmed = await outbox(queue, "session_registered")
    assert sorted(m.recipient for m in confirmed) == ["alice@example.fr", "bob@example.fr"]
    calendar = confirmed[0].calendar()
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]).startswith(f"session-{made['id']}@")
    assert "mercredi 10 mars 2027, 14:00" in confirmed[0].subject
    # The place's own booking of the room tells no one (not its manager either).
    assert await outbox(queue, "booking_confirmed") == []

    clock.now = paris(2027, 3, 8, 15)
    for _ in range(2):
        await run_minimum_job(queue, clock)
        await dispatch(queue, settings, clock)
    cancelled = await outbox(queue, "session_cancelled")
    assert sorted(m.recipient for m in cancelled) == ["alice@example.fr", "bob@example.fr"]
    assert "trop peu de personnes" in cancelled[0].text
    [gone] = cancelled[0].calendar().walk("VEVENT")
    assert str(gone["STATUS"]) == "CANCELLED"
