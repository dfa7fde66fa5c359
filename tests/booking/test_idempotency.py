"""Idempotency keys on booking writes: a repeated request is carried out once, whatever happens."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import text

from kernel.db import Database
from kernel.idempotency import purge
from kernel.models import utcnow
from tests.support.accounts import make_user
from tests.support.booking import Fablab, MutableClock, booking_body, paris
from tests.support.sql import sent_statements

Client = httpx.AsyncClient

TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
TUESDAY_4PM = paris(2027, 3, 2, 16)


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    """The caller's headers with an idempotency key."""
    return {**headers, "Idempotency-Key": key}


async def _count(database: Database, sql: str) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _age_records(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE idempotency_record SET created_at = now() - interval '25 hours'")
        )


async def test_the_same_booking_sent_twice_with_one_key_books_once(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    body = booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    key = str(uuid.uuid4())
    first = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, key))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, key))
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"].startswith("application/json")
    assert again.json() == first.json()
    assert await _count(database, "SELECT count(*) FROM booking") == 1
    # Without a key the same request is a new one, refused because the slot is taken.
    unkeyed = await api.post("/api/bookings", json=body, headers=alice.headers)
    assert unkeyed.status_code == 409


async def test_a_keyed_booking_is_one_statement_once_its_token_is_remembered(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    warm = booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    with sent_statements() as first:
        made = await api.post("/api/bookings", json=warm, headers=keyed(alice.headers, "a"))
    assert made.status_code == 201, made.text
    # The token is read first, with the user's roles (and the catalogue, new to this worker);
    # the worker now remembers the token.
    assert "api_token" in first[0], first
    assert sum(s.startswith("SELECT") and "api_token" in s for s in first) == 1, first
    body = booking_body(lab.printer, TUESDAY_3PM, TUESDAY_4PM)
    with sent_statements() as seen:
        made = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, "b"))
    assert made.status_code == 201, made.text
    assert len(seen) == 1, seen
    assert "book_units" in seen[0]
    assert await _count(database, "SELECT count(*) FROM idempotency_record") == 2


async def test_the_same_keyed_booking_sent_at_once_books_once(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    body = booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    answers = await asyncio.gather(
        *(
            api.post("/api/bookings", json=body, headers=keyed(alice.headers, "twin"))
            for _ in range(6)
        )
    )
    # Each one booked, replayed the booking, or found the key held: never a second booking.
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    made = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(made) == 1
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["code"] == "idempotency_in_progress"
    assert await _count(database, "SELECT count(*) FROM booking") == 1


async def test_a_retry_refused_by_the_quota_its_first_sending_spent_is_a_replay(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    alice = await make_user(database, "alice@example.org")
    policies = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"weekly_quota_minutes": 60}]},
        headers=manager.headers,
    )
    assert policies.status_code == 200, policies.text
    body = booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    first = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, "q1"))
    assert first.status_code == 201, first.text
    # The answer was lost; the same request again would break the quota the first one used.
    again = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, "q1"))
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    # Another request with that key is still refused as reused, not by the quota.
    other = booking_body(lab.printer, TUESDAY_3PM, TUESDAY_4PM)
    reused = await api.post("/api/bookings", json=other, headers=keyed(alice.headers, "q1"))
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # Without a key, the quota refuses a new booking.
    fresh = await api.post("/api/bookings", json=other, headers=keyed(alice.headers, "q2"))
    assert fresh.status_code == 409 and fresh.json()["code"] == "quota_exceeded", fresh.text


async def test_a_retry_sent_after_the_notice_closed_is_a_replay(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    alice = await make_user(database, "alice@example.org")
    start = paris(2027, 3, 1, 10, 30)  # the clock says 09:00; the notice is an hour
    body = booking_body(lab.printer, start, paris(2027, 3, 1, 11, 30))
    first = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, "late"))
    assert first.status_code == 201, first.text
    clock.advance(minutes=31)
    again = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, "late"))
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_key_used_for_another_request_is_refused(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    key = "order-42"
    first = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=keyed(alice.headers, key),
    )
    assert first.status_code == 201
    other = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_3PM, TUESDAY_4PM),
        headers=keyed(alice.headers, key),
    )
    assert other.status_code == 422
    problem = other.json()
    assert problem["code"] == "idempotency_key_reused"
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert await _count(database, "SELECT count(*) FROM booking") == 1


