"""Bookings through the API: book, read, cancel, reschedule, holds, lists."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import text

from booking.admission import Booker
from kernel.auth.actor import Actor
from kernel.db import Database
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.apps import runtime_on
from tests.support.booking import (
    FIXED_NOW,
    Fablab,
    MutableClock,
    book,
    make_fablab,
    paris,
    utc_text,
)

Client = httpx.AsyncClient


TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
TUESDAY_4PM = paris(2027, 3, 2, 16)


async def test_book_a_printer_and_read_it(api: Client, lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    response = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM, notes="prototype")
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"MLB-[2-9A-HJ-NP-Z]{6}", body["reference"])
    assert body["status"] == "confirmed"
    assert body["starts_at"] == "2027-03-02T13:00:00Z"
    assert body["local_starts_at"] == "2027-03-02T14:00:00+01:00"
    assert body["local_ends_at"] == "2027-03-02T15:00:00+01:00"
    assert body["timezone"] == "Europe/Paris"
    assert body["user_type_code"] == "citizen"
    assert body["sequence"] == 0
    assert body["hold_expires_at"] is None
    assert body["items"] == [
        {
            "resource_id": lab.printer,
            "resource_name": "Imprimante 3D",
            "quantity": 1,
            "units": ["Imprimante 3D"],
        }
    ]
    again = await api.get(f"/api/bookings/{body['id']}", headers=alice.headers)
    assert again.status_code == 200
    assert again.json() == body


async def test_bookings_are_private(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    other = await make_place_manager_elsewhere(api, database, admin_headers)
    booking = (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).json()
    path = f"/api/bookings/{booking['id']}"
    assert (await api.get(path)).status_code == 401
    for outsider in (bob, other):
        response = await api.get(path, headers=outsider.headers)
        assert response.status_code == 404
        assert response.json()["code"] == "booking_not_found"
    assert (await api.get(path, headers=manager.headers)).status_code == 200
    assert (await api.get("/api/bookings/999999", headers=alice.headers)).status_code == 404
    cancel = await api.post(f"{path}/cancel", headers=bob.headers)
    assert cancel.status_code == 404


async def make_place_manager_elsewhere(
    api: Client, database: Database, headers: dict[str, str]
) -> Person:
    """A manager of another place."""
    other = await make_fablab(api, headers, slug="fabrique-metz", town="Metz", postcode="57000")
    return await make_user(database, "other-manager@example.org", manages=(other.place_id,))


async def test_no_double_booking_and_adjacent_slots(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    assert (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    clash = await book(api, bob, lab.printer, paris(2027, 3, 2, 14, 30), paris(2027, 3, 2, 15, 30))
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert clash.json()["code"] == "slot_unavailable"
    assert clash.json()["free_units"] == 0
    # [start, end) ranges: the next hour is free.
    assert (await book(api, bob, lab.printer, TUESDAY_3PM, TUESDAY_4PM)).status_code == 201


async def test_cool_down_blocks_the_next_booking(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    assert (await book(api, alice, lab.laser, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    # The laser cools down 15 minutes after each booking.
    during_cool_down = await book(api, alice, lab.laser, TUESDAY_3PM, TUESDAY_4PM)
    assert during_cool_down.status_code == 409
    assert during_cool_down.json()["code"] == "slot_unavailable"
    after = await book(api, alice, lab.laser, paris(2027, 3, 2, 15, 30), paris(2027, 3, 2, 16, 30))
    assert after.status_code == 201


async def test_a_pool_of_seats_is_booked_unit_by_unit(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    first = await book(api, alice, [(lab.seats, 10)], TUESDAY_2PM, TUESDAY_4PM)
    assert first.status_code == 201
    assert first.json()["items"][0]["units"] == [f"Poste CAO #{n}" for n in range(1, 11)]
    too_many = await book(api, alice, [(lab.seats, 3)], TUESDAY_3PM, TUESDAY_4PM)
    assert too_many.status_code == 409
    assert too_many.json()["free_units"] == 2
    rest = await book(api, alice, [(lab.seats, 2)], TUESDAY_3PM, TUESDAY_4PM)
    assert rest.status_code == 201
    assert rest.json()["items"][0]["units"] == ["Poste CAO #11", "Poste CAO #12"]


async def test_a_class_books_a_room_and_seats_atomically(
    api: Client, lab: Fablab, database: Database
) -> None:
    teacher = await make_user(database, "teacher@example.org")
    other = await make_user(database, "other@example.org")
    session = await book(api, teacher, [(lab.room, 1), (lab.seats, 12)], TUESDAY_2PM, TUESDAY_4PM)
    assert session.status_code == 201
    assert [i["quantity"] for i in session.json()["items"]] == [12, 1]
    # One free seat elsewhere does not help: the room is taken, nothing is written.
    await api.post(f"/api/bookings/{session.json()['id']}/cancel", headers=teacher.headers)
    blocker = await book(api, other, lab.room, TUESDAY_3PM, TUESDAY_4PM)
    assert blocker.status_code == 201
    refused = await book(api, teacher, [(lab.room, 1), (lab.seats, 12)], TUESDAY_2PM, TUESDAY_4PM)
    assert refused.status_code == 409
    assert refused.json()["resource_id"] == lab.room
    mine = (await api.get("/api/me/bookings?status=confirmed", headers=teacher.headers)).json()
    assert mine["total"] == 0
    seats = await book(api, other, [(lab.seats, 12)], TUESDAY_2PM, TUESDAY_4PM)
    assert seats.status_code == 201  # the refused booking held no seat


@pytest.mark.parametrize(
    ("payload_changes", "status", "code", "field"),
    [
        ({"ends_at": paris(2027, 3, 2, 13)}, 422, "end_before_start", "ends_at"),
        ({"quantity": 0}, 422, "invalid_quantity", "items[0].quantity"),
        ({"quantity": -2}, 422, "invalid_quantity", "items[0].quantity"),
        ({"quantity": 2}, 422, "over_capacity", "items[0].quantity"),
        ({"starts_at": paris(2027, 3, 2, 14, 10)}, 422, "not_aligned", "starts_at"),
        (
            {"starts_at": paris(2027, 2, 26, 14), "ends_at": paris(2027, 2, 26, 15)},
            422,
            "in_the_past",
            "starts_at",
        ),
        (
            {"starts_at": paris(2027, 3, 2, 20), "ends_at": paris(2027, 3, 2, 21)},
            409,
            "outside_opening_hours",
            None,
        ),
        (
            {"starts_at": paris(2027, 3, 1, 9, 30), "ends_at": paris(2027, 3, 1, 10)},
            409,
            "insufficient_notice",
            None,
        ),
        (
            {"starts_at": paris(2027, 6, 14, 14), "ends_at": paris(2027, 6, 14, 15)},
            409,
            "too_far_ahead",
            None,
        ),
        (
            {"starts_at": paris(2027, 3, 2, 19), "ends_at": paris(2027, 3, 2, 21)},
            409,
            "outside_opening_hours",
            None,
        ),
        ({"ends_at": paris(2027, 4, 5, 14)}, 422, "too_long", "ends_at"),
    ],
)
async def test_bad_requests_get_a_code(
    api: Client,
    lab: Fablab,
    database: Database,
    payload_changes: dict[str, object],
    status: int,
    code: str,
    field: str | None,
) -> None:
    alice = await make_user(database, "alice@example.org")
    changes = dict(payload_changes)  # the parametrised dict is shared: copy it
    quantity = changes.pop("quantity", 1)
    start = changes.get("starts_at", TUESDAY_2PM)
    end = changes.get("ends_at", TUESDAY_3PM)
    response = await book(api, alice, [(lab.printer, quantity)], start, end)  # type: ignore[arg-type, list-item]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    if field is not None:
        assert body["errors"][0]["field"] == field
    assert "Traceback" not in response.text
    mine = (await api.get("/api/me/bookings", headers=alice.headers)).json()
    assert mine["total"] == 0  # nothing half-written


async def test_length_and_grid_rules_of_a_resource(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    short = await book(api, alice, lab.laser, TUESDAY_2PM, paris(2027, 3, 2, 14, 30))
    assert (short.status_code, short.json()["code"]) == (422, "too_short")
    long = await book(api, alice, lab.laser, TUESDAY_2PM, paris(2027, 3, 2, 18))
    assert (long.status_code, long.json()["code"]) == (422, "too_long")


async def test_unknown_or_inactive_resources_are_404(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    alice = await make_user(database, "alice@example.org")
    unknown = await book(api, alice, 999999, TUESDAY_2PM, TUESDAY_3PM)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "resource_not_found")
    await api.patch(f"/api/resources/{lab.room}", json={"active": False}, headers=admin_headers)
    inactive = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)
    assert (inactive.status_code, inactive.json()["code"]) == (404, "resource_not_found")


async def test_malformed_bodies_are_validation_errors(
    api: Client, lab: Fablab, database: Database
) -> None:
    alice = await make_user(database, "alice@example.org")
    naive = await api.post(
        "/api/bookings",
        json={
            "items": [{"resource_id": lab.printer}],
            "starts_at": "2027-03-02T14:00:00",
            "ends_at": "2027-03-02T15:00:00",
        },
        headers=alice.headers,
    )
    assert naive.status_code == 422
    assert {e["field"] for e in naive.json()["errors"]} == {"starts_at", "ends_at"}
    empty = await api.post(
        "/api/bookings",
        json={
            "items": [],
            "starts_at": TUESDAY_2PM.isoformat(),
            "ends_at": TUESDAY_3PM.isoformat(),
        },
        headers=alice.headers,
    )
    assert empty.status_code == 422
    twice = await book(api, alice, [(lab.printer, 1), (lab.printer, 1)], TUESDAY_2PM, TUESDAY_3PM)
    assert (twice.status_code, twice.json()["code"]) == (422, "duplicate_resource")


async def test_one_booking_belongs_to_one_place(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    alice = await make_user(database, "alice@example.org")
    metz = await make_fablab(
        api, admin_headers, slug="fabrique-metz", town="Metz", postcode="57000"
    )
    mixed = await book(api, alice, [(lab.printer, 1), (metz.printer, 1)], TUESDAY_2PM, TUESDAY_3PM)
    assert (mixed.status_code, mixed.json()["code"]) == (422, "mixed_places")


async def test_read_only_tokens_cannot_book(api: Client, lab: Fablab, database: Database) -> None:
    reader = await make_user(database, "reader@example.org", scope="read")
    response = await book(api, reader, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")


async def test_cancel_frees_the_slot(api: Client, lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    booking = (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).json()
    cancelled = await api.post(
        f"/api/bookings/{booking['id']}/cancel", json={"reason": "ill"}, headers=alice.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["sequence"] == 1
    assert body["status_reason"] == "ill"
    assert body["cancelled_at"] == utc_text(FIXED_NOW)
    assert (await book(api, bob, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    again = await api.post(f"/api/bookings/{booking['id']}/cancel", headers=alice.headers)
    assert (again.status_code, again.json()["code"]) == (409, "booking_not_active")


async def test_cancellation_deadline_binds_users_not_managers(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    alice = await make_user(database, "alice@example.org")
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    first = (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).json()
    second = (await book(api, alice, lab.printer, TUESDAY_3PM, TUESDAY_4PM)).json()
    clock.advance(hours=6)  # Monday 15:00: less than 24 hours before Tuesday 14:00
    late = await api.post(f"/api/bookings/{first['id']}/cancel", headers=alice.headers)
    assert late.status_code == 409
    assert late.json()["code"] == "cancellation_deadline_passed"
    assert late.json()["deadline_hours"] == 24
    moved = await api.post(
        f"/api/bookings/{first['id']}/reschedule",
        json={
            "starts_at": paris(2027, 3, 5, 14).isoformat(),
            "ends_at": paris(2027, 3, 5, 15).isoformat(),
        },
        headers=alice.headers,
    )
    assert moved.json()["code"] == "cancellation_deadline_passed"
    by_manager = await api.post(f"/api/bookings/{first['id']}/cancel", headers=manager.headers)
    assert by_manager.status_code == 200
    assert by_manager.json()["status"] == "cancelled"
    # A place may shorten the deadline.
    policies = await api.put(
        f"/api/places/{lab.place_id}/booking-policies",
        json={"policies": [{"cancel_deadline_hours": 2}]},
        headers=manager.headers,
    )
    assert policies.status_code == 200, policies.text
    ok = await api.post(f"/api/bookings/{second['id']}/cancel", headers=alice.headers)
    assert ok.status_code == 200


async def test_reschedule_is_atomic(api: Client, lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    mine = (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).json()
    theirs = await book(api, bob, lab.printer, paris(2027, 3, 3, 10), paris(2027, 3, 3, 11))
    assert theirs.status_code == 201
    path = f"/api/bookings/{mine['id']}/reschedule"
    refused = await api.post(
        path,
        json={
            "starts_at": paris(2027, 3, 3, 10, 30).isoformat(),
            "ends_at": paris(2027, 3, 3, 11, 30).isoformat(),
        },
        headers=alice.headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "slot_unavailable")
    kept = (await api.get(f"/api/bookings/{mine['id']}", headers=alice.headers)).json()
    assert kept["starts_at"] == mine["starts_at"]
    assert kept["sequence"] == 0
    assert (await book(api, bob, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 409
    # Moving by half an hour overlaps the booking's own old range: allowed.
    shifted = await api.post(
        path,
        json={
            "starts_at": paris(2027, 3, 2, 14, 30).isoformat(),
            "ends_at": paris(2027, 3, 2, 15, 30).isoformat(),
        },
        headers=alice.headers,
    )
    assert shifted.status_code == 200, shifted.text
    assert shifted.json()["local_starts_at"] == "2027-03-02T14:30:00+01:00"
    assert shifted.json()["sequence"] == 1
    assert shifted.json()["reference"] == mine["reference"]
    assert (
        await book(api, bob, lab.printer, TUESDAY_2PM, paris(2027, 3, 2, 14, 30))
    ).status_code == 201
    bad = await api.post(
        path,
        json={"starts_at": TUESDAY_3PM.isoformat(), "ends_at": TUESDAY_2PM.isoformat()},
        headers=alice.headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "end_before_start")


async def test_holds_expire_and_stop_blocking(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    held = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM, hold_minutes=15)
    assert held.status_code == 201
    assert held.json()["status"] == "held"
    assert held.json()["hold_expires_at"] == "2027-03-01T08:15:00Z"
    assert (await book(api, bob, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 409
    clock.advance(minutes=16)
    seen = (await api.get(f"/api/bookings/{held.json()['id']}", headers=alice.headers)).json()
    assert seen["status"] == "expired"
    taken = await book(api, bob, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert taken.status_code == 201, taken.text
    cancel = await api.post(f"/api/bookings/{held.json()['id']}/cancel", headers=alice.headers)
    assert (cancel.status_code, cancel.json()["code"]) == (409, "booking_not_active")


async def test_confirming_a_hold_and_sweeping_expired_ones(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    alice = await make_user(database, "alice@example.org")
    paid = (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM, hold_minutes=10)).json()
    unpaid = (await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM, hold_minutes=10)).json()

    async with (
        runtime_on(database, clock) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        confirmed = await runtime.booking.bookings(session).confirm_hold(paid["id"])
        assert confirmed.status == "confirmed"
        assert confirmed.hold_expires_at is None
    clock.advance(minutes=11)
    async with (
        runtime_on(database, clock) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        service = runtime.booking.bookings(session)
        assert await service.release_expired_holds() == 1
        assert await service.release_expired_holds() == 0
    room = (await api.get(f"/api/bookings/{unpaid['id']}", headers=alice.headers)).json()
    assert room["status"] == "expired"
    assert room["sequence"] == 1
    printer = (await api.get(f"/api/bookings/{paid['id']}", headers=alice.headers)).json()
    assert printer["status"] == "confirmed"  # confirmed holds never expire
    bob = await make_user(database, "bob@example.org")
    assert (await book(api, bob, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 409
    assert (await book(api, bob, lab.room, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201


async def test_my_bookings_and_filters(api: Client, lab: Fablab, database: Database) -> None:
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    first = (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).json()
    await book(api, alice, lab.room, paris(2027, 3, 3, 10), paris(2027, 3, 3, 11))
    await book(api, bob, lab.laser, TUESDAY_2PM, TUESDAY_3PM)
    await api.post(f"/api/bookings/{first['id']}/cancel", headers=alice.headers)
    everything = (await api.get("/api/me/bookings", headers=alice.headers)).json()
    assert everything["total"] == 2
    assert [b["items"][0]["resource_id"] for b in everything["items"]] == [lab.printer, lab.room]
    live = (await api.get("/api/me/bookings?status=confirmed", headers=alice.headers)).json()
    assert [b["items"][0]["resource_id"] for b in live["items"]] == [lab.room]
    window = await api.get(
        "/api/me/bookings",
        params={"from": "2027-03-03T00:00:00Z", "to": "2027-03-04T00:00:00Z"},
        headers=alice.headers,
    )
    assert window.json()["total"] == 1
    naive = await api.get(
        "/api/me/bookings", params={"from": "2027-03-03T00:00:00"}, headers=alice.headers
    )
    assert naive.status_code == 422
    assert (await api.get("/api/me/bookings")).status_code == 401


async def test_booking_on_behalf_of_an_organisation(
    api: Client, lab: Fablab, database: Database
) -> None:
    school = await make_organisation(database)
    teacher = await make_user(
        database, "teacher@example.org", organisation_roles=((school, "booker"),)
    )
    colleague = await make_user(
        database, "colleague@example.org", organisation_roles=((school, "booker"),)
    )
    head = await make_user(database, "head@example.org", organisation_roles=((school, "admin"),))
    stranger = await make_user(database, "stranger@example.org")
    refused = await book(api, stranger, lab.room, TUESDAY_2PM, TUESDAY_3PM, organisation_id=school)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_a_member")
    unknown = await book(api, teacher, lab.room, TUESDAY_2PM, TUESDAY_3PM, organisation_id=424242)
    assert unknown.status_code == 403
    booked = await book(api, teacher, lab.room, TUESDAY_2PM, TUESDAY_3PM, organisation_id=school)
    assert booked.status_code == 201
    booking = booked.json()
    assert booking["organisation_id"] == school
    assert booking["user_type_code"] == "school"  # the organisation's rate applies
    listing = await api.get(f"/api/organisations/{school}/bookings", headers=colleague.headers)
    assert listing.status_code == 200
    assert [b["id"] for b in listing.json()["items"]] == [booking["id"]]
    hidden = await api.get(f"/api/organisations/{school}/bookings", headers=stranger.headers)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "organisation_not_found")
    path = f"/api/bookings/{booking['id']}"
    assert (await api.get(path, headers=colleague.headers)).status_code == 200
    assert (await api.get(path, headers=stranger.headers)).status_code == 404
    not_theirs = await api.post(f"{path}/cancel", headers=colleague.headers)
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (403, "not_your_booking")
    by_admin = await api.post(f"{path}/cancel", headers=head.headers)
    assert by_admin.status_code == 200


async def test_dst_days_keep_local_wall_times(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    alice = await make_user(database, "alice@example.org")
    clock.now = paris(2027, 3, 20, 9)
    spring = await book(api, alice, lab.printer, paris(2027, 3, 28, 10), paris(2027, 3, 28, 12))
    assert spring.status_code == 201, spring.text
    assert spring.json()["starts_at"] == "2027-03-28T08:00:00Z"  # CEST, UTC+2
    assert spring.json()["local_starts_at"] == "2027-03-28T10:00:00+02:00"
    clock.now = paris(2027, 10, 20, 9)
    autumn = await book(api, alice, lab.printer, paris(2027, 10, 31, 10), paris(2027, 10, 31, 12))
    assert autumn.status_code == 201, autumn.text
    assert autumn.json()["starts_at"] == "2027-10-31T09:00:00Z"  # CET again, UTC+1
    assert autumn.json()["local_ends_at"] == "2027-10-31T12:00:00+01:00"


async def test_a_unit_added_after_the_catalogue_was_read_is_locked_and_used(
    api: Client, lab: Fablab, database: Database, clock: MutableClock
) -> None:
    """The catalogue copy is read before the units are locked; a unit that appears in between
    (another transaction commits it) is still locked, allocated and labelled right."""
    alice = await make_user(database, "alice@example.org")
    taken = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert taken.status_code == 201, taken.text  # the printer's only unit is busy then
    actor = Actor(user_id=alice.user_id, via="api_token")
    async with (
        runtime_on(database, clock) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        parts = runtime.booking.parts(session)
        ctx = await parts.admission.context(
            actor, [lab.printer], "citizen", TUESDAY_2PM, TUESDAY_3PM
        )
        async with database.engine.begin() as other:
            await other.execute(
                text(
                    "INSERT INTO resource_unit (resource_id, position, label, active) "
                    "VALUES (:resource, 2, 'n°2', true)"
                ),
                {"resource": lab.printer},
            )
        booker = Booker(alice.user_id, None, "citizen")
        items = [(lab.printer, 1)]
        draft = await parts.admission.admit(ctx, booker, items, TUESDAY_2PM, TUESDAY_3PM, clock())
        new = await parts.allocator.book(ctx, draft, items, clock())
        read = parts.reader.new_read(ctx, new)
    assert [item.units for item in read.items] == [["n°2"]]
    again = await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    assert again.status_code == 409  # both units are taken now
