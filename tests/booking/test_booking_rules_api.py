"""Server-side rules: training, quotas, approval, policies, agenda."""

from __future__ import annotations

from datetime import date

import httpx

from kernel.db import Database
from tests.support.accounts import make_organisation, make_user
from tests.support.booking import (
    Fablab,
    add_blackout,
    book,
    certify,
    make_fablab,
    make_training,
    paris,
    set_resource,
)

Client = httpx.AsyncClient
TUESDAY_2PM = paris(2027, 3, 2, 14)
TUESDAY_3PM = paris(2027, 3, 2, 15)
TUESDAY_4PM = paris(2027, 3, 2, 16)


async def put_policies(
    api: Client, headers: dict[str, str], place_id: int, *policies: dict[str, object]
) -> httpx.Response:
    """Replace a place's booking policies."""
    return await api.put(
        f"/api/places/{place_id}/booking-policies",
        json={"policies": list(policies)},
        headers=headers,
    )


async def test_training_is_required_and_must_be_valid_on_the_day(
    api: Client, lab: Fablab, database: Database
) -> None:
    training = await make_training(database, lab.place_id)
    await set_resource(database, lab.laser, required_training_id=training)
    novice = await make_user(database, "novice@example.org")
    trained = await make_user(database, "trained@example.org")
    lapsed = await make_user(database, "lapsed@example.org")
    await certify(database, trained.user_id, training, expires_on=date(2027, 3, 2))  # inclusive
    await certify(database, lapsed.user_id, training, expires_on=date(2027, 3, 1))
    refused = await book(api, novice, lab.laser, TUESDAY_2PM, TUESDAY_3PM)
    assert refused.status_code == 403
    assert refused.json()["code"] == "training_required"
    assert refused.json()["training_id"] == training
    expired = await book(api, lapsed, lab.laser, TUESDAY_2PM, TUESDAY_3PM)
    assert (expired.status_code, expired.json()["code"]) == (403, "training_required")
    ok = await book(api, trained, lab.laser, TUESDAY_2PM, TUESDAY_3PM)
    assert ok.status_code == 201, ok.text
    next_day = await book(api, trained, lab.laser, paris(2027, 3, 3, 14), paris(2027, 3, 3, 15))
    assert (next_day.status_code, next_day.json()["code"]) == (403, "training_required")
    # Other resources need nothing.
    assert (await book(api, novice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201


async def test_shape_errors_come_before_rules(api: Client, lab: Fablab, database: Database) -> None:
    training = await make_training(database, lab.place_id)
    await set_resource(database, lab.laser, required_training_id=training)
    novice = await make_user(database, "novice@example.org")
    response = await book(api, novice, [(lab.laser, 2)], TUESDAY_2PM, TUESDAY_3PM)
    assert (response.status_code, response.json()["code"]) == (422, "over_capacity")


async def test_weekly_quota_per_user(api: Client, lab: Fablab, database: Database) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    assert (
        await put_policies(api, manager.headers, lab.place_id, {"weekly_quota_minutes": 120})
    ).status_code == 200
    assert (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201
    over = await book(api, alice, lab.room, paris(2027, 3, 4, 10), paris(2027, 3, 4, 11, 30))
    assert over.status_code == 409
    body = over.json()
    assert body["code"] == "quota_exceeded"
    assert body["remaining_minutes"] == 60
    assert body["quota_minutes"] == 120
    assert body["week_of"] == "2027-03-01"
    # Exactly the remaining hour fits; the quota is per user and per ISO week.
    assert (
        await book(api, alice, lab.room, paris(2027, 3, 4, 10), paris(2027, 3, 4, 11))
    ).status_code == 201
    assert (await book(api, bob, lab.room, TUESDAY_2PM, TUESDAY_4PM)).status_code == 201
    next_week = await book(api, alice, lab.room, paris(2027, 3, 8, 10), paris(2027, 3, 8, 12))
    assert next_week.status_code == 201
    # Cancelled bookings stop counting.
    mine = (await api.get("/api/me/bookings", headers=alice.headers)).json()["items"]
    await api.post(f"/api/bookings/{mine[0]['id']}/cancel", headers=alice.headers)
    again = await book(api, alice, lab.printer, paris(2027, 3, 5, 10), paris(2027, 3, 5, 11))
    assert again.status_code == 201


async def test_quota_of_an_organisation_counts_all_its_members(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    school = await make_organisation(database)
    first = await make_user(database, "t1@example.org", organisation_roles=((school, "booker"),))
    second = await make_user(database, "t2@example.org", organisation_roles=((school, "booker"),))
    response = await put_policies(
        api,
        manager.headers,
        lab.place_id,
        {"resource_id": lab.room, "user_type_code": "school", "weekly_quota_minutes": 180},
    )
    assert response.status_code == 200, response.text
    ok = await book(api, first, lab.room, TUESDAY_2PM, TUESDAY_4PM, organisation_id=school)
    assert ok.status_code == 201
    over = await book(
        api, second, lab.room, paris(2027, 3, 3, 14), paris(2027, 3, 3, 16), organisation_id=school
    )
    assert (over.status_code, over.json()["code"]) == (409, "quota_exceeded")
    assert over.json()["remaining_minutes"] == 60
    assert over.json()["resource_id"] == lab.room
    # The same teacher booking for themself is a citizen: the school's quota does not apply.
    personal = await book(api, second, lab.room, paris(2027, 3, 3, 14), paris(2027, 3, 3, 16))
    assert personal.status_code == 201
    # The quota is scoped to the room: other resources are not counted.
    printer = await book(api, second, lab.printer, TUESDAY_2PM, TUESDAY_4PM, organisation_id=school)
    assert printer.status_code == 201


async def test_approval_flow(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    await set_resource(database, lab.room, requires_approval=True)
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    metz = await make_fablab(
        api, admin_headers, slug="fabrique-metz", town="Metz", postcode="57000"
    )
    elsewhere = await make_user(database, "metz@example.org", manages=(metz.place_id,))
    alice = await make_user(database, "alice@example.org")
    bob = await make_user(database, "bob@example.org")
    pending = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)
    assert pending.status_code == 201
    booking = pending.json()
    assert booking["status"] == "pending_approval"
    # Pending bookings hold their units.
    assert (await book(api, bob, lab.room, TUESDAY_2PM, TUESDAY_3PM)).status_code == 409
    path = f"/api/bookings/{booking['id']}"
    by_booker = await api.post(f"{path}/approve", headers=alice.headers)
    assert (by_booker.status_code, by_booker.json()["code"]) == (403, "not_a_manager")
    by_other_manager = await api.post(f"{path}/approve", headers=elsewhere.headers)
    assert by_other_manager.status_code == 404
    approved = await api.post(f"{path}/approve", json={"reason": "ok"}, headers=manager.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "confirmed"
    assert approved.json()["sequence"] == 1
    twice = await api.post(f"{path}/approve", headers=manager.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "booking_not_pending")
    # Refusal frees the units.
    second = (await book(api, bob, lab.room, TUESDAY_3PM, TUESDAY_4PM)).json()
    refused = await api.post(
        f"/api/bookings/{second['id']}/refuse",
        json={"reason": "closed for a class"},
        headers=manager.headers,
    )
    assert refused.status_code == 200
    assert refused.json()["status"] == "refused"
    assert refused.json()["status_reason"] == "closed for a class"
    again = await book(api, alice, lab.room, TUESDAY_3PM, TUESDAY_4PM)
    assert again.status_code == 201
    # Managers' own bookings at their place need no approval.
    own = await book(api, manager, lab.room, paris(2027, 3, 3, 10), paris(2027, 3, 3, 11))
    assert own.json()["status"] == "confirmed"


async def test_approval_by_user_type_through_a_policy(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    company = await make_organisation(database, "ACME", user_type="company")
    employee = await make_user(
        database, "e@acme.example", organisation_roles=((company, "booker"),)
    )
    await put_policies(
        api, manager.headers, lab.place_id, {"user_type_code": "company", "requires_approval": True}
    )
    as_company = await book(
        api, employee, lab.printer, TUESDAY_2PM, TUESDAY_3PM, organisation_id=company
    )
    assert as_company.json()["status"] == "pending_approval"
    as_citizen = await book(api, employee, lab.room, TUESDAY_2PM, TUESDAY_3PM)
    assert as_citizen.json()["status"] == "confirmed"


async def test_max_advance_depends_on_user_type(
    api: Client, lab: Fablab, database: Database
) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    school = await make_organisation(database)
    teacher = await make_user(database, "t@example.org", organisation_roles=((school, "booker"),))
    response = await put_policies(
        api,
        manager.headers,
        lab.place_id,
        {"user_type_code": "school", "max_advance_days": 120},
        {"user_type_code": "citizen", "max_advance_days": 14},
    )
    assert response.status_code == 200
    far = (paris(2027, 6, 1, 14), paris(2027, 6, 1, 15))  # 92 days ahead
    as_school = await book(api, teacher, lab.room, *far, organisation_id=school)
    assert as_school.status_code == 201, as_school.text
    as_citizen = await book(api, teacher, lab.printer, *far)
    assert (as_citizen.status_code, as_citizen.json()["code"]) == (409, "too_far_ahead")
    soon = await book(api, teacher, lab.printer, paris(2027, 3, 12, 14), paris(2027, 3, 12, 15))
    assert soon.status_code == 201
    late = await book(api, teacher, lab.printer, paris(2027, 3, 16, 14), paris(2027, 3, 16, 15))
    assert late.json()["code"] == "too_far_ahead"


async def test_minimum_notice_from_a_policy(api: Client, lab: Fablab, database: Database) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    alice = await make_user(database, "alice@example.org")
    await put_policies(
        api, manager.headers, lab.place_id, {"resource_id": lab.room, "min_notice_minutes": 2880}
    )
    soon = await book(api, alice, lab.room, TUESDAY_2PM, TUESDAY_3PM)
    assert (soon.status_code, soon.json()["code"]) == (409, "insufficient_notice")
    assert (await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)).status_code == 201


async def test_blackouts_refuse_bookings(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    alice = await make_user(database, "alice@example.org")
    response = await add_blackout(
        api, admin_headers, lab.printer, TUESDAY_2PM, TUESDAY_4PM, "maintenance"
    )
    assert response.status_code == 201
    refused = await book(api, alice, lab.printer, TUESDAY_3PM, TUESDAY_4PM)
    assert (refused.status_code, refused.json()["code"]) == (409, "blackout")


async def test_policies_are_for_the_managers_of_the_place(
    api: Client, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    metz = await make_fablab(
        api, admin_headers, slug="fabrique-metz", town="Metz", postcode="57000"
    )
    elsewhere = await make_user(database, "metz@example.org", manages=(metz.place_id,))
    alice = await make_user(database, "alice@example.org")
    path = f"/api/places/{lab.place_id}/booking-policies"
    assert (await api.get(path)).status_code == 401
    assert (await api.get(path, headers=alice.headers)).status_code == 403
    denied = await api.get(path, headers=elsewhere.headers)
    assert (denied.status_code, denied.json()["code"]) == (403, "not_a_manager")
    assert (await api.get(path, headers=manager.headers)).json() == []
    wrong_resource = await put_policies(
        api, manager.headers, lab.place_id, {"resource_id": metz.printer, "max_advance_days": 3}
    )
    assert wrong_resource.status_code == 422
    assert wrong_resource.json()["errors"][0]["field"] == "policies[0].resource_id"
    unknown_type = await put_policies(
        api, manager.headers, lab.place_id, {"user_type_code": "alien"}
    )
    assert (unknown_type.status_code, unknown_type.json()["code"]) == (422, "unknown_user_type")
    duplicate = await put_policies(
        api, manager.headers, lab.place_id, {"max_advance_days": 3}, {"min_notice_minutes": 0}
    )
    assert (duplicate.status_code, duplicate.json()["code"]) == (422, "duplicate_policy")
    stored = await put_policies(
        api,
        manager.headers,
        lab.place_id,
        {"max_advance_days": 30},
        {"resource_id": lab.laser, "user_type_code": "student", "weekly_quota_minutes": 240},
    )
    assert stored.status_code == 200, stored.text
    assert [p["max_advance_days"] for p in stored.json()] == [30, None]
    assert (await api.get(path, headers=manager.headers)).json() == stored.json()
    cleared = await put_policies(api, manager.headers, lab.place_id)
    assert cleared.json() == []
    # Admins manage every place.
    assert (await api.get(path, headers=admin_headers)).status_code == 200
    unknown_place = await api.get("/api/places/999999/booking-policies", headers=admin_headers)
    assert unknown_place.status_code == 404


async def test_manager_agenda(api: Client, lab: Fablab, database: Database) -> None:
    manager = await make_user(database, "manager@example.org", manages=(lab.place_id,))
    school = await make_organisation(database)
    teacher = await make_user(
        database, "teacher@example.org", organisation_roles=((school, "booker"),)
    )
    alice = await make_user(database, "alice@example.org")
    await book(api, alice, lab.printer, TUESDAY_2PM, TUESDAY_3PM)
    await book(
        api,
        teacher,
        [(lab.room, 1), (lab.seats, 12)],
        paris(2027, 3, 3, 9),
        paris(2027, 3, 3, 12),
        organisation_id=school,
    )
    cancelled = (await book(api, alice, lab.laser, TUESDAY_2PM, TUESDAY_3PM)).json()
    await api.post(f"/api/bookings/{cancelled['id']}/cancel", headers=alice.headers)
    response = await api.get(
        f"/api/places/{lab.place_id}/agenda",
        params={"from": "2027-03-01", "to": "2027-03-08"},
        headers=manager.headers,
    )
    assert response.status_code == 200, response.text
    agenda = response.json()
    assert agenda["timezone"] == "Europe/Paris"
    assert [d["date"] for d in agenda["days"]][:3] == ["2027-03-01", "2027-03-02", "2027-03-03"]
    by_day = {d["date"]: d["entries"] for d in agenda["days"]}
    assert [e["booker"]["email"] for e in by_day["2027-03-02"]] == ["alice@example.org"]
    wednesday = by_day["2027-03-03"][0]
    assert wednesday["organisation"]["id"] == school
    assert wednesday["booker"]["display_name"] == "teacher"
    assert wednesday["booking"]["local_starts_at"] == "2027-03-03T09:00:00+01:00"
    everything = await api.get(
        f"/api/places/{lab.place_id}/agenda",
        params={"from": "2027-03-01", "to": "2027-03-08", "include_cancelled": "true"},
        headers=manager.headers,
    )
    assert len({d["date"]: d for d in everything.json()["days"]}["2027-03-02"]["entries"]) == 2
    assert (
        await api.get(f"/api/places/{lab.place_id}/agenda", headers=alice.headers)
    ).status_code == 403
    too_long = await api.get(
        f"/api/places/{lab.place_id}/agenda",
        params={"from": "2027-03-01", "to": "2027-06-01"},
        headers=manager.headers,
    )
    assert too_long.status_code == 422
