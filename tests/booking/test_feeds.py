"""Calendar export through the API, parsed back with `icalendar`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import icalendar
import pytest
from sqlmodel import select

from booking.feeds.models import CalendarFeed
from booking.feeds.repository import FeedRepository
from kernel.db import Database
from kernel.settings import Settings
from mutualab.cli import demo_environment
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import Fablab, MutableClock, book, booking_client, make_fablab, paris


@pytest.fixture
async def http(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app whose clock says Monday 1 March 2027, 09:00 in Paris."""
    async with booking_client(settings, database, MutableClock()) as client:
        yield client


async def _all_day_fablab(http: httpx.AsyncClient, admin: dict[str, str]) -> Fablab:
    lab = await make_fablab(http, admin)
    spans = [{"weekday": d, "opens": "00:00", "closes": "00:00"} for d in range(7)]
    assert (
        await http.put(
            f"/api/places/{lab.place_id}/opening-hours", json={"spans": spans}, headers=admin
        )
    ).status_code == 200
    grown = await http.patch(
        f"/api/resources/{lab.printer}", json={"max_advance_days": 400}, headers=admin
    )
    assert grown.status_code == 200
    return lab


async def _feed_path(http: httpx.AsyncClient, person: Person) -> str:
    created = await http.post("/api/me/calendar-feed", headers=person.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["webcal_url"].startswith("webcal://mutualab.test/calendar/feeds/")
    return urlsplit(body["url"]).path


def _events(text: str) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(text)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def _raw_lines_ok(raw: bytes) -> None:
    assert raw.endswith(b"\r\n")
    for line in raw.split(b"\r\n")[:-1]:
        assert len(line) <= 75
        line.decode("utf-8")  # folding never splits a character


async def test_private_feed_across_daylight_saving_changes(
    http: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    lab = await _all_day_fablab(http, admin_headers)
    alice = await make_user(database, "alice@example.fr")
    march = await book(http, alice, lab.printer, paris(2027, 3, 28, 1), paris(2027, 3, 28, 4))
    october = await book(http, alice, lab.printer, paris(2027, 10, 31, 1), paris(2027, 10, 31, 4))
    assert march.status_code == october.status_code == 201, (march.text, october.text)
    path = await _feed_path(http, alice)
    response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    _raw_lines_ok(response.content)
    events = _events(response.text)
    spring = events[f"booking-{march.json()['id']}@mutualab.test"]
    autumn = events[f"booking-{october.json()['id']}@mutualab.test"]
    # 01:00-04:00 in Paris lasts 2 h on 28 March and 4 h on 31 October 2027.
    assert spring.decoded("DTSTART") == datetime(2027, 3, 28, 0, 0, tzinfo=UTC)
    assert spring.decoded("DTEND") == datetime(2027, 3, 28, 2, 0, tzinfo=UTC)
    assert autumn.decoded("DTSTART") == datetime(2027, 10, 30, 23, 0, tzinfo=UTC)
    assert autumn.decoded("DTEND") == datetime(2027, 10, 31, 3, 0, tzinfo=UTC)
    assert str(spring["SUMMARY"]) == "Imprimante 3D — Fablab de Lannion"
    assert "1 rue de la Mairie, 22300 Lannion" in str(spring["LOCATION"])
    assert march.json()["reference"] in str(spring["DESCRIPTION"])
    assert str(spring["URL"]) == f"https://mutualab.test/account/bookings/{march.json()['id']}"
    [alarm] = spring.walk("VALARM")  # the place's default reminder, an hour before
    assert alarm.decoded("TRIGGER") == -timedelta(minutes=60)
    assert str(spring["STATUS"]) == "CONFIRMED"
    assert int(spring["SEQUENCE"]) == 0
    assert spring.decoded("DTSTAMP") == datetime.fromisoformat(march.json()["updated_at"])


async def test_reschedule_and_cancel_update_the_same_event(
    http: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    lab = await _all_day_fablab(http, admin_headers)
    alice = await make_user(database, "alice@example.fr")
    first = await book(http, alice, lab.printer, paris(2027, 3, 10, 10), paris(2027, 3, 10, 12))
    second = await book(http, alice, lab.printer, paris(2027, 3, 11, 10), paris(2027, 3, 11, 12))
    path = await _feed_path(http, alice)
    moved = await http.post(
        f"/api/bookings/{first.json()['id']}/reschedule",
        json={
            "starts_at": paris(2027, 3, 12, 14).isoformat(),
            "ends_at": paris(2027, 3, 12, 16).isoformat(),
        },
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    cancelled = await http.post(
        f"/api/bookings/{second.json()['id']}/cancel", json={}, headers=alice.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    events = _events((await http.get(path)).text)
    rescheduled = events[f"booking-{first.json()['id']}@mutualab.test"]
    assert int(rescheduled["SEQUENCE"]) >= 1
    assert rescheduled.decoded("DTSTART") == datetime(2027, 3, 12, 13, 0, tzinfo=UTC)
    gone = events[f"booking-{second.json()['id']}@mutualab.test"]
    assert str(gone["STATUS"]) == "CANCELLED"  # kept so clients remove it
    assert int(gone["SEQUENCE"]) > 0


async def test_revoked_or_unknown_token_is_404_at_once(
    http: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    alice = await make_user(database, "alice@example.fr")
    old = await _feed_path(http, alice)
    assert (await http.get(old)).status_code == 200
    new = await _feed_path(http, alice)  # regenerating revokes the previous address
    assert (await http.get(old)).status_code == 404
    assert (await http.get(new)).status_code == 200
    assert (await http.delete("/api/me/calendar-feed", headers=alice.headers)).status_code == 204
    assert (await http.get(new)).status_code == 404
    assert (await http.get("/calendar/feeds/mla_guess/bookings.ics")).status_code == 404
    again = await http.delete("/api/me/calendar-feed", headers=alice.headers)
    assert again.status_code == 404


async def test_conditional_requests(
    http: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    lab = await _all_day_fablab(http, admin_headers)
    alice = await make_user(database, "alice@example.fr")
    await book(http, alice, lab.printer, paris(2027, 3, 10, 10), paris(2027, 3, 10, 12))
    path = await _feed_path(http, alice)
    first = await http.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"].startswith("private")
    same = await http.get(path, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert (await http.get(path, headers={"If-Modified-Since": modified})).status_code == 304
    await book(http, alice, lab.printer, paris(2027, 3, 11, 10), paris(2027, 3, 11, 12))
    changed = await http.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag


async def test_busy_feeds_show_no_personal_data(
    http: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    lab = await _all_day_fablab(http, admin_headers)
    alice = await make_user(database, "alice.secret@example.fr")
    booked = await book(
        http,
        alice,
        lab.printer,
        paris(2027, 3, 10, 10),
        paris(2027, 3, 10, 12),
        notes="Prototype confidentiel",
    )
    uids: list[str] = []
    for path in (
        f"/calendar/resources/{lab.printer}/busy.ics",
        f"/calendar/places/{lab.place_id}/busy.ics",
    ):
        response = await http.get(path)
        assert response.status_code == 200
        assert response.headers["cache-control"].startswith("public")
        text = response.text
        for secret in (
            "alice",
            "confidentiel",
            booked.json()["reference"],
            "DESCRIPTION",
            "ORGANIZER",
            "URL:",
        ):
            assert secret not in text, (path, secret)
        (event,) = _events(text).values()
        assert event.decoded("DTSTART") == datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
        uids.append(str(event["UID"]))
    assert (await http.get("/calendar/resources/999/busy.ics")).status_code == 404
    # Opaque UIDs: not the booking's id (nor its private feed's UID), stable across feeds and
    # polls, one per booking.
    assert re.fullmatch(r"busy-[0-9a-f]{32}@mutualab\.test", uids[0])
    assert uids[0] != f"busy-{booked.json()['id']}@mutualab.test"
    assert uids == [uids[0]] * 2
    again = _events((await http.get(f"/calendar/places/{lab.place_id}/busy.ics")).text)
    assert list(again) == [uids[0]]
    await book(http, alice, lab.printer, paris(2027, 3, 10, 14), paris(2027, 3, 10, 15))
    both = _events((await http.get(f"/calendar/places/{lab.place_id}/busy.ics")).text)
    assert len(both) == 2 and uids[0] in both


async def test_feed_range_is_capped(http: httpx.AsyncClient, database: Database) -> None:
    alice = await make_user(database, "alice@example.fr")
    path = await _feed_path(http, alice)
    assert (await http.get(f"{path}?from=2027-03-01&to=2027-04-01")).status_code == 200
    too_old = await http.get(f"{path}?from=2025-01-01")
    assert too_old.status_code == 422
    assert too_old.json()["code"] == "range_too_long"
    assert (await http.get(f"{path}?to=2029-01-01")).status_code == 422
    backwards = await http.get(f"{path}?from=2027-03-05&to=2027-03-01")
    assert backwards.status_code == 422


async def test_organisation_feed_and_single_booking_file(
    http: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    lab = await _all_day_fablab(http, admin_headers)
    school = await make_organisation(database)
    teacher = await make_user(
        database, "teacher@example.fr", organisation_roles=((school, "admin"),)
    )
    colleague = await make_user(
        database, "colleague@example.fr", organisation_roles=((school, "booker"),)
    )
    outsider = await make_user(database, "outsider@example.fr")
    booked = await book(
        http,
        colleague,
        lab.printer,
        paris(2027, 3, 10, 10),
        paris(2027, 3, 10, 12),
        organisation_id=school,
    )
    assert booked.status_code == 201, booked.text
    url = f"/api/organisations/{school}/calendar-feed"
    assert (await http.post(url, headers=colleague.headers)).status_code == 403
    assert (await http.post(url, headers=outsider.headers)).status_code == 404
    created = await http.post(url, headers=teacher.headers)
    assert created.status_code == 201
    feed = await http.get(urlsplit(created.json()["url"]).path)
    assert f"booking-{booked.json()['id']}@mutualab.test" in _events(feed.text)

    file_url = f"/api/bookings/{booked.json()['id']}/calendar.ics"
    download = await http.get(file_url, headers=colleague.headers)
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert "METHOD:PUBLISH" in download.text
    assert list(_events(download.text)) == [f"booking-{booked.json()['id']}@mutualab.test"]
    assert (await http.get(file_url, headers=outsider.headers)).status_code == 404


async def test_an_organisation_feed_stops_when_the_admin_who_created_it_leaves(
    http: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    school = await make_organisation(database)
    teacher = await make_user(
        database, "teacher@example.fr", organisation_roles=((school, "admin"),)
    )
    head = await make_user(database, "head@example.fr", organisation_roles=((school, "admin"),))
    url = f"/api/organisations/{school}/calendar-feed"
    teachers = urlsplit((await http.post(url, headers=teacher.headers)).json()["url"]).path
    assert (await http.get(teachers)).status_code == 200
    # Another admin leaving changes nothing: they never saw this address.
    other = await make_user(database, "other@example.fr", organisation_roles=((school, "admin"),))
    members = f"/api/organisations/{school}/members"
    left = await http.delete(f"{members}/{other.user_id}", headers=other.headers)
    assert left.status_code == 204
    assert (await http.get(teachers)).status_code == 200
    # The admin who created it leaves: the address they keep stops working at once.
    left = await http.delete(f"{members}/{teacher.user_id}", headers=teacher.headers)
    assert left.status_code == 204, left.text
    assert (await http.get(teachers)).status_code == 404
    # The remaining admin makes a new one, which works.
    heads = urlsplit((await http.post(url, headers=head.headers)).json()["url"]).path
    assert (await http.get(heads)).status_code == 200
    # Demoted to booker, an admin's address stops too.
    await make_user(database, "deputy@example.fr", organisation_roles=((school, "admin"),))
    demoted = await http.post(
        members, json={"email": "head@example.fr", "role": "booker"}, headers=admin_headers
    )
    assert demoted.status_code in (200, 201), demoted.text
    assert (await http.get(heads)).status_code == 404
    # A platform administrator's address for the organisation lasts while they are one.
    platform = urlsplit((await http.post(url, headers=admin_headers)).json()["url"]).path
    assert (await http.get(platform)).status_code == 200


async def test_feeds_revoked_long_ago_are_purged_and_others_kept(database: Database) -> None:
    """The nightly clean-up of old feed data: a revoked address answers 404 with or without its
    row, so rows revoked before the cut are deleted; live and recently revoked ones stay."""
    owner = await make_user(database, "feeds@example.org")
    cut = datetime(2027, 3, 1, 9, tzinfo=UTC)
    async with database.writer() as session, session.begin():
        for n, revoked in enumerate([None, cut - timedelta(days=1), cut + timedelta(hours=1)]):
            session.add(
                CalendarFeed(
                    user_id=owner.user_id,
                    token_sha256=f"{n:064x}",
                    revoked_at=revoked,
                )
            )
    async with database.writer() as session, session.begin():
        assert await FeedRepository(session).purge_revoked(cut) == 1
    async with database.writer() as session, session.begin():
        assert await FeedRepository(session).purge_revoked(cut) == 0
        left = await session.exec(select(CalendarFeed.revoked_at))
        assert sorted(left.all(), key=str) == sorted([None, cut + timedelta(hours=1)], key=str)


async def test_a_demo_on_another_port_links_feeds_files_and_open_data_to_that_port(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    database: Database,
    admin_headers: dict[str, str],
) -> None:
    """`make demo PORT=8231`: every absolute link comes from the one public address it sets."""
    for name in ("MUTUALAB_PUBLIC_BASE_URL", "MUTUALAB_IN_PROCESS_WORKER"):
        # Set first, so that the test's end restores the variable the demo will set.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    demo_environment("127.0.0.1", 8231)
    public = Settings(_env_file=None).public_base_url  # type: ignore[call-arg]
    assert public == "http://127.0.0.1:8231"
    demo = settings.model_copy(update={"public_base_url": public})
    async with booking_client(demo, database, MutableClock()) as http:
        lab = await _all_day_fablab(http, admin_headers)
        alice = await make_user(database, "alice@example.fr")
        booked = await book(http, alice, lab.printer, paris(2027, 3, 2, 10), paris(2027, 3, 2, 11))
        assert booked.status_code == 201, booked.text
        page = f"{public}/account/bookings/{booked.json()['id']}"

        created = (await http.post("/api/me/calendar-feed", headers=alice.headers)).json()
        assert created["url"].startswith(f"{public}/calendar/feeds/")
        assert created["webcal_url"].startswith("webcal://127.0.0.1:8231/calendar/feeds/")
        [event] = _events((await http.get(urlsplit(created["url"]).path)).text).values()
        assert str(event["URL"]) == page

        file = await http.get(
            f"/api/bookings/{booked.json()['id']}/calendar.ics", headers=alice.headers
        )
        [event] = _events(file.text).values()
        assert str(event["URL"]) == page and page in str(event["DESCRIPTION"])

        places = (await http.get("/api/opendata/lieux.json")).json()
        assert places
        for place in places:
            assert "-127.0.0.1-8231-" in place["id"]  # the instance, in the national id
            assert place["prise_rdv"].startswith(f"{public}/places/")
