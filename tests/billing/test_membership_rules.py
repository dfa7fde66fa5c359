"""What memberships change: members-only resources, a longer horizon, the benefits read for
the quote (included minutes used per period), renewals and lapses, DST-correct periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from billing.benefits import HeldPlan, benefits_for, combine, usage
from billing.plan_cards import MembershipCards
from kernel.db import Database
from kernel.settings import Settings
from tests.billing.memberships_support import define_plan, member, renew, subscribe
from tests.billing.support import PricedLab, checkout
from tests.support.accounts import make_organisation, make_user
from tests.support.apps import runtime_on
from tests.support.booking import MutableClock, booking_body, paris
from tests.support.jobs import empty_queue
from tests.support.mailbox import messages_to, text_of
from tests.support.waitlist import dispatched

Client = httpx.AsyncClient


async def test_members_only_resources_are_booked_by_members_only(
    api: Client, lab: PricedLab, database: Database
) -> None:
    reserved = await api.patch(
        f"/api/resources/{lab.lab.laser}", json={"members_only": True}, headers=lab.manager.headers
    )
    assert reserved.status_code == 200 and reserved.json()["members_only"] is True
    plain = await define_plan(api, lab.manager, lab.place_id, name="Soutien")
    access = await define_plan(api, lab.manager, lab.place_id, members_access=True)
    citizen = await make_user(database, "ana@example.fr")
    start, end = paris(2027, 3, 8, 10), paris(2027, 3, 8, 12)
    body = booking_body(lab.lab.laser, start, end)
    refused = await api.post("/api/bookings", json=body, headers=citizen.headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "members_only"
    assert refused.json()["resource_id"] == lab.lab.laser
    # A plan without members' access is not enough.
    await member(api, citizen, plain["id"], lab.manager)
    again = await api.post("/api/bookings", json=body, headers=citizen.headers)
    assert again.status_code == 403 and again.json()["code"] == "members_only"
    await member(api, citizen, access["id"], lab.manager)
    booked = await checkout(api, citizen, lab.lab.laser, start, end, method="on_site")
    assert booked.status_code == 201, booked.text
    # After the period (1 April onwards), no more.
    later = booking_body(lab.lab.laser, paris(2027, 4, 5, 10), paris(2027, 4, 5, 12))
    lapsed = await api.post("/api/bookings", json=later, headers=citizen.headers)
    assert lapsed.status_code == 403 and lapsed.json()["code"] == "members_only"
    # The place's managers book it (their booking is recorded as due).
    desk = await api.post("/api/bookings", json=later, headers=lab.manager.headers)
    assert desk.status_code == 201, desk.text


async def test_a_members_plan_lengthens_the_booking_horizon(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, extra_horizon_days=30)
    citizen = await make_user(database, "ana@example.fr")
    # 100 days ahead: beyond the printer's 90.
    start, end = paris(2027, 6, 9, 10), paris(2027, 6, 9, 11)
    far = booking_body(lab.lab.printer, start, end)
    refused = await api.post("/api/bookings", json=far, headers=citizen.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "too_far_ahead"
    await member(api, citizen, plan["id"], lab.manager)
    booked = await checkout(api, citizen, lab.lab.printer, start, end, method="on_site")
    assert booked.status_code == 201, booked.text
    # 130 days ahead is beyond 90 + 30.
    farther = booking_body(lab.lab.printer, paris(2027, 7, 9, 10), paris(2027, 7, 9, 11))
    still = await api.post("/api/bookings", json=farther, headers=citizen.headers)
    assert still.status_code == 409 and still.json()["code"] == "too_far_ahead"


async def test_benefits_count_included_minutes_used_in_the_period(
    api: Client, lab: PricedLab, database: Database
) -> None:
    plan = await define_plan(
        api,
        lab.manager,
        lab.place_id,
        discount_percent=15,
        allowances=[
            {"resource_id": lab.lab.printer, "minutes": 120},
            {"resource_kind": "machine", "minutes": 240},
        ],
    )
    citizen = await make_user(database, "ana@example.fr")
    at = paris(2027, 3, 20, 12)
    async with database.reader() as session:
        before = await benefits_for(
            session, user_id=citizen.user_id, organisation_id=None, place_id=lab.place_id, at=at
        )
    assert before.plan_ids == () and before.included_minutes_left(lab.lab.printer, "machine") == 0
    await member(api, citizen, plan["id"], lab.manager)
    bookings = [
        (lab.lab.printer, paris(2027, 3, 8, 10), paris(2027, 3, 8, 12)),
        (lab.lab.laser, paris(2027, 3, 9, 10), paris(2027, 3, 9, 11)),
        (lab.lab.room, paris(2027, 3, 9, 14), paris(2027, 3, 9, 17)),  # not a machine
        (lab.lab.printer, paris(2027, 4, 2, 10), paris(2027, 4, 2, 12)),  # next month
    ]
    ids = []
    for rid, start, end in bookings:
        made = await checkout(api, citizen, rid, start, end, method="on_site")
        assert made.status_code == 201, made.text
        ids.append(made.json()["booking"]["id"])
    # The organisation's bookings are not the person's.
    school = await make_organisation(database)
    teacher = await make_user(database, "prof@ecole.fr", organisation_roles=((school, "admin"),))
    assert teacher.user_id != citizen.user_id
    async with database.reader() as session:
        benefits = await benefits_for(
            session, user_id=citizen.user_id, organisation_id=None, place_id=lab.place_id, at=at
        )
    assert benefits.plan_ids == (plan["id"],) and benefits.discount_percent == 15
    printer, machines = benefits.allowances
    assert (printer.used_minutes, printer.remaining_minutes) == (120, 0)
    assert (machines.used_minutes, machines.remaining_minutes) == (180, 60)
    assert printer.period_ends_at == datetime(2027, 3, 31, 22, tzinfo=UTC)
    assert benefits.included_minutes_left(lab.lab.printer, "machine") == 60
    assert benefits.included_minutes_left(lab.lab.room, "space") == 0
    # A cancelled booking gives its minutes back.
    cancelled = await api.post(f"/api/bookings/{ids[1]}/cancel", headers=citizen.headers)
    assert cancelled.status_code == 200, cancelled.text
    async with database.reader() as session:
        after = await benefits_for(
            session, user_id=citizen.user_id, organisation_id=None, place_id=lab.place_id, at=at
        )
    assert after.allowances[1].used_minutes == 120
    # Outside the period: nothing held.
    async with database.reader() as session:
        april = await benefits_for(
            session,
            user_id=citizen.user_id,
            organisation_id=None,
            place_id=lab.place_id,
            at=paris(2027, 4, 2, 9),
        )
    assert april.plan_ids == () and april.allowances == ()


def test_usage_counts_a_booking_once_per_allowance() -> None:
    kinds = {1: "machine", 2: "machine", 3: "space"}
    items = [(10, 1, 60), (10, 2, 60), (11, 3, 120), (12, 2, 30)]
    assert usage(items, kinds, None, "machine") == 90
    assert usage(items, kinds, 2, None) == 90
    assert usage(items, kinds, None, "space") == 120
    start = datetime(2027, 3, 1, tzinfo=UTC)
    span = (start, start + timedelta(days=31))
    held = [
        HeldPlan(1, 10, False, 0, *span, ((None, "machine", 60),)),
        HeldPlan(2, 25, True, 15, *span, ((1, None, 30),)),
    ]
    benefits = combine(held, {span: items}, kinds)
    assert (benefits.discount_percent, benefits.members_access) == (25, True)
    assert benefits.extra_horizon_days == 15
    assert [a.remaining_minutes for a in benefits.allowances] == [0, 0]
    assert combine([], {}, kinds).plan_ids == ()


async def test_renewal_then_lapse_of_an_unpaid_period(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_settings: Settings,
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    citizen = await make_user(database, "ana@example.fr")
    made = await subscribe(api, citizen, plan["id"], auto_renew=True)
    assert made.status_code == 201 and made.json()["auto_renew"] is True
    membership_id = made.json()["id"]
    await api.post(
        f"/api/memberships/{membership_id}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    clock.now = paris(2027, 3, 20, 9)  # more than a week before the end: nothing yet
    await renew(stripe_settings, database, clock)
    read = (await api.get(f"/api/memberships/{membership_id}", headers=citizen.headers)).json()
    assert len(read["periods"]) == 1
    clock.now = paris(2027, 3, 26, 9)
    await renew(stripe_settings, database, clock)
    await renew(stripe_settings, database, clock)  # twice: one renewal
    read = (await api.get(f"/api/memberships/{membership_id}", headers=citizen.headers)).json()
    assert [(p["first_day"], p["last_day"]) for p in read["periods"]] == [
        ("2027-03-01", "2027-03-31"),
        ("2027-04-01", "2027-04-30"),
    ]
    assert read["periods"][1]["charge"]["status"] == "awaiting_on_site"
    # Unpaid two weeks into the period: it lapses, and is not renewed.
    clock.now = paris(2027, 4, 15, 9)
    await renew(stripe_settings, database, clock)
    read = (await api.get(f"/api/memberships/{membership_id}", headers=citizen.headers)).json()
    assert read["periods"][1]["status"] == "lapsed" and read["state"] == "lapsed"
    assert read["periods"][1]["charge"]["status"] == "cancelled"
    clock.now = paris(2027, 4, 26, 9)
    await renew(stripe_settings, database, clock)
    read = (await api.get(f"/api/memberships/{membership_id}", headers=citizen.headers)).json()
    assert len(read["periods"]) == 2


async def test_a_cancelled_membership_is_not_renewed(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_settings: Settings,
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id)
    citizen = await make_user(database, "ana@example.fr")
    made = await subscribe(api, citizen, plan["id"], auto_renew=True)
    membership_id = made.json()["id"]
    await api.post(f"/api/memberships/{membership_id}/cancel", headers=citizen.headers)
    clock.now = paris(2027, 3, 28, 9)
    await renew(stripe_settings, database, clock)
    read = (await api.get(f"/api/memberships/{membership_id}", headers=citizen.headers)).json()
    assert len(read["periods"]) == 1 and read["state"] == "cancelled"


async def test_periods_across_the_end_of_october_follow_local_midnights(
    api: Client,
    lab: PricedLab,
    database: Database,
    clock: MutableClock,
    stripe_settings: Settings,
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, period="month")
    school_year = await define_plan(
        api, lab.manager, lab.place_id, name="Année scolaire", period="school_year"
    )
    clock.now = paris(2027, 10, 15, 9)
    citizen = await make_user(database, "ana@example.fr")
    made = await subscribe(api, citizen, plan["id"], auto_renew=True)
    [period] = made.json()["periods"]
    assert datetime.fromisoformat(period["starts_at"]) == datetime(2027, 10, 14, 22, tzinfo=UTC)
    assert datetime.fromisoformat(period["ends_at"]) == datetime(2027, 11, 14, 23, tzinfo=UTC)
    assert period["last_day"] == "2027-11-14"
    await api.post(
        f"/api/memberships/{made.json()['id']}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    clock.now = paris(2027, 11, 10, 9)
    await renew(stripe_settings, database, clock)
    read = (await api.get(f"/api/memberships/{made.json()['id']}", headers=citizen.headers)).json()
    second = read["periods"][1]
    assert datetime.fromisoformat(second["starts_at"]) == datetime(2027, 11, 14, 23, tzinfo=UTC)
    assert (second["first_day"], second["last_day"]) == ("2027-11-15", "2027-12-14")
    # A school year joined in October ends on 31 August (summer time: 22:00 UTC).
    joined = await subscribe(api, citizen, school_year["id"])
    [year] = joined.json()["periods"]
    assert (year["first_day"], year["last_day"]) == ("2027-11-10", "2028-08-31")
    assert datetime.fromisoformat(year["ends_at"]) == datetime(2028, 8, 31, 22, tzinfo=UTC)


async def test_the_member_is_reminded_once_before_the_period_ends(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    await empty_queue(database)
    plan = await define_plan(api, lab.manager, lab.place_id, price_cents=1000)
    citizen = await make_user(database, "ana@example.fr")
    made = await subscribe(api, citizen, plan["id"], auto_renew=True)
    assert made.status_code == 201, made.text
    received = await api.post(
        f"/api/memberships/{made.json()['id']}/receive",
        json={"means": "cash"},
        headers=lab.manager.headers,
    )
    assert received.status_code == 200, received.text
    async with runtime_on(database, clock) as runtime:
        cards = MembershipCards(runtime.billing)
        clock.now = paris(2027, 3, 10, 9)  # three weeks before the end: not yet
        await cards.renew()
        await dispatched(runtime)
        assert await messages_to(database, citizen.email, "membership_renewal") == []
        clock.now = paris(2027, 3, 18, 9)
        await cards.renew()
        await cards.renew()
        await dispatched(runtime)
        [reminder] = await messages_to(database, citizen.email, "membership_renewal")
        body = text_of(reminder)
        assert "mercredi 31 mars 2027" in body and "Adhésion mensuelle" in body
        assert "se renouvelle d'elle-même" in body and "12,00\xa0€" in body
        assert "/account/memberships" in body
    await empty_queue(database)


async def test_a_member_renews_by_hand_in_the_last_month(
    api: Client, lab: PricedLab, database: Database, clock: MutableClock
) -> None:
    plan = await define_plan(api, lab.manager, lab.place_id, period="year")
    citizen = await make_user(database, "ana@example.fr")
    held = await member(api, citizen, plan["id"], lab.manager)
    assert held["renewable"] is False
    url = f"/api/memberships/{held['id']}/renew"
    early = await api.post(url, headers=citizen.headers)
    assert early.status_code == 409 and early.json()["code"] == "too_early_to_renew"
    assert early.json()["renewable_from"].startswith("2028-01-30")
    clock.now = paris(2028, 2, 10, 9)
    read = await api.get(f"/api/memberships/{held['id']}", headers=citizen.headers)
    assert read.json()["renewable"] is True
    renewed = await api.post(url, headers=citizen.headers)
    assert renewed.status_code == 200, renewed.text
    periods = renewed.json()["periods"]
    assert [(p["first_day"], p["last_day"]) for p in periods] == [
        ("2027-03-01", "2028-02-29"),
        ("2028-03-01", "2029-02-28"),
    ]
    assert periods[1]["charge"]["status"] == "awaiting_on_site"
    twice = await api.post(url, headers=citizen.headers)
    assert twice.status_code == 409 and twice.json()["code"] == "already_renewed"
    stranger = await make_user(database, "bob@example.fr")
    assert (await api.post(url, headers=stranger.headers)).status_code == 404
