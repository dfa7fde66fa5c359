"""The school journey in Chromium: a teacher books a classroom and
12 seats every Tuesday of a term, sees the weeks that conflict, gives the purchase order, pays
on invoice and finds the invoices on the series' page.

Each page visited is checked by axe-core (nothing serious or critical), must not scroll
sideways at 360 px, and is photographed on demand at 360 and 1280 px (tests/artifacts/browser/).
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from babel.dates import format_date
from playwright.sync_api import Page, expect

from kernel.db import Database
from kernel.settings import Settings
from mutualab.web.rendering import upper_first
from tests.browser.support import LiveServer, PageChecker
from tests.web.school import SCHOOL_NAME, School, seed_school
from tests.web.seed import PASSWORD

PO = "BC-2026-0457"
_seeded: dict[str, School] = {}


async def _seed(database_url: str) -> School:
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        return await seed_school(database, datetime.now(UTC))
    finally:
        await database.dispose()


@pytest.fixture
def school(server: LiveServer) -> School:
    """The school's world in the served database, seeded once per database."""
    if server.backend not in _seeded:
        # In a thread of its own: Playwright's event loop owns this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            _seeded[server.backend] = pool.submit(asyncio.run, _seed(server.database_url)).result()
    return _seeded[server.backend]


def _day(school: School, index: int) -> str:
    """A Tuesday of the term as the pages write it: ``Mardi 8 décembre 2026``."""
    return upper_first(format_date(school.tuesdays[index], "full", locale="fr_FR"))


def test_a_teacher_books_a_term_of_tuesdays_on_a_purchase_order(
    page: Page, server: LiveServer, school: School, check_page: PageChecker
) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(school.teacher_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))

    page.goto(f"/resources/{school.room_id}")
    page.get_by_role(
        "link", name="Réserver chaque semaine pour votre organisation (une classe, un club)"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Réserver Salle de classe chaque semaine"
    )
    expect(page.get_by_label("Réserver pour")).to_have_value(str(school.organisation_id))
    check_page(page, "school-series-form")

    # This journey is about conflicts: the term's weeks are all kept, holidays or not
    # (tests/browser/test_term_journey.py skips them).
    page.get_by_label("Sauter les vacances scolaires (zone B)").uncheck()
    page.get_by_label("Jour de la semaine").select_option(label="Mardi")
    page.get_by_label("Premier jour de la période").fill(school.tuesdays[0].isoformat())
    page.get_by_label("Dernier jour de la période").fill(school.tuesdays[-1].isoformat())
    page.get_by_label("Heure de début").fill("14:00")
    page.get_by_label("Heure de fin").fill("16:00")
    page.get_by_label(re.compile(r"^Postes")).select_option(str(school.seats_id))
    page.get_by_label("Nombre de postes").fill("12")
    page.get_by_label("Note pour l'équipe du lieu").fill("4e B")
    page.get_by_role("button", name="Voir les semaines").click()

    expect(page.get_by_role("heading", name="Vos semaines")).to_be_visible()
    expect(
        page.get_by_text("3 semaines peuvent être réservées, 3 semaines sont en conflit")
    ).to_be_visible()
    weeks = page.get_by_role("table", name="Chaque semaine de la période")
    expect(weeks.get_by_role("row", name=re.compile(_day(school, 1)))).to_contain_text(
        "Le lieu est fermé"
    )
    expect(weeks.get_by_role("row", name=re.compile(_day(school, 2)))).to_contain_text(
        "Salle de classe est déjà réservé"
    )
    expect(weeks.get_by_role("row", name=re.compile(_day(school, 3)))).to_contain_text(
        "Pas assez de places libres"
    )
    expect(weeks.get_by_role("row", name=re.compile(_day(school, 0)))).to_contain_text("108,30")
    expect(page.get_by_text("324,90")).to_be_visible()
    check_page(page, "school-series-preview")

    # Confirming without the purchase order: the error is next to its field.
    page.get_by_role("button", name="Confirmer 3 semaines").click()
    field = page.get_by_label("Numéro de bon de commande")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("bon de commande")
    check_page(page, "school-series-po-missing")

    expect(page.get_by_label("Sur facture (bon de commande)")).to_be_checked()
    field.fill(PO)
    page.get_by_role("button", name="Confirmer 3 semaines").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Réservation hebdomadaire")
    expect(page.get_by_text(SCHOOL_NAME)).to_be_visible()
    expect(page.get_by_role("heading", name="3 dates réservées")).to_be_visible()
    dates = page.get_by_role("table")
    for index in (0, 4, 5):
        expect(dates).to_contain_text(_day(school, index))
    invoices = page.get_by_role("link", name=re.compile(r"^Facture TLM-\d{4}-\d{6}$"))
    expect(invoices).to_have_count(3)
    expect(page.get_by_text(f"BC {PO}").first).to_be_visible()
    expect(page.get_by_role("heading", name="3 dates écartées")).to_be_visible()
    check_page(page, "school-series-summary")

    invoices.first.click()
    expect(page.get_by_text(PO).first).to_be_visible()
    expect(page.get_by_text(SCHOOL_NAME).first).to_be_visible()
