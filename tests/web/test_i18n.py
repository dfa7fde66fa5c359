"""Languages and formats (no database): negotiation, French dates and money, catalogue health."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from booking.schemas import SlotRead
from mutualab.web.i18n import LOCALE_DIR, I18n, negotiate
from mutualab.web.rendering import local_target
from mutualab.web.week import week_grid

WEB = Path(LOCALE_DIR).parent
PARIS = ZoneInfo("Europe/Paris")
NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "fr"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "de-DE,de;q=0.9,en;q=0.8,fr;q=0.7", "en"),
        (None, "de-DE, fr;q=0.5, en;q=0.4", "fr"),
        (None, "en;q=0.5, fr;q=0.5", "en"),  # ties go to the first listed
        (None, "xx, *;q=0.1", "fr"),
        ("en", "fr-FR", "en"),
        ("klingon", "en", "en"),
        (None, "en;q=abc", "fr"),
    ],
)
def test_the_language_comes_from_the_cookie_then_the_browser_then_french(
    cookie: str | None, header: str | None, expected: str
) -> None:
    assert negotiate(cookie, header) == expected


def test_french_dates_times_and_money() -> None:
    fr = I18n("fr")
    moment = datetime(2026, 9, 8, 14, 0, tzinfo=PARIS)
    assert fr.datetime_long(moment) == "mardi 8 septembre 2026, 14:00"
    assert fr.day_short(date(2026, 9, 8)) == "mardi 8 septembre"
    assert fr.time_short(time(9, 5)) == "09:05"
    assert fr.money(123450).replace(NNBSP, " ").replace(NBSP, " ") == "1 234,50 €"
    assert fr.weekday(0) == "lundi"
    assert fr.duration(90) == "1 h 30"
    assert fr.duration(45) == "45 min"
    assert fr.zone_name("Europe/Paris") == "heure de Paris"
    assert fr.ngettext("%(num)s place", "%(num)s places", 0) == "0 lieu"
    assert fr.ngettext("%(num)s place", "%(num)s places", 2) == "2 lieux"


def test_english_dates_times_and_money() -> None:
    en = I18n("en")
    moment = datetime(2026, 9, 8, 14, 0, tzinfo=PARIS)
    assert en.datetime_long(moment) == "Tuesday, 8 September 2026, 14:00"
    assert en.money(123450) == "€1,234.50"
    assert en.duration(90) == "1 h 30 min"
    assert en.gettext("Places") == "Places"


def _extracted_ids() -> set[str]:
    with (WEB / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def _catalog_ids(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def test_the_template_and_the_french_catalogue_cover_every_text_of_the_pages() -> None:
    # Run `make messages` when this fails: it re-extracts and merges the catalogues.
    extracted = _extracted_ids()
    template = _catalog_ids(LOCALE_DIR / "messages.pot")
    assert sorted(extracted - set(template)) == []
    assert sorted(set(template) - extracted) == []
    french = _catalog_ids(LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po")
    untranslated = []
    for message_id in extracted:
        entry = french.get(message_id)
        strings = getattr(entry, "string", None)
        values = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or getattr(entry, "fuzzy", False) or not all(values):
            untranslated.append(message_id)
    assert sorted(untranslated) == []


def test_french_placeholders_match_the_english_ones() -> None:
    import re

    french = _catalog_ids(LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po")
    placeholder = re.compile(r"%\((\w+)\)s")
    for message_id, entry in french.items():
        strings = getattr(entry, "string", "")
        for value in strings if isinstance(strings, tuple) else (strings,):
            assert set(placeholder.findall(value)) <= set(placeholder.findall(str(entry.id))), (
                message_id
            )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/account", "/account"),
        ("/?town=Lannion&kind=space", "/?town=Lannion&kind=space"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
        ("/a\nb", "/"),
    ],
)
def test_redirect_targets_stay_on_the_site(value: str | None, expected: str) -> None:
    assert local_target(value) == expected


def _slot(day: int, start: tuple[int, int], end: tuple[int, int], free: int) -> SlotRead:
    starts = datetime(2027, 3, day, *start, tzinfo=PARIS)
    ends = datetime(2027, 3, day, *end, tzinfo=PARIS)
    return SlotRead(
        starts_at=starts, ends_at=ends, local_starts_at=starts, local_ends_at=ends, free_units=free
    )


def test_the_week_grid_merges_touching_and_overlapping_slots_with_the_same_free_units() -> None:
    slots = [
        _slot(1, (9, 0), (10, 0), 2),
        _slot(1, (9, 30), (10, 30), 2),  # overlapping (one-hour slots every half hour)
        _slot(1, (10, 30), (11, 30), 1),  # fewer free units: a new period
        _slot(1, (14, 0), (15, 0), 1),  # a gap: a new period
        _slot(3, (9, 0), (10, 0), 2),
        _slot(9, (9, 0), (10, 0), 2),  # outside the week: ignored
    ]
    days = week_grid(date(2027, 3, 1), 7, slots)
    assert [d.day.day for d in days] == [1, 2, 3, 4, 5, 6, 7]
    first = [
        (p.start.strftime("%H:%M"), p.end.strftime("%H:%M"), p.free_units) for p in days[0].periods
    ]
    assert first == [("09:00", "10:30", 2), ("10:30", "11:30", 1), ("14:00", "15:00", 1)]
    assert days[1].periods == []
    assert len(days[2].periods) == 1


def test_days_without_opening_are_closed_rather_than_full() -> None:
    days = week_grid(
        date(2027, 3, 1), 3, [_slot(1, (9, 0), (10, 0), 1)], {date(2027, 3, 1), date(2027, 3, 2)}
    )
    assert [(d.day.day, bool(d.periods), d.closed) for d in days] == [
        (1, True, False),
        (2, False, False),  # open but fully booked
        (3, False, True),
    ]
