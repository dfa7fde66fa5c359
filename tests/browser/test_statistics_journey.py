"""A manager opens the statistics of their place and downloads the XLSX of last month's
bookings (issue 20): the figures of last month, each chart with its table, checked by axe-core
at 360 and 1280 px and photographed on demand (also at 390 px, into /work/shots/stats when it
exists).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from kernel.db import Database
from mutualab.reports.periods import containing
from resources.hours import french_public_holidays
from tests.browser.support import LiveServer, PageChecker, on_served_database
from tests.support.accounts import make_user, stored_hash
from tests.web.seed import OPEN_DAYS, PARIS, PASSWORD, Town, citizen_books_seats

SHOTS = Path("/work/shots/stats")
ADMIN_EMAIL = "stats-admin@example.org"
_seeded: dict[str, str] = {}


def _last_month_day(today: date) -> date:
    """An ordinary opening day of last month."""
    start = containing("month", today).previous().start
    day = start + timedelta(days=9)
    holidays = french_public_holidays(start, start + timedelta(days=40))
    while day.weekday() not in OPEN_DAYS or day in holidays:
        day += timedelta(days=1)
    return day


async def _seed(database: Database, town: Town) -> str:
    """Two seats booked by the citizen last month (booked three days before): its reference;
    and a platform administrator."""
    day = _last_month_day(datetime.now(PARIS).date())
    then = datetime.combine(day - timedelta(days=3), time(9), PARIS).astimezone(UTC)
    booking = await citizen_books_seats(
        database, town, day, (time(10), time(12)), quantity=2, clock=lambda: then
    )
    await make_user(database, ADMIN_EMAIL, admin=True, password_hash=stored_hash(PASSWORD))
    return booking.reference


@pytest.fixture
def last_month_reference(server: LiveServer) -> str:
    """A booking of last month, seeded once per database."""
    if server.backend not in _seeded:
        _seeded[server.backend] = on_served_database(
            server, lambda database: _seed(database, server.town)
        )
    return _seeded[server.backend]


def _shoot(page: Page, name: str) -> None:
    """Photographs for the reviewers: at 390 px (a phone) and 1280 px."""
    if not SHOTS.parent.exists():
        return
    SHOTS.mkdir(exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 900}
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways at {width} px"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(original)


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def test_a_manager_opens_the_statistics_and_downloads_last_month_s_bookings(
    page: Page, server: LiveServer, last_month_reference: str, check_page: PageChecker
) -> None:
    town = server.town
    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}")
    menu = page.get_by_role("navigation", name="Rubriques de la gestion")
    menu.get_by_role("link", name="Statistiques").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistiques")
    check_page(page, "manage-statistics")
    _shoot(page, "statistics-this-month")

    # Last month: the seeded booking counts, its hours by user type are charted and tabled.
    page.get_by_role("link", name=re.compile("^Précédente")).click()
    figures = page.locator("dl.figures")
    expect(figures.locator("div", has_text="Réservations").first.locator("dd")).not_to_have_text(
        "0"
    )
    expect(
        page.get_by_role("img", name=re.compile("Heures réservées par catégorie"))
    ).to_be_visible()
    expect(page.get_by_role("table", name="Réservations et heures par catégorie")).to_contain_text(
        "Particulier"
    )
    check_page(page, "manage-statistics-last-month")
    _shoot(page, "statistics-last-month")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Réservations du mois dernier (XLSX)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(BytesIO(Path(download.path()).read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Référence", "Début")
    assert last_month_reference in {row[0] for row in rows[1:]}


def test_an_administrator_reads_the_platform_s_statistics_per_quarter(
    page: Page, last_month_reference: str, check_page: PageChecker
) -> None:
    _log_in(page, ADMIN_EMAIL)
    page.goto("/manage")
    page.get_by_role("link", name="Statistiques de la plateforme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistiques de la plateforme")
    page.get_by_label("Par", exact=True).select_option(label="trimestre")
    quarter = containing("quarter", _last_month_day(datetime.now(PARIS).date()))
    page.get_by_role("textbox", name=re.compile("^Période")).fill(quarter.key)
    page.get_by_role("button", name="Afficher").click()
    expect(page.get_by_role("heading", level=2).first).to_contain_text(str(quarter.start.year))
    expect(page.get_by_role("table", name="Occupation par équipement")).to_contain_text("Poste CAO")
    check_page(page, "platform-statistics")
    _shoot(page, "platform-statistics")
