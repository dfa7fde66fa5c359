"""A whole term in Chromium: a teacher books the classroom and 12 seats every Tuesday of
February and March, skipping the February holidays of the place's zone (Morlaix: zone B); the
form states the booking horizon, the March Tuesdays beyond it are to be booked when it opens;
the series' page shows the purchase order, the invoices and the waiting dates, "My bookings"
leads to it, and it cancels from a date on.

Each page is checked by axe-core and photographed on demand at 360 and 1280 px
(tests/artifacts/browser/), and at 390 and 1280 px into ``MUTUALAB_SHOTS`` when set.
"""

from __future__ import annotations

import asyncio
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from playwright.sync_api import Page, expect

from kernel.db import Database
from kernel.settings import Settings
from resources.repository import CatalogueRepository
from resources.schemas import ResourceUpdate
from resources.school_holidays import holidays
from resources.service import CatalogueService
from tests.browser.support import LiveServer, PageChecker
from tests.web.school import School, seed_school
from tests.web.seed import ADMIN, PARIS, PASSWORD

PO = "BC-2027-0212"
TUESDAY = 1


@dataclass(frozen=True)
class Term:
    """The school's world and the term: February and March of the next February to come."""

    school: School
    tuesdays: list[date]
    holiday_tuesdays: list[date]
    horizon: date


def _term_dates(today: date) -> tuple[list[date], date]:
    year = today.year + (1 if today.month >= 2 else 0)
    first = date(year, 2, 1) + timedelta(days=(TUESDAY - date(year, 2, 1).weekday()) % 7)
    tuesdays = []
    day = first
    while day.month <= 3:
        tuesdays.append(day)
        day += timedelta(weeks=1)
    return tuesdays, date(year, 3, 1)


async def _seed(database_url: str) -> Term:
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    now = datetime.now(UTC)
    try:
        school = await seed_school(database, now, slug="tiers-lieu-trimestre")
        tuesdays, march = _term_dates(now.astimezone(PARIS).date())
        # The school may book until the end of February: March waits for the horizon.
        days = (march - now.astimezone(PARIS).date()).days
        async with database.writer() as session, session.begin():
            catalogue = CatalogueService(CatalogueRepository(session))
            for resource_id in (school.room_id, school.seats_id):
                await catalogue.update_resource(
                    ADMIN, resource_id, ResourceUpdate(max_advance_days=days)
                )
        winter = [h for h in holidays("B", tuesdays[0], tuesdays[-1]) if h.first.month == 2]
        skipped = [d for d in tuesdays for h in winter if h.first <= d <= h.last]
        return Term(school, tuesdays, skipped, march)
    finally:
        await database.dispose()


_seeded: dict[str, Term] = {}


@pytest.fixture
def term(server: LiveServer) -> Term:
    """The term's world in the served database, seeded once per database."""
    if server.backend not in _seeded:
        with ThreadPoolExecutor(max_workers=1) as pool:
            _seeded[server.backend] = pool.submit(asyncio.run, _seed(server.database_url)).result()
    return _seeded[server.backend]


def _shoot(page: Page, check_page: PageChecker, name: str) -> None:
    """axe and the suite's screenshots, plus 390 and 1280 px ones where MUTUALAB_SHOTS says."""
    check_page(page, name)
    folder = os.environ.get("MUTUALAB_SHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 900}
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(original)


def _french(day: date) -> str:
    """A date as the pages write it, without the weekday: ``2 février 2027``."""
    return format_date(day, "d MMMM y", locale="fr_FR")


def test_a_teacher_books_a_term_skipping_the_february_holidays(
    page: Page, server: LiveServer, term: Term, check_page: PageChecker
) -> None:
    school = term.school
    assert len(term.holiday_tuesdays) >= 1  # the zone B winter holidays cover a Tuesday
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(school.teacher_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))

    page.goto(f"/resources/{school.room_id}/series")
    horizon = page.locator("#horizon")
    expect(horizon).to_contain_text("Vous pouvez réserver jusqu'à")
    expect(horizon).to_contain_text(_french(term.horizon))
    holidays_box = page.get_by_label("Sauter les vacances scolaires (zone B)")
    expect(holidays_box).to_be_checked()
    page.get_by_label("Jour de la semaine").select_option(label="Mardi")
    page.get_by_label("Premier jour de la période").fill(term.tuesdays[0].isoformat())
    page.get_by_label("Dernier jour de la période").fill(term.tuesdays[-1].isoformat())
    page.get_by_label("Heure de début").fill("14:00")
    page.get_by_label("Heure de fin").fill("16:00")
    page.get_by_label(re.compile(r"^Postes")).select_option(str(school.seats_id))
    page.get_by_label("Nombre de postes").fill("12")
    _shoot(page, check_page, "term-form")
    page.get_by_role("button", name="Voir les semaines").click()

    expect(page.get_by_role("heading", name="Vos semaines")).to_be_visible()
    expect(page.get_by_text("Vacances d'hiver, du samedi")).to_be_visible()
    weeks = page.get_by_role("table", name="Chaque semaine de la période")
    february = [d for d in term.tuesdays if d.month == 2 and d not in term.holiday_tuesdays]
    march = [d for d in term.tuesdays if d.month == 3 and d not in term.holiday_tuesdays]
    expect(weeks.locator("tbody tr")).to_have_count(len(february) + len(march))
    for day in term.holiday_tuesdays:
        expect(weeks).not_to_contain_text(_french(day))
    expect(weeks.locator("tr.week-free")).to_have_count(len(february))
    expect(weeks.locator("tr.week-pending")).to_have_count(len(march))
    expect(weeks.locator("tr.week-pending").first).to_contain_text("À réserver à l'ouverture")
    expect(weeks).not_to_contain_text("Conflit")
    _shoot(page, check_page, "term-preview")

    page.get_by_label("Numéro de bon de commande").fill(PO)
    page.get_by_role("button", name=f"Confirmer {len(february) + len(march)} semaines").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Réservation hebdomadaire")
    expect(page.get_by_text(PO).first).to_be_visible()
    expect(page.get_by_role("heading", name=f"{len(february)} dates réservées")).to_be_visible()
    invoices = page.get_by_role("link", name=re.compile(r"^Facture TLM-\d{4}-\d{6}$"))
    expect(invoices).to_have_count(len(february))
    expect(
        page.get_by_role("heading", name=f"{len(march)} dates à réserver à l'ouverture")
    ).to_be_visible()
    series_url = page.url
    _shoot(page, check_page, "term-summary")

    page.goto("/account/bookings")
    page.get_by_role("link", name=re.compile("La série hebdomadaire")).first.click()
    expect(page).to_have_url(series_url)

    page.get_by_label("Annuler toutes les dates à partir du").select_option(march[0].isoformat())
    page.get_by_role("button", name="Annuler ces dates").click()
    expect(page).to_have_url(series_url)
    expect(page.get_by_role("heading", name=re.compile("à réserver à l'ouverture"))).to_have_count(
        0
    )
    _shoot(page, check_page, "term-cancelled")

    invoices.first.click()
    expect(page.get_by_text(PO).first).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"du \d\d/02/\d{4} 14:00\s+au\s+\d\d/02/\d{4} 16:00"))
    ).to_be_visible()
    expect(page.get_by_text("TVA intracommunautaire FR40732829320")).to_be_visible()
