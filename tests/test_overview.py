"""The manager's overview: requests awaiting approval, waitlists and failed deliveries of the
places they manage, and nothing of other places."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from kernel import jobs
from kernel.db import Database
from kernel.events import EVENT_JOB, job_payload
from kernel.settings import Settings
from notifications.models import FAILED, OutboundMessage
from tests.support.accounts import make_user
from tests.support.booking import (
    Fablab,
    MutableClock,
    book,
    booking_client,
    make_fablab,
    paris,
    set_resource,
)
from tests.support.jobs import empty_queue
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)


@pytest.fixture
async def api(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the booking tests' fixed clock."""
    async with booking_client(settings, database, MutableClock()) as http:
        yield http


@pytest.fixture
async def lab(api: httpx.AsyncClient, admin_headers: dict[str, str]) -> Fablab:
    """A furnished fablab open every day 08:00-20:00."""
    return await make_fablab(api, admin_headers)


@pytest.fixture
async def queue(database: Database) -> AsyncIterator[Database]:
    """The test database with an empty queue."""
    await empty_queue(database)
    yield database
    await empty_queue(database)


async def _failed_event(database: Database, place_id: int, key: str) -> int:
    """An event of ``place_id`` whose delivery failed for good."""
    async with database.writer() as session, session.begin():
        payload = job_payload("booking.confirmed", {"place_id": place_id}, key)
        job_id = await jobs.enqueue(session, EVENT_JOB, payload)
        assert job_id is not None
        connection = await session.connection()
        await connection.execute(
            text("UPDATE jobs.pgqueuer SET status = 'failed', attempts = 5 WHERE id = :id"),
            {"id": job_id},
        )
    return job_id


async def _failed_webhook(database: Database, place_id: int) -> int:
    """A webhook delivery of ``place_id`` whose every attempt failed."""
    async with database.writer() as session, session.begin():
        subscription = WebhookSubscription(
            url="https://receiver.example/hook",
            event_types=["booking.created"],
            place_ids=[place_id],
            secret_encrypted="not-read-here",
        )
        session.add(subscription)
        await session.flush()
        assert subscription.id is not None
        delivery = WebhookDelivery(
            subscription_id=subscription.id,
            event_key=f"booking.{place_id}.created",
            event_type="booking.created",
            place_id=place_id,
            body="{}",
            status=DeliveryStatus.FAILED,
            attempts=12,
            response_status=500,
        )
        session.add(delivery)
        await session.flush()
        assert delivery.id is not None
        return delivery.id


async def _failed_mail(database: Database, place_id: int) -> int:
    """An e-mail of ``place_id`` that could not be sent."""
    async with database.writer() as session, session.begin():
        message = OutboundMessage(
            key="overview-test",
            place_id=place_id,
            recipient="someone@example.org",
            subject="Rappel",
            text="-",
            html="<p>-</p>",
            language="fr",
            template="reminder",
            status=FAILED,
            attempts=5,
        )
        session.add(message)
        await session.flush()
        assert message.id is not None
        return message.id


async def test_a_manager_sees_what_needs_them_at_their_places_only(
    api: httpx.AsyncClient,
    lab: Fablab,
    queue: Database,
    admin_headers: dict[str, str],
) -> None:
    other = await api.post(
        "/api/places",
        json={
            "slug": "autre-lieu",
            "name": "Autre lieu",
            "address": "2 rue",
            "postcode": "22300",
            "town": "Lannion",
            "operator_name": "Commune",
        },
        headers=admin_headers,
    )
    other_place = other.json()["id"]
    await set_resource(queue, lab.room, requires_approval=True)
    alice = await make_user(queue, "alice@example.org")
    bob = await make_user(queue, "bob@example.org")
    pending = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)
    assert pending.json()["status"] == "pending_approval", pending.text
    assert (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    joined = await api.post(
        "/api/waitlist",
        json={
            "resource_id": lab.printer,
            "starts_at": TUESDAY_2PM.isoformat(),
            "ends_at": TUESDAY_3PM.isoformat(),
        },
        headers=bob.headers,
    )
    assert joined.status_code == 201, joined.text
    mine = await _failed_event(queue, lab.place_id, "mine")
    await _failed_event(queue, other_place, "theirs")
    hook = await _failed_webhook(queue, lab.place_id)
    mail = await _failed_mail(queue, lab.place_id)
    await _failed_webhook(queue, other_place)
    manager = await make_user(queue, "manager@example.org", manages=(lab.place_id,))
    stranger = await make_user(queue, "stranger@example.org", manages=(other_place,))

    seen = await api.get("/api/manager/overview", headers=manager.headers)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["places"] == [
        {
            "place_id": lab.place_id,
            "name": body["places"][0]["name"],
            "pending_approvals": 1,
            "waitlist_waiting": 1,
            "waitlist_offered": 0,
        }
    ]
    assert [e["booking"]["id"] for e in body["pending_approvals"]] == [pending.json()["id"]]
    assert body["pending_approvals"][0]["booker"]["email"] == "alice@example.org"
    assert [w["entry"]["id"] for w in body["waitlist"]] == [joined.json()["id"]]
    assert sorted((f["kind"], f["id"]) for f in body["failed_deliveries"]) == [
        ("job", mine),
        ("webhook", hook),
    ]
    [webhook] = [f for f in body["failed_deliveries"] if f["kind"] == "webhook"]
    assert (webhook["name"], webhook["response_status"]) == ("https://receiver.example/hook", 500)
    assert body["failed_deliveries_total"] == 2

    theirs = (await api.get("/api/manager/overview", headers=stranger.headers)).json()
    assert [p["place_id"] for p in theirs["places"]] == [other_place]
    assert theirs["pending_approvals"] == theirs["waitlist"] == []
    assert [f["place_id"] for f in theirs["failed_deliveries"]] == [other_place, other_place]

    everything = (await api.get("/api/manager/overview", headers=admin_headers)).json()
    assert {p["place_id"] for p in everything["places"]} == {lab.place_id, other_place}
    assert everything["failed_deliveries_total"] == 5  # the outbox is the admins'
    assert ("mail", mail) in {(f["kind"], f["id"]) for f in everything["failed_deliveries"]}

    refused = await api.get("/api/manager/overview", headers=alice.headers)
    assert refused.status_code == 403
