"""iCalendar export: every property parsed back with icalendar, folding, escaping, DST, feeds."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.calendar import (
    BUSY_SUMMARY,
    DEFAULT_PRODID,
    CalendarEvent,
    render_calendar,
    render_event,
)

PARIS = ZoneInfo("Europe/Paris")
NAIVE = datetime(2026, 5, 12, 14, 0, tzinfo=UTC).replace(tzinfo=None)
TRICKY = 'Découpeuse laser, salle 2; étage 1\nlecteur \\ « Trégor » "été" 🛠 漢字'


def make_event(**overrides: Any) -> CalendarEvent:
    """Build a fully populated booking event; keyword arguments override fields."""
    fields: dict[str, Any] = {
        "uid": "booking-42@mutualab.example",
        "sequence": 3,
        "summary": "Découpeuse laser — Fablab du Trégor",
        "starts_at": datetime(2026, 5, 12, 14, 0, tzinfo=PARIS),
        "ends_at": datetime(2026, 5, 12, 16, 30, tzinfo=PARIS),
        "stamp": datetime(2026, 5, 2, 9, 15, 7, tzinfo=UTC),
        "status": "CONFIRMED",
        "location": "Fablab du Trégor, 12 rue de la Paix, 22300 Lannion",
        "description": "Réservation R-2026-00042\nhttps://mutualab.example/bookings/42",
        "url": "https://mutualab.example/bookings/42",
        "organizer_name": "Fablab du Trégor",
        "organizer_email": "contact@fablab-tregor.example",
    }
    fields.update(overrides)
    return CalendarEvent(**fields)


def parse(text: str) -> icalendar.Calendar:
    """Parse a rendered calendar with the icalendar package."""
    return icalendar.Calendar.from_ical(text)


def vevents(text: str) -> list[icalendar.Event]:
    """Return the parsed VEVENTs of a rendered calendar, in document order."""
    return list(parse(text).walk("VEVENT"))


def only_vevent(text: str) -> icalendar.Event:
    """Return the single parsed VEVENT of a rendered calendar."""
    (event,) = vevents(text)
    return event


def physical_lines(text: str) -> list[bytes]:
    """Split the UTF-8 wire form into physical lines (the trailing CRLF leaves one empty item)."""
    lines = text.encode().split(b"\r\n")
    assert lines[-1] == b""
    return lines[:-1]


def unfolded_lines(text: str) -> list[str]:
    """Unfold content lines as RFC 5545 §3.1 says: remove every CRLF followed by one space."""
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def assert_wire_format(text: str) -> None:
    """Check CRLF endings, the 75-octet limit and that no line splits a UTF-8 character."""
    assert text.endswith("\r\n")
    assert "\r" not in text.replace("\r\n", "") and "\n" not in text.replace("\r\n", "")
    for line in physical_lines(text):
        assert len(line) <= 75, line
        line.decode("utf-8")  # raises if a fold split a multi-byte character


def unescape_text(value: str) -> str:
    """Undo RFC 5545 TEXT escaping in one pass (for properties icalendar leaves raw)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def text_property(text: str, name: str) -> str:
    """Return a TEXT property's value from our own unfolding of the raw lines, unescaped."""
    (line,) = (line for line in unfolded_lines(text) if line.startswith(f"{name}:"))
    return unescape_text(line.removeprefix(f"{name}:"))