async def test_keys_belong_to_their_caller(api: Client, lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    key = "same-key"
    mine = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=keyed(alice.headers, key),
    )
    theirs = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=keyed(bob.headers, key),
    )
    assert mine.status_code == 201
    # Bob's request is his own: judged anew (the slot is taken), never Alice's answer replayed.
    assert theirs.status_code == 409
    assert theirs.json()["code"] == "slot_unavailable"
    assert "idempotent-replayed" not in theirs.headers


async def test_a_key_held_by_a_running_request_answers_in_progress(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    key = "in-flight"
    # The first request with this key is still running: it holds the key's lock.
    async with database.engine.connect() as first:
        await first.execute(
            text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"),
            {"k": f"user:{alice.user_id} {key}"},
        )
        response = await api.post(
            "/api/bookings",
            json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
            headers=keyed(alice.headers, key),
        )
        await first.execute(text("SELECT pg_advisory_unlock_all()"))
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert response.headers["retry-after"] == "1"
    assert await _count(database, "SELECT count(*) FROM booking") == 0
    # Once it has ended, the request goes through.
    after = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=keyed(alice.headers, key),
    )
    assert after.status_code == 201


async def test_a_refusal_is_not_kept_so_the_same_request_is_judged_again(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    taken = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=bob.headers,
    )
    assert taken.status_code == 201
    body = booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    refused = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, "k1"))
    assert refused.status_code == 409
    cancelled = await api.post(
        f"/api/bookings/{taken.json()['id']}/cancel", json={}, headers=bob.headers
    )
    assert cancelled.status_code == 200
    again = await api.post("/api/bookings", json=body, headers=keyed(alice.headers, "k1"))
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers


async def test_cancel_and_reschedule_with_a_key_are_carried_out_once(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    booked = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=alice.headers,
    )
    booking_id = booked.json()["id"]
    move = {"starts_at": TUESDAY_3PM.isoformat(), "ends_at": TUESDAY_4PM.isoformat()}
    moves = [
        await api.post(
            f"/api/bookings/{booking_id}/reschedule",
            json=move,
            headers=keyed(alice.headers, "move-1"),
        )
        for _ in range(2)
    ]
    assert [m.status_code for m in moves] == [200, 200], moves[0].text
    assert moves[1].json() == moves[0].json()
    assert moves[0].json()["sequence"] == 1
    cancels = [
        await api.post(
            f"/api/bookings/{booking_id}/cancel",
            json={"reason": "ill"},
            headers=keyed(alice.headers, "cancel-1"),
        )
        for _ in range(2)
    ]
    # Without the key, the second cancel would be refused (already cancelled): the client
    # retrying after a lost answer learns it succeeded instead.
    assert [c.status_code for c in cancels] == [200, 200], cancels[1].text
    assert cancels[1].json() == cancels[0].json()
    assert cancels[0].json()["status"] == "cancelled"


async def test_a_malformed_key_is_refused_naming_the_header(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    response = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=keyed(alice.headers, "x" * 256),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _count(database, "SELECT count(*) FROM booking") == 0


async def test_keys_are_kept_a_day_then_purged(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    first = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_2PM, TUESDAY_3PM),
        headers=keyed(alice.headers, "old"),
    )
    assert first.status_code == 201
    async with database.writer() as session:
        assert await purge(session, utcnow()) == 0  # a fresh record stays
        await session.commit()
    await _age_records(database)
    # Older than a day, the key no longer answers: the request is a new one.
    later = await api.post(
        "/api/bookings",
        json=booking_body(lab.printer, TUESDAY_3PM, TUESDAY_4PM),
        headers=keyed(alice.headers, "old"),
    )
    assert later.status_code == 201, later.text
    await _age_records(database)
    async with database.writer() as session:
        assert await purge(session, utcnow()) == 1
        await session.commit()
    assert await _count(database, "SELECT count(*) FROM idempotency_record") == 0
