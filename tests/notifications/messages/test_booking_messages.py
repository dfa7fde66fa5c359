"""The messages of booking events, through a real worker: each once, to the right person, in
their language, with the right calendar file; none for a rolled-back booking; none twice when an
event is handed over again."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from billing import maintenance
from billing.charges import Charges
from booking.events import BookingEvent
from booking.schemas import BookingCreate, ItemRequest
from booking.service import BookingServices
from kernel import events
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from mutualab.composition import build_runtime
from notifications.hold_warnings import warn_lapsing_holds
from tests.notifications.messages.support import dispatch, outbox, set_language
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, book, paris, set_resource

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
TUESDAY_4PM = paris(2027, 3, 2, 16)
HOST = "mutualab.test"  # of the settings' public address


async def test_a_confirmed_booking_is_mailed_once_to_its_booker_with_its_ics(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    await set_language(queue, alice.user_id, "en")
    created = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert created.status_code == 201, created.text
    booking = created.json()

    await dispatch(queue, settings, clock)

    [sent] = await outbox(queue)
    assert (sent.template, sent.recipient, sent.language) == (
        "booking_confirmed",
        "alice@example.org",
        "en",
    )
    assert sent.transactional and sent.unsubscribe_url is None
    # The place's wall clock (CET), in English.
    assert "Tuesday, 2 March 2027, 14:00\u201315:00" in sent.subject
    assert booking["reference"] in sent.text and "Fablab de Lannion" in sent.html
    calendar = sent.calendar()
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"booking-{booking['id']}@{HOST}"
    assert event["SEQUENCE"] == booking["sequence"] == 0
    assert event.decoded("DTSTART") == TUESDAY_2PM
    # The booker's page of the booking (the one the message links to), worded in English.
    page = f"https://{HOST}/account/bookings/{booking['id']}"
    assert str(event["URL"]) == page and page in sent.text
    assert str(event["DESCRIPTION"]) == f"Reference: {booking['reference']}\n{page}"


async def test_an_event_handed_over_again_queues_nothing_twice(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    created = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert created.status_code == 201, created.text
    booking_id = created.json()["id"]
    await dispatch(queue, settings, clock)
    first = await outbox(queue)

    # The same event published again (a redelivery after a crash): a second dispatch job.
    async with queue.writer() as session, session.begin():
        await events.publish(
            session,
            "booking.created",
            {"booking_id": booking_id, "place_id": lab.place_id, "status": "confirmed"},
            key=f"booking.{booking_id}.created",
        )
    await dispatch(queue, settings, clock)

    assert len(first) == 1
    assert await outbox(queue) == first


async def test_a_rolled_back_booking_sends_nothing(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    services = BookingServices(clock, None, listeners=(_Quiet(),), charges=Charges())
    actor = Actor(user_id=alice.user_id, via="api_token")
    request = BookingCreate(
        items=[ItemRequest(resource_id=lab.printer)], starts_at=TUESDAY_2PM, ends_at=TUESDAY_3PM
    )
    async with queue.writer() as session:
        made = await services.bookings(session).create(actor, request)
        assert made.id is not None
        await session.rollback()
    kept = await book(api, alice, lab.printer, TUESDAY_3PM, TUESDAY_4PM)
    assert kept.status_code == 201, kept.text

    await dispatch(queue, settings, clock)

    [sent] = await outbox(queue)
    assert sent.key.startswith(f"booking.{kept.json()['id']}.created:")


class _Quiet:
    """A listener that does nothing (the services require one)."""

    async def booking_changed(self, session: AsyncSession, event: BookingEvent) -> None:
        return None


async def test_a_move_and_a_cancellation_update_then_remove_the_calendar_event(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    created = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    booking_id = created.json()["id"]
    moved = await api.post(
        f"/api/bookings/{booking_id}/reschedule",
        json={"starts_at": TUESDAY_3PM.isoformat(), "ends_at": TUESDAY_4PM.isoformat()},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    await dispatch(queue, settings, clock)
    cancelled = await api.post(
        f"/api/bookings/{booking_id}/cancel", json={"reason": "ill"}, headers=alice.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await dispatch(queue, settings, clock)

    [changed] = await outbox(queue, "booking_changed")
    assert (
        "15:00\u201316:00" in changed.subject and "14:00\u201315:00" in changed.text
    )  # new, and before
    request = changed.calendar()
    assert request["METHOD"] == "REQUEST"
    [moved_event] = request.walk("VEVENT")
    assert moved_event["SEQUENCE"] == moved.json()["sequence"] == 1
    assert moved_event.decoded("DTSTART") == TUESDAY_3PM
    [gone] = await outbox(queue, "booking_cancelled")
    assert gone.recipient == "alice@example.org"
    assert "L'équipe" not in gone.text  # she cancelled it herself
    cancel = gone.calendar()
    assert cancel["METHOD"] == "CANCEL"
    [cancelled_event] = cancel.walk("VEVENT")
    assert str(cancelled_event["UID"]) == str(moved_event["UID"])
    assert cancelled_event["SEQUENCE"] == cancelled.json()["sequence"] == 2
    assert cancelled_event["STATUS"] == "CANCELLED"
    assert len(await outbox(queue)) == 3  # confirmed, changed, cancelled


async def test_a_cancellation_by_the_place_says_so(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    manager = await make_user(queue, "manager@fablab.test", manages=(lab.place_id,))
    created = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    cancelled = await api.post(
        f"/api/bookings/{created.json()['id']}/cancel",
        json={"reason": "machine en panne"},
        headers=manager.headers,
    )
    assert cancelled.status_code == 200, cancelled.text

    await dispatch(queue, settings, clock)

    [gone] = await outbox(queue, "booking_cancelled")
    assert gone.recipient == "alice@example.org"
    assert "L'équipe de Fablab de Lannion a annulé votre réservation" in gone.text
    assert "machine en panne" in gone.text and "Remboursement" not in gone.text


async def test_a_request_is_told_to_the_managers_then_its_decision_to_the_booker(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    await set_resource(queue, lab.room, requires_approval=True)
    alice = await make_user(queue, "alice@example.org")
    first = await make_user(queue, "first@fablab.test", manages=(lab.place_id,))
    second = await make_user(queue, "second@fablab.test", manages=(lab.place_id,))
    await make_user(queue, "elsewhere@fablab.test")  # manages nothing: told nothing
    await set_language(queue, second.user_id, "en")
    approved = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)
    refused = await book(api, alice, lab.room, TUESDAY_3PM, TUESDAY_4PM)
    assert approved.json()["status"] == refused.json()["status"] == "pending_approval"
    ok = await api.post(
        f"/api/bookings/{approved.json()['id']}/approve", json={}, headers=first.headers
    )
    no = await api.post(
        f"/api/bookings/{refused.json()['id']}/refuse",
        json={"reason": "salle réservée aux écoles ce jour-là"},
        headers=first.headers,
    )
    assert ok.status_code == no.status_code == 200, (ok.text, no.text)

    await dispatch(queue, settings, clock)

    asked = await outbox(queue, "approval_requested")
    assert sorted((m.recipient, m.language) for m in asked) == [
        ("first@fablab.test", "fr"),
        ("first@fablab.test", "fr"),
        ("second@fablab.test", "en"),
        ("second@fablab.test", "en"),
    ]
    assert all("alice@example.org" in m.text and "/manage/bookings/" in m.text for m in asked)
    received = await outbox(queue, "booking_requested")
    assert [m.recipient for m in received] == ["alice@example.org"] * 2
    # A request is named as one, its reference too (alice reads French).
    assert all("Demande : MLB-" in m.text for m in received)
    assert all("Réservation :" not in m.text for m in received)
    [yes] = await outbox(queue, "booking_approved")
    assert yes.recipient == "alice@example.org" and approved.json()["reference"] in yes.text
    assert yes.calendar()["METHOD"] == "REQUEST"
    [nope] = await outbox(queue, "booking_refused")
    assert nope.recipient == "alice@example.org"
    assert "salle réservée aux écoles ce jour-là" in nope.text
    assert "salle réservée aux écoles ce jour-là" in nope.html
    assert not nope.attachments


async def test_a_hold_without_a_card_payment_is_neither_warned_nor_told_it_lapsed(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    """As a waitlist offer is held: the person books it at one click, nothing to pay by card."""
    zoe = await make_user(queue, "zoe@example.org")
    created = await book(api, zoe, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    booking_id = created.json()["id"]
    await dispatch(queue, settings, clock)
    lapses = clock() + timedelta(minutes=10)
    async with queue.engine.begin() as conn:
        for table, column in (("booking", "id"), ("booking_allocation", "booking_id")):
            await conn.execute(
                text(f"UPDATE {table} SET hold_expires_at = :at WHERE {column} = :id"),  # noqa: S608
                {"at": lapses, "id": booking_id},
            )
        await conn.execute(
            text("UPDATE booking SET status = 'held' WHERE id = :id"), {"id": booking_id}
        )

    assert await warn_lapsing_holds(queue, settings.public_base_url, clock) == 0
    clock.advance(minutes=11)
    runtime = build_runtime(settings, queue, clock)
    try:
        released, _ = await maintenance.expire_holds(runtime.billing)
    finally:
        await runtime.close()
    assert released == 1
    await dispatch(queue, settings, clock)

    assert [m.template for m in await outbox(queue)] == ["booking_confirmed"]


async def test_a_move_that_needs_approval_asks_the_managers_again(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    await set_resource(queue, lab.room, requires_approval=True)
    alice = await make_user(queue, "alice@example.org")
    manager = await make_user(queue, "manager@fablab.test", manages=(lab.place_id,))
    asked = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)
    booking_id = asked.json()["id"]
    ok = await api.post(f"/api/bookings/{booking_id}/approve", json={}, headers=manager.headers)
    assert ok.status_code == 200, ok.text
    await dispatch(queue, settings, clock)
    assert len(await outbox(queue, "approval_requested")) == 1

    moved = await api.post(
        f"/api/bookings/{booking_id}/reschedule",
        json={"starts_at": TUESDAY_3PM.isoformat(), "ends_at": TUESDAY_4PM.isoformat()},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "pending_approval"
    await dispatch(queue, settings, clock)

    _, again = await outbox(queue, "approval_requested")
    assert again.recipient == "manager@fablab.test" and "15:00\u201316:00" in again.subject
    [changed] = await outbox(queue, "booking_changed")
    assert changed.recipient == "alice@example.org" and not changed.attachments
    assert "accepté par l'équipe du lieu" in changed.text


async def test_the_confirmation_says_whether_the_booking_is_in_the_persons_feed(
    api: httpx.AsyncClient, lab: Fablab, queue: Database, settings: Settings, clock: MutableClock
) -> None:
    alice = await make_user(queue, "alice@example.org")
    await set_language(queue, alice.user_id, "en")
    before = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    await dispatch(queue, settings, clock)
    feed = await api.post("/api/me/calendar-feed", headers=alice.headers)
    assert feed.status_code == 201, feed.text
    after = await book(api, alice, lab.printer, TUESDAY_3PM, TUESDAY_4PM)
    await dispatch(queue, settings, clock)

    without, with_feed = await outbox(queue, "booking_confirmed")
    assert before.json()["reference"] in without.text
    assert "subscribe from the booking's page" in without.text
    assert f"/account/bookings/{before.json()['id']}" in without.text
    assert after.json()["reference"] in with_feed.text
    assert "It also shows in your Mutualab calendar subscription" in with_feed.text
    assert feed.json()["url"] not in with_feed.text  # its token is never mailed
