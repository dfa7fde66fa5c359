"""Webhook deliveries through real workers to a real HTTP receiver: once per event, signed per
Standard Webhooks; nothing for a rolled-back change; retried until delivered; the subscription
disabled when its deliveries keep failing; replayed on demand."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from billing.charges import Charges
from booking.events import BookingEvent
from booking.schemas import BookingCreate, ItemRequest
from booking.service import BookingServices
from kernel import events
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.mail import Mailer, SmtpServer
from kernel.settings import Settings
from mutualab.composition import Runtime
from notifications import wiring as notifications
from notifications.sealing import BodySeal
from tests.support.accounts import Person, make_user
from tests.support.booking import Fablab, MutableClock, book, paris, set_resource
from tests.support.jobs import eventually, queued_count, workers
from tests.support.smtp import Inbox, smtp_server
from tests.webhooks.receiver import Receiver, receiving
from tests.webhooks.support import QUICK, Heard, hook_registry, subscribe, url_of
from webhooks.events import EVENT_TYPES
from webhooks.notice import disabled_notice
from webhooks.policy import DeliveryPolicy, backoff

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
TUESDAY_4PM = paris(2027, 3, 2, 16)
WEDNESDAY_10AM = paris(2027, 3, 3, 10)
WEDNESDAY_11AM = paris(2027, 3, 3, 11)


async def _idle(database: Database) -> bool:
    return await queued_count(database) == 0


async def _deliveries(database: Database) -> list[dict[str, Any]]:
    async with database.read_engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, subscription_id, event_key, event_type, status, attempts, "
                "response_status, last_error FROM webhook_delivery ORDER BY id"
            )
        )
        return [dict(row._mapping) for row in rows]


async def _price_printer(api: httpx.AsyncClient, lab: Fablab, manager: Person) -> None:
    """The printer costs 10 EUR an hour, paid on site; the rest stays free."""
    priced = await api.put(
        f"/api/places/{lab.place_id}/price-lists",
        json={"resource_id": lab.printer, "rates": [{"user_type": "*", "hourly_cents": 1000}]},
        headers=manager.headers,
    )
    assert priced.status_code == 200, priced.text
    settings = await api.put(
        f"/api/places/{lab.place_id}/billing-settings",
        json={
            "invoice_prefix": "WH",
            "payment_methods": {"*": ["on_site"]},
            "refund_tiers": [{"hours": 48, "percent": 100}],
        },
        headers=manager.headers,
    )
    assert settings.status_code == 200, settings.text


async def test_every_event_of_a_subscribed_place_is_delivered_once_and_signed(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
    admin_headers: dict[str, str],
) -> None:
    subscription = await subscribe(
        api, manager, receiver.url, [lab.place_id], event_types=list(EVENT_TYPES)
    )
    secret = str(subscription["secret"])
    other = await api.post(
        "/api/places",
        json={
            "slug": "elsewhere",
            "name": "Ailleurs",
            "address": "2 rue",
            "postcode": "57000",
            "town": "Metz",
            "operator_name": "Ville",
        },
        headers=admin_headers,
    )
    assert other.status_code == 201, other.text
    async with receiving() as elsewhere:
        # Another place's subscription hears none of this place's events.
        admin = Person(0, "", admin_headers["Authorization"].removeprefix("Bearer "))
        await subscribe(api, admin, elsewhere.url, [other.json()["id"]], list(EVENT_TYPES))
        alice = await make_user(queue, "alice@example.org")
        await set_resource(queue, lab.room, requires_approval=True)
        # A booking's life: asked, approved, moved, cancelled.
        asked = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)
        assert asked.status_code == 201, asked.text
        booking_id = asked.json()["id"]
        approved = await api.post(
            f"/api/bookings/{booking_id}/approve", json={}, headers=manager.headers
        )
        assert approved.status_code == 200, approved.text
        moved = await api.post(
            f"/api/bookings/{booking_id}/reschedule",
            json={"starts_at": TUESDAY_3PM.isoformat(), "ends_at": TUESDAY_4PM.isoformat()},
            headers=alice.headers,
        )
        assert moved.status_code == 200, moved.text
        cancelled = await api.post(
            f"/api/bookings/{booking_id}/cancel", json={"reason": "ill"}, headers=alice.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        # Money: a priced booking paid on site, then invoiced.
        await _price_printer(api, lab, manager)
        quote = await api.post(
            "/api/quotes",
            json={
                "items": [{"resource_id": lab.printer, "quantity": 1}],
                "starts_at": WEDNESDAY_10AM.isoformat(),
                "ends_at": WEDNESDAY_11AM.isoformat(),
            },
            headers=alice.headers,
        )
        assert quote.status_code == 200, quote.text
        paid = await api.post(
            "/api/checkout",
            json={
                "items": [{"resource_id": lab.printer, "quantity": 1}],
                "starts_at": WEDNESDAY_10AM.isoformat(),
                "ends_at": WEDNESDAY_11AM.isoformat(),
                "method": "on_site",
                "quote_fingerprint": quote.json()["fingerprint"],
            },
            headers=alice.headers,
        )
        assert paid.status_code == 201, paid.text
        payment_id = paid.json()["payment"]["id"]
        recorded = await api.post(
            f"/api/payments/{payment_id}/record", json={"means": "cash"}, headers=manager.headers
        )
        assert recorded.status_code == 200, recorded.text

        heard = Heard()
        async with workers(url_of(queue), hook_registry(runtime, hook_settings, QUICK, heard)):
            await eventually(lambda: _idle(queue), "every event was delivered")
        assert elsewhere.requests == []

    expected = {e.key: e.name for e in heard.events if e.name in EVENT_TYPES}
    assert set(expected.values()) >= {
        "booking.created",
        "booking.confirmed",
        "booking.rescheduled",
        "booking.cancelled",
        "payment.received",
        "invoice.issued",
    }
    # Each event exactly once, each request signed with the subscription's secret.
    assert sorted(r.id for r in receiver.requests) == sorted(expected)
    for request in receiver.requests:
        payload = request.verified(secret)
        assert payload["id"] == request.id
        assert (payload["type"], payload["version"]) == (expected[request.id], 1)
        assert request.headers["content-type"] == "application/json"
    payloads = {str(p["type"]): p for p in (r.verified(secret) for r in receiver.requests)}
    confirmed: Any = payloads["booking.confirmed"]["data"]
    assert confirmed["booking"]["id"] == booking_id
    assert confirmed["booking"]["place_id"] == lab.place_id
    assert confirmed["previous"] == "pending_approval"
    received: Any = payloads["payment.received"]["data"]
    assert received["payment"]["id"] == payment_id
    assert received["payment"]["client_secret"] is None  # the payer's only
    invoice: Any = payloads["invoice.issued"]["data"]
    assert invoice["invoice"]["payment_id"] == payment_id
    logged = await _deliveries(queue)
    assert {(d["status"], d["attempts"], d["response_status"]) for d in logged} == {
        ("delivered", 1, 204)
    }


class _Quiet:
    """A listener that does nothing (the booking services require one)."""

    async def booking_changed(self, session: Any, event: BookingEvent) -> None:
        return None


async def test_a_rolled_back_change_delivers_nothing(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
    clock: MutableClock,
) -> None:
    await subscribe(api, manager, receiver.url, [lab.place_id])
    alice = await make_user(queue, "alice@example.org")
    services = BookingServices(clock, None, listeners=(_Quiet(),), charges=Charges())
    request = BookingCreate(
        items=[ItemRequest(resource_id=lab.printer)], starts_at=TUESDAY_2PM, ends_at=TUESDAY_3PM
    )
    async with queue.writer() as session:
        await services.bookings(session).create(Actor(user_id=alice.user_id), request)
        await session.rollback()
    kept = await book(api, alice, lab.printer, TUESDAY_3PM, TUESDAY_4PM)
    assert kept.status_code == 201, kept.text
    async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
        await eventually(lambda: _idle(queue), "the committed booking was delivered")
    [request_received] = receiver.requests
    assert request_received.id == f"booking.{kept.json()['id']}.created"
    assert len(await _deliveries(queue)) == 1


async def test_a_receiver_failing_three_times_then_succeeding_gets_the_event_once(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
) -> None:
    async with receiving(answers=[500, 503, 429]) as receiver:
        subscription = await subscribe(api, manager, receiver.url, [lab.place_id])
        alice = await make_user(queue, "alice@example.org")
        made = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
        assert made.status_code == 201, made.text
        async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
            await eventually(lambda: _idle(queue), "the event was delivered")
    assert [r.status for r in receiver.requests] == [500, 503, 429, 204]
    # The same message each time (id and body), signed anew at each attempt.
    assert {r.id for r in receiver.requests} == {f"booking.{made.json()['id']}.created"}
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        request.verified(str(subscription["secret"]))
    assert len(receiver.accepted()) == 1
    [delivery] = await _deliveries(queue)
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == (
        "delivered",
        4,
        204,
    )
    log = await api.get(f"/api/webhooks/{subscription['id']}/deliveries", headers=manager.headers)
    assert log.status_code == 200, log.text
    [entry] = log.json()["items"]
    assert (entry["status"], entry["attempts"], entry["last_error"]) == ("delivered", 4, "")
    assert entry["next_attempt_at"] is None and entry["duration_ms"] is not None


async def test_a_subscription_whose_deliveries_keep_failing_is_disabled(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
) -> None:
    # Two quick retries, and no grace: the first delivery to fail for good disables.
    policy = DeliveryPolicy(
        retry_waits=(timedelta(milliseconds=50),) * 2, disable_after=timedelta(0)
    )
    inbox = Inbox()
    async with receiving(answers=[500] * 10) as receiver, smtp_server(inbox) as port:
        subscription = await subscribe(api, manager, receiver.url, [lab.place_id])
        alice = await make_user(queue, "alice@example.org")
        made = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
        assert made.status_code == 201, made.text
        registry = hook_registry(
            runtime, hook_settings, policy, on_disabled=disabled_notice(hook_settings)
        )
        # The notice goes out by e-mail: the outbox's sending job, to a real SMTP server.
        notifications.register(
            registry,
            database=queue,
            mailer=Mailer(SmtpServer("127.0.0.1", port, timeout=10), "hooks@mutualab.test"),
            clock=runtime.clock,
            retention_days=90,
            nightly="17 3 * * *",
            seal=BodySeal(hook_settings.resolved_secret_key()),
        )
        async with workers(url_of(queue), registry):
            await eventually(lambda: _idle(queue), "the delivery failed for good")
        [notice] = inbox.to(manager.email)
        assert notice["Subject"] == f"Webhook désactivé : {receiver.url}"
        assert (
            f"/manage/places/{lab.place_id}/webhooks" in notice.get_body(("plain",)).get_content()
        )
        [delivery] = await _deliveries(queue)
        assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == (
            "failed",
            3,
            "HTTP 500",
        )
        shown = await api.get(f"/api/webhooks/{subscription['id']}", headers=manager.headers)
        assert shown.status_code == 200, shown.text
        assert shown.json()["active"] is False
        assert shown.json()["disabled_reason"] == "failing_deliveries"
        assert shown.json()["disabled_at"] is not None
        # Disabled: later events are not delivered, and neither ping nor replay is accepted.
        later = await book(api, alice, lab.printer, TUESDAY_3PM, TUESDAY_4PM)
        assert later.status_code == 201, later.text
        async with workers(url_of(queue), registry):
            await eventually(lambda: _idle(queue), "the later event was handled")
        assert len(receiver.requests) == 3
        assert len(await _deliveries(queue)) == 1
        assert len(inbox.received) == 1  # told once
        ping = await api.post(f"/api/webhooks/{subscription['id']}/ping", headers=manager.headers)
        assert ping.status_code == 409
        assert ping.json()["code"] == "webhook_disabled"
        # Turned back on by its owner, it is delivered to again.
        again = await api.patch(
            f"/api/webhooks/{subscription['id']}", json={"active": True}, headers=manager.headers
        )
        assert again.status_code == 200, again.text
        assert (again.json()["active"], again.json()["disabled_reason"]) == (True, "")


async def test_a_replay_sends_the_same_message_again(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    subscription = await subscribe(api, manager, receiver.url, [lab.place_id])
    alice = await make_user(queue, "alice@example.org")
    made = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert made.status_code == 201, made.text
    registry = hook_registry(runtime, hook_settings)
    async with workers(url_of(queue), registry):
        await eventually(lambda: _idle(queue), "the event was delivered")
        [delivery] = await _deliveries(queue)
        replayed = await api.post(
            f"/api/webhooks/{subscription['id']}/deliveries/{delivery['id']}/replay",
            headers=manager.headers,
        )
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["status"] == "pending"
        await eventually(lambda: _idle(queue), "the replay was delivered")
    first, second = receiver.requests
    assert first.id == second.id == f"booking.{made.json()['id']}.created"
    assert first.body == second.body
    second.verified(str(subscription["secret"]))
    [delivery] = await _deliveries(queue)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)


async def test_a_failing_subscription_stays_on_until_failures_last_long_enough(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
) -> None:
    # The delivery fails for good, but the subscription has not been failing for a day yet.
    policy = DeliveryPolicy(
        retry_waits=(timedelta(milliseconds=50),), disable_after=timedelta(days=1)
    )
    async with receiving(answers=[500] * 10) as receiver:
        subscription = await subscribe(api, manager, receiver.url, [lab.place_id])
        alice = await make_user(queue, "alice@example.org")
        made = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
        assert made.status_code == 201, made.text
        async with workers(url_of(queue), hook_registry(runtime, hook_settings, policy)):
            await eventually(lambda: _idle(queue), "the delivery failed for good")
    assert len(receiver.requests) == 2
    [delivery] = await _deliveries(queue)
    assert (delivery["status"], delivery["attempts"]) == ("failed", 2)
    shown = await api.get(f"/api/webhooks/{subscription['id']}", headers=manager.headers)
    assert (shown.json()["active"], shown.json()["disabled_reason"]) == (True, "")


async def test_an_event_handled_twice_is_delivered_once(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    await subscribe(api, manager, receiver.url, [lab.place_id])
    alice = await make_user(queue, "alice@example.org")
    made = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert made.status_code == 201, made.text
    data = {"booking_id": made.json()["id"], "place_id": lab.place_id, "status": "confirmed"}
    key = f"booking.{made.json()['id']}.created"
    registry = hook_registry(runtime, hook_settings)
    async with workers(url_of(queue), registry):
        await eventually(lambda: _idle(queue), "the event was delivered")
        # The same event again, as after a crash between a subscriber's work and the job's end.
        async with queue.writer() as session, session.begin():
            await events.publish(session, "booking.created", data, key=key)
        await eventually(lambda: _idle(queue), "the event was handled again")
    [request] = receiver.requests
    assert request.id == key
    assert len(await _deliveries(queue)) == 1


def test_the_retry_waits_double_up_to_a_cap_and_end_three_days_after_the_first_attempt() -> None:
    waits = backoff()
    assert waits[:3] == (timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2))
    assert max(waits) == timedelta(hours=12)
    assert sum(waits, timedelta(0)) == timedelta(days=3)
    # Doubling until the cap; only the last wait is shorter, to end at the horizon.
    assert all(later >= earlier for earlier, later in itertools.pairwise(waits[:-1]))
    policy = DeliveryPolicy()
    assert policy.attempts == len(waits) + 1
    assert policy.wait_after(1) == timedelta(seconds=30)
    assert policy.wait_after(policy.attempts) is None


async def test_a_manager_who_leaves_the_place_no_longer_receives_its_events(
    api: httpx.AsyncClient,
    lab: Fablab,
    manager: Person,
    queue: Database,
    runtime: Runtime,
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    await subscribe(api, manager, receiver.url, [lab.place_id])
    async with queue.writer() as session, session.begin():
        left = text("DELETE FROM place_manager WHERE user_id = :user").bindparams(
            user=manager.user_id
        )
        await session.exec(left)  # type: ignore[call-overload]
    alice = await make_user(queue, "alice@example.org")
    made = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert made.status_code == 201, made.text
    async with workers(url_of(queue), hook_registry(runtime, hook_settings)):
        await eventually(lambda: _idle(queue), "the event was handled")
    assert receiver.requests == []
    assert await _deliveries(queue) == []