def cleaned(text: str) -> str:
    """What survives in an iCalendar TEXT value: LF line breaks, no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\t\n" or unicodedata.category(c) != "Cc")


def test_every_property_round_trips() -> None:
    event = make_event()
    text = render_calendar([event], name="Mes réservations")
    parsed = only_vevent(text)

    assert str(parsed["UID"]) == "booking-42@mutualab.example"
    assert parsed["DTSTAMP"].dt == datetime(2026, 5, 2, 9, 15, 7, tzinfo=UTC)
    assert parsed["DTSTART"].dt == datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
    assert parsed["DTEND"].dt == datetime(2026, 5, 12, 14, 30, tzinfo=UTC)
    assert str(parsed["SUMMARY"]) == "Découpeuse laser — Fablab du Trégor"
    assert str(parsed["LOCATION"]) == "Fablab du Trégor, 12 rue de la Paix, 22300 Lannion"
    assert str(parsed["DESCRIPTION"]) == (
        "Réservation R-2026-00042\nhttps://mutualab.example/bookings/42"
    )
    assert str(parsed["URL"]) == "https://mutualab.example/bookings/42"
    assert str(parsed["ORGANIZER"]) == "mailto:contact@fablab-tregor.example"
    assert parsed["ORGANIZER"].params["CN"] == "Fablab du Trégor"
    assert str(parsed["STATUS"]) == "CONFIRMED"
    assert parsed["SEQUENCE"] == 3
    assert str(parsed["TRANSP"]) == "OPAQUE"
    assert_wire_format(text)


def test_instants_are_written_in_utc() -> None:
    text = render_calendar([make_event()], name="x")

    lines = unfolded_lines(text)
    assert "DTSTART:20260512T120000Z" in lines
    assert "DTEND:20260512T143000Z" in lines
    assert "DTSTAMP:20260502T091507Z" in lines
    assert "BEGIN:VTIMEZONE" not in lines


def test_each_property_appears_exactly_once() -> None:
    names = [
        line.split(":")[0].split(";")[0] for line in unfolded_lines(render_event(make_event()))
    ]

    for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "STATUS", "SEQUENCE", "TRANSP"):
        assert names.count(name) == 1, name
    assert "CREATED" not in names


def test_text_with_commas_semicolons_newlines_and_accents_round_trips() -> None:
    event = make_event(summary=TRICKY, location=TRICKY, description=TRICKY)
    text = render_event(event)
    parsed = only_vevent(text)

    for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
        assert str(parsed[name]) == TRICKY, name
    summary = next(line for line in unfolded_lines(text) if line.startswith("SUMMARY:"))
    assert summary == (
        'SUMMARY:Découpeuse laser\\, salle 2\\; étage 1\\nlecteur \\\\ « Trégor » "été" 🛠 漢字'
    )
    assert_wire_format(text)


def test_organizer_name_with_quotes_and_separators_round_trips() -> None:
    name = 'Médiathèque "Les Capucins"; Brest, accueil: ^2\nétage'
    parsed = only_vevent(render_event(make_event(organizer_name=name)))

    assert parsed["ORGANIZER"].params["CN"] == name
    assert str(parsed["ORGANIZER"]) == "mailto:contact@fablab-tregor.example"


def test_backslash_in_organizer_name_is_literal() -> None:
    text = render_event(make_event(organizer_name="C:\\Fablab\\;2"))

    expected = 'ORGANIZER;CN="C:\\Fablab\\;2":mailto:contact@fablab-tregor.example'
    assert expected in unfolded_lines(text)


def test_organizer_without_a_name_has_no_cn_and_without_email_is_omitted() -> None:
    nameless = only_vevent(render_event(make_event(organizer_name=None)))
    assert str(nameless["ORGANIZER"]) == "mailto:contact@fablab-tregor.example"
    assert "CN" not in nameless["ORGANIZER"].params

    no_email = only_vevent(render_event(make_event(organizer_email=None)))
    assert "ORGANIZER" not in no_email


def test_uid_is_escaped_text() -> None:
    uid = "booking-42,43;v2\\x@mutualab.example"
    text = render_event(make_event(uid=uid))

    assert "UID:booking-42\\,43\\;v2\\\\x@mutualab.example" in unfolded_lines(text)
    assert str(only_vevent(text)["UID"]) == uid


def test_url_is_a_uri_not_escaped_text() -> None:
    url = "https://mutualab.example/b/42?units=1,2;3&lang=fr"
    text = render_event(make_event(url=url))

    assert f"URL:{url}" in unfolded_lines(text)
    assert str(only_vevent(text)["URL"]) == url


def test_url_with_spaces_and_accents_is_percent_encoded() -> None:
    parsed = only_vevent(render_event(make_event(url="https://mutualab.example/lieux/Trégor a")))

    assert str(parsed["URL"]) == "https://mutualab.example/lieux/Tr%C3%A9gor%20a"


def test_optional_fields_absent_when_not_given() -> None:
    event = make_event(
        location=None, description=None, url=None, organizer_name=None, organizer_email=None
    )
    parsed = only_vevent(render_event(event))

    for name in ("LOCATION", "DESCRIPTION", "URL", "ORGANIZER"):
        assert name not in parsed, name


@pytest.mark.parametrize(
    ("day", "expected_start", "expected_end", "expected_length"),
    [
        # 29 March 2026: 02:00 CET jumps to 03:00 CEST.
        (
            date(2026, 3, 29),
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
            datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
            timedelta(hours=1, minutes=30),
        ),
        # 25 October 2026: 03:00 CEST falls back to 02:00 CET.
        (
            date(2026, 10, 25),
            datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
            timedelta(hours=3, minutes=30),
        ),
    ],
)
def test_booking_across_a_daylight_saving_change(
    day: date, expected_start: datetime, expected_end: datetime, expected_length: timedelta
) -> None:
    starts_at = datetime.combine(day, time(1, 30), tzinfo=PARIS)
    ends_at = datetime.combine(day, time(4, 0), tzinfo=PARIS)
    parsed = only_vevent(render_event(make_event(starts_at=starts_at, ends_at=ends_at)))

    assert parsed["DTSTART"].dt == expected_start
    assert parsed["DTEND"].dt == expected_end
    assert parsed["DTEND"].dt - parsed["DTSTART"].dt == expected_length


def test_repeated_autumn_hour_keeps_the_fold() -> None:
    first = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)  # 02:30 CEST
    second = first.replace(fold=1)  # 02:30 CET, one hour later
    end = datetime(2026, 10, 25, 5, 0, tzinfo=PARIS)

    early = only_vevent(render_event(make_event(starts_at=first, ends_at=end)))
    late = only_vevent(render_event(make_event(starts_at=second, ends_at=end)))

    assert early["DTSTART"].dt == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert late["DTSTART"].dt == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_rescheduled_booking_keeps_uid_and_raises_sequence() -> None:
    original = make_event(sequence=0)
    moved = replace(
        original,
        sequence=1,
        starts_at=datetime(2026, 5, 13, 9, 0, tzinfo=PARIS),
        ends_at=datetime(2026, 5, 13, 11, 0, tzinfo=PARIS),
        stamp=datetime(2026, 5, 3, 8, 0, tzinfo=UTC),
    )
    before = only_vevent(render_calendar([original], name="x"))
    after = only_vevent(render_calendar([moved], name="x"))

    assert str(after["UID"]) == str(before["UID"])
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["DTSTART"].dt == datetime(2026, 5, 13, 7, 0, tzinfo=UTC)
    assert after["DTEND"].dt == datetime(2026, 5, 13, 9, 0, tzinfo=UTC)
    assert after["DTSTAMP"].dt == datetime(2026, 5, 3, 8, 0, tzinfo=UTC)


def test_a_feed_keeps_one_vevent_per_uid_the_latest_version() -> None:
    original = make_event(sequence=1)
    moved = replace(
        original,
        sequence=2,
        starts_at=original.starts_at + timedelta(days=1),
        ends_at=original.ends_at + timedelta(days=1),
    )
    other = make_event(uid="booking-43@mutualab.example")

    for events in ([original, moved, other], [moved, other, original]):
        parsed = vevents(render_calendar(events, name="x"))
        by_uid = {str(event["UID"]): event for event in parsed}
        assert len(parsed) == 2
        assert by_uid["booking-42@mutualab.example"]["SEQUENCE"] == 2


def test_cancelled_booking_stays_in_the_feed() -> None:
    events = [make_event(), make_event(uid="booking-43@mutualab.example", status="CANCELLED")]
    parsed = {str(event["UID"]): event for event in vevents(render_calendar(events, name="x"))}

    assert str(parsed["booking-43@mutualab.example"]["STATUS"]) == "CANCELLED"
    assert str(parsed["booking-42@mutualab.example"]["STATUS"]) == "CONFIRMED"


def test_tentative_status_is_kept() -> None:
    parsed = only_vevent(render_event(make_event(status="TENTATIVE")))

    assert str(parsed["STATUS"]) == "TENTATIVE"


def test_busy_only_feed_carries_no_personal_data() -> None:
    event = make_event(
        summary="Impression 3D — Camille Le Goff",
        description="Réservé par Camille Le Goff, camille.legoff@example.org",
        url="https://mutualab.example/bookings/42",
        organizer_name="Camille Le Goff",
        organizer_email="camille.legoff@example.org",
        location="Fablab du Trégor, 12 rue de la Paix, 22300 Lannion",
        busy_only=True,
    )
    text = render_calendar([event], name="Fablab du Trégor — occupation")
    parsed = only_vevent(text)

    unfolded = text.replace("\r\n ", "")
    for secret in ("Camille", "Goff", "legoff", "example.org", "bookings/42", "Impression"):
        assert secret not in unfolded, secret
    assert str(parsed["SUMMARY"]) == BUSY_SUMMARY
    for name in ("DESCRIPTION", "URL", "ORGANIZER", "ATTENDEE", "CONTACT"):
        assert name not in parsed, name
    assert str(parsed["LOCATION"]) == "Fablab du Trégor, 12 rue de la Paix, 22300 Lannion"
    assert parsed["SEQUENCE"] == 3
    assert str(parsed["STATUS"]) == "CONFIRMED"
    assert parsed["DTSTART"].dt == datetime(2026, 5, 12, 12, 0, tzinfo=UTC)


def test_long_accented_line_is_folded_between_characters() -> None:
    summary = "é" * 80  # "SUMMARY:" is 8 octets; a cut at octet 75 would split an "é"
    text = render_event(make_event(summary=summary))

    lines = physical_lines(text)
    start = next(i for i, line in enumerate(lines) if line.startswith(b"SUMMARY:"))
    assert len(lines[start]) == 74
    assert lines[start + 1].startswith(b" ") and len(lines[start + 1]) == 75
    assert_wire_format(text)
    assert f"SUMMARY:{summary}" in unfolded_lines(text)
    assert str(only_vevent(text)["SUMMARY"]) == summary


def test_long_lines_are_folded_everywhere() -> None:
    long = "Fablab du Trégor " * 12 + "🛠" * 30
    event = make_event(
        uid="booking-" + "9" * 100 + "@mutualab.example",
        summary=long,
        location=long,
        description=long,
        url="https://mutualab.example/" + "a" * 120,
        organizer_name=long,
    )
    text = render_calendar([event], name=long, prodid="-//Mutualab " + "x" * 90 + "//FR")
    parsed = parse(text)
    vevent = only_vevent(text)

    assert_wire_format(text)
    assert text_property(text, "X-WR-CALNAME") == long
    assert str(parsed["PRODID"]) == "-//Mutualab " + "x" * 90 + "//FR"
    assert str(vevent["UID"]) == "booking-" + "9" * 100 + "@mutualab.example"
    assert str(vevent["URL"]) == "https://mutualab.example/" + "a" * 120
    assert vevent["ORGANIZER"].params["CN"] == long
    for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
        assert str(vevent[name]) == long


def test_control_characters_are_dropped_and_line_breaks_normalised() -> None:
    event = make_event(summary="a\r\nb\rc\x00d\x1be\x7ff\x85g\th", description="x\u2028y")
    parsed = only_vevent(render_event(event))

    assert str(parsed["SUMMARY"]) == "a\nb\ncdefg\th"
    assert str(parsed["DESCRIPTION"]) == "x\u2028y"


def test_lone_surrogate_becomes_a_replacement_character() -> None:
    text = render_event(make_event(summary="a\ud800b"))

    assert str(only_vevent(text)["SUMMARY"]) == "a\ufffdb"


def test_same_events_give_byte_identical_output() -> None:
    events = [
        make_event(uid=f"booking-{i}@mutualab.example", starts_at=make_event().starts_at)
        for i in range(20)
    ]
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    in_utc = [
        replace(
            e,
            starts_at=e.starts_at.astimezone(UTC),
            ends_at=e.ends_at.astimezone(UTC),
            stamp=e.stamp.astimezone(PARIS),
        )
        for e in events
    ]

    first = render_calendar(events, name="x")
    assert render_calendar(events, name="x") == first
    assert render_calendar(shuffled, name="x") == first
    assert render_calendar(in_utc, name="x") == first


def test_events_are_ordered_by_start_then_uid() -> None:
    base = make_event().starts_at
    events = [
        make_event(uid="b@x", starts_at=base, ends_at=base + timedelta(hours=1)),
        make_event(uid="c@x", starts_at=base - timedelta(days=1), ends_at=base),
        make_event(uid="a@x", starts_at=base, ends_at=base + timedelta(hours=1)),
    ]

    uids = [str(event["UID"]) for event in vevents(render_calendar(events, name="x"))]
    assert uids == ["c@x", "a@x", "b@x"]


def test_feed_header_has_name_and_refresh_interval() -> None:
    text = render_calendar([make_event()], name="Fablab du Trégor; réservations, 2026")
    parsed = parse(text)
    lines = unfolded_lines(text)

    assert lines[:4] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{DEFAULT_PRODID}",
        "CALSCALE:GREGORIAN",
    ]
    # icalendar leaves NAME and X-WR-CALNAME raw; both are TEXT (RFC 7986, RFC 5545 §3.8.8.2).
    assert "X-WR-CALNAME:Fablab du Trégor\\; réservations\\, 2026" in lines
    assert text_property(text, "X-WR-CALNAME") == "Fablab du Trégor; réservations, 2026"
    assert text_property(text, "NAME") == "Fablab du Trégor; réservations, 2026"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT60M" in lines
    assert parsed["REFRESH-INTERVAL"].dt == timedelta(minutes=60)
    assert "X-PUBLISHED-TTL:PT60M" in lines
    assert "METHOD" not in parsed
    assert lines[-1] == "END:VCALENDAR"


def test_feed_options_method_and_refresh() -> None:
    text = render_calendar(
        [make_event()],
        name="x",
        prodid="-//Ville//Agenda//FR",
        method="publish",
        refresh_minutes=15,
    )
    parsed = parse(text)

    assert str(parsed["METHOD"]) == "PUBLISH"
    assert str(parsed["PRODID"]) == "-//Ville//Agenda//FR"
    assert parsed["REFRESH-INTERVAL"].dt == timedelta(minutes=15)
    assert "X-PUBLISHED-TTL:PT15M" in unfolded_lines(text)

    quiet = parse(render_calendar([make_event()], name="x", refresh_minutes=None))
    assert "REFRESH-INTERVAL" not in quiet
    assert "X-PUBLISHED-TTL" not in quiet


def test_single_event_download_is_a_publish_calendar() -> None:
    text = render_event(make_event())
    parsed = parse(text)

    assert str(parsed["METHOD"]) == "PUBLISH"
    assert str(parsed["VERSION"]) == "2.0"
    assert str(parsed["PRODID"]) == DEFAULT_PRODID
    for name in ("X-WR-CALNAME", "NAME", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
        assert name not in parsed, name
    assert len(parsed.walk("VEVENT")) == 1
    assert_wire_format(text)


def test_empty_calendar_is_still_valid() -> None:
    text = render_calendar([], name="Rien pour l'instant")
    parsed = parse(text)

    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert str(parsed["VERSION"]) == "2.0"
    assert str(parsed["PRODID"]) == DEFAULT_PRODID
    assert parsed.walk("VEVENT") == []
    assert_wire_format(text)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"starts_at": NAIVE}, "starts_at must be timezone-aware"),
        ({"stamp": NAIVE}, "stamp must be timezone-aware"),
        ({"ends_at": datetime(2026, 5, 12, 14, 0, tzinfo=PARIS)}, "ends_at must be after"),
        ({"sequence": -1}, "sequence"),
        ({"sequence": 2**31}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"status": "DONE"}, "status"),
        ({"uid": ""}, "uid"),
        ({"uid": "\x00"}, "uid"),
    ],
)
def test_invalid_events_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_event(**overrides)


@pytest.mark.parametrize(
    "options",
    [
        {"refresh_minutes": 0},
        {"refresh_minutes": True},
        {"method": "PUBLISH\r\nX-EVIL:1"},
        {"method": ""},
        {"prodid": ""},
    ],
)
def test_invalid_calendar_options_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        render_calendar([make_event()], name="x", **options)


# Text as a person may type it, with iCalendar's special characters made frequent.
_typed_text = st.lists(
    st.one_of(
        st.characters(exclude_categories=("Cs", "Cc")),
        st.sampled_from([",", ";", "\\", "\n", ":", '"', "^", "é", "🛠", "漢", "\\n", "\\N", "^n"]),
    ),
    max_size=120,
).map("".join)
# icalendar reads backslash escapes inside quoted parameter values, which RFC 5545 does not
# define (a backslash there is literal, see test_backslash_in_organizer_name_is_literal).
_name_text = _typed_text.map(lambda text: text.replace("\\", ""))


@settings(max_examples=150, deadline=None)
@given(summary=_typed_text, description=_typed_text, location=_typed_text, organizer=_name_text)
def test_typed_text_round_trips_exactly(
    summary: str, description: str, location: str, organizer: str
) -> None:
    event = make_event(
        summary=summary, description=description, location=location, organizer_name=organizer
    )
    text = render_calendar([event], name=summary)
    parsed = only_vevent(text)

    assert_wire_format(text)
    if summary:
        assert text_property(text, "SUMMARY") == summary  # unfolding restores the value
    # Empty values are simply left out.
    assert str(parsed.get("SUMMARY", "")) == summary
    assert str(parsed.get("DESCRIPTION", "")) == description
    assert str(parsed.get("LOCATION", "")) == location
    assert parsed["ORGANIZER"].params.get("CN", "") == organizer
    if summary:
        assert text_property(text, "X-WR-CALNAME") == summary


@settings(max_examples=150, deadline=None)
@given(summary=st.text(max_size=200), description=st.text(max_size=200))
def test_any_text_round_trips_to_its_cleaned_form(summary: str, description: str) -> None:
    text = render_event(make_event(summary=summary, description=description))
    parsed = only_vevent(text)

    assert_wire_format(text)
    assert str(parsed.get("SUMMARY", "")) == cleaned(summary)
    assert str(parsed.get("DESCRIPTION", "")) == cleaned(description)


def test_an_alarm_reminds_of_the_booking_before_its_start() -> None:
    text = render_event(make_event(alarm_minutes=90))
    assert_wire_format(text)
    [alarm] = only_vevent(text).walk("VALARM")

    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == -timedelta(minutes=90)
    assert str(alarm["DESCRIPTION"]) == make_event().summary


def test_no_alarm_when_none_or_zero_and_never_in_busy_feeds() -> None:
    for event in (
        make_event(),
        make_event(alarm_minutes=0),
        make_event(alarm_minutes=60, busy_only=True),
    ):
        assert "VALARM" not in render_calendar([event], name="Agenda")
    with pytest.raises(ValueError, match="alarm_minutes"):
        make_event(alarm_minutes=-5)
