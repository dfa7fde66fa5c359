"""One invoice for the month in Chromium: the place invoices schools per purchase order and
calendar month, on the first day of the next month; a teacher books the classroom and 12 seats
every Tuesday of February, the February holidays of the place's zone (Morlaix: zone B) skipped.
The series' page says how it will be invoiced; on 1 March the workers' job issues one invoice
for February, shown on the series' page, on "Mes réservations" under each date, and as its
printable page, with the sessions' French dates, hours as "2 h", the due date 30 days after
issue and the seller's VAT number.

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
from playwright.sync_api import Page, expect

from billing import grouped_job
from billing.invoice_periods import french_date
from billing.prices import PriceService
from billing.repository import BillingRepository
from billing.schemas import BillingSettingsWrite
from kernel.db import Database
from kernel.settings import Settings
from resources.repository import CatalogueRepository
from resources.school_holidays import holidays
from resources.service import CatalogueService
from tests.browser.support import LiveServer, PageChecker
from tests.support.apps import runtime_on
from tests.web.school import PER_DATE_CENTS, School, seed_school
from tests.web.seed import ADMIN, PARIS, PASSWORD

PO = "BC-2027-0301"
TUESDAY = 1
VAT_NUMBER = "FR40732829320"


@dataclass(frozen=True)
class February:
    """The school's world and the Tuesdays of the next February, those in holidays apart."""

    school: School
    tuesdays: list[date]
    holiday_tuesdays: list[date]


async def _seed(database_url: str) -> February:
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    now = datetime.now(UTC)
    try:
        school = await seed_school(database, now, slug="tiers-lieu-factures")
        async with database.writer() as session, session.begin():
            prices = PriceService(
                BillingRepository(session),
                CatalogueService(CatalogueRepository(session)),
                card_available=False,
            )
            await prices.set_settings(
                ADMIN,
                school.place_id,
                BillingSettingsWrite(
                    invoice_prefix="TLF",
                    seller_vat_number=VAT_NUMBER,
                    payment_methods={"school": ["invoice"], "*": ["on_site"]},
                    refund_tiers=[],
                    payment_terms_days=30,
                    invoice_period="month",
                    invoice_issue="period_end",
                ),
                now,
            )
        today = now.astimezone(PARIS).date()
        year = today.year + (1 if today.month >= 2 else 0)
        first = date(year, 2, 1) + timedelta(days=(TUESDAY - date(year, 2, 1).weekday()) % 7)
        tuesdays = [
            first + timedelta(weeks=n) for n in range(5) if (first + timedelta(weeks=n)).month == 2
        ]
        winter = [h for h in holidays("B", tuesdays[0], tuesdays[-1]) if h.first.month == 2]
        skipped = [d for d in tuesdays for h in winter if h.first <= d <= h.last]
        return February(school, tuesdays, skipped)
    finally:
        await database.dispose()


_seeded: dict[str, February] = {}


async def _first_of_march(database_url: str, year: int) -> list[str]:
    """The workers' grouped-invoice job, run as on 1 March at 00:23 in Paris."""
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        async with runtime_on(database, lambda: datetime(year, 3, 1, 0, 23, tzinfo=PARIS)) as rt:
            report = await grouped_job.issue_due_invoices(rt.billing)
        return report.issued
    finally:
        await database.dispose()


@pytest.fixture
def february(server: LiveServer) -> February:
    """The February world in the served database, seeded once per database."""
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


def test_a_teacher_books_a_term_skipping_the_february_holidays_and_gets_one_invoice(
    page: Page, server: LiveServer, february: February, check_page: PageChecker
) -> None:
    school = february.school
    booked = [d for d in february.tuesdays if d not in february.holiday_tuesdays]
    assert february.holiday_tuesdays and len(booked) >= 2
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(school.teacher_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))

    page.goto(f"/resources/{school.room_id}/series")
    expect(page.get_by_label("Sauter les vacances scolaires (zone B)")).to_be_checked()
    page.get_by_label("Jour de la semaine").select_option(label="Mardi")
    page.get_by_label("Premier jour de la période").fill(february.tuesdays[0].isoformat())
    page.get_by_label("Dernier jour de la période").fill(february.tuesdays[-1].isoformat())
    page.get_by_label("Heure de début").fill("14:00")
    page.get_by_label("Heure de fin").fill("16:00")
    page.get_by_label(re.compile(r"^Postes")).select_option(str(school.seats_id))
    page.get_by_label("Nombre de postes").fill("12")
    page.get_by_role("button", name="Voir les semaines").click()
    weeks = page.get_by_role("table", name="Chaque semaine de la période")
    expect(weeks.locator("tr.week-free")).to_have_count(len(booked))
    page.get_by_label("Numéro de bon de commande").fill(PO)
    page.get_by_role("button", name=f"Confirmer {len(booked)} semaines").click()

    # The series says how it will be invoiced; nothing is issued before the month is over.
    expect(page.get_by_role("heading", level=1)).to_have_text("Réservation hebdomadaire")
    rule = page.locator(".invoicing-rule")
    expect(rule).to_have_text(
        "Une facture par bon de commande et par mois, émise le 1er du mois suivant ; "
        "payable 30 jours après son émission."
    )
    expect(page.get_by_text("Aucune facture émise pour l'instant.")).to_be_visible()
    expect(page.get_by_text("Sur la facture de la période, à venir")).to_have_count(len(booked))
    _shoot(page, check_page, "grouped-invoice-series-before")

    year = february.tuesdays[0].year
    with ThreadPoolExecutor(max_workers=1) as pool:
        issued = pool.submit(asyncio.run, _first_of_march(server.database_url, year)).result()
    number = f"TLF-{year}-000001"
    assert issued == [number]
    page.reload()

    # One invoice for February, named in the invoices and beside each date.
    invoices = page.locator(".grouped-invoices li")
    expect(invoices).to_have_count(1)
    expect(invoices).to_contain_text(f"Facture {number}")
    expect(invoices).to_contain_text(f"février {year}, {len(booked)} séances")
    due = date(year, 3, 31)
    expect(invoices).to_contain_text(f"à payer au plus tard le {french_date(due)}")
    links = page.get_by_role("link", name=f"Facture {number}", exact=True)
    expect(links).to_have_count(1 + len(booked))  # the invoices, then each booked date
    _shoot(page, check_page, "grouped-invoice-series")

    page.goto("/account/bookings")
    total = len(booked) * PER_DATE_CENTS
    listed = (
        f"Facture {number} (février {year}, {len(booked)} séances, {total // 100},{total % 100:02d}"
    )
    expect(page.get_by_text(listed)).to_have_count(len(booked))
    _shoot(page, check_page, "grouped-invoice-my-bookings")

    page.go_back()
    page.get_by_role("link", name=f"Facture {number}", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Facture n° {number}")
    expect(page.get_by_text(f"Période facturée : février {year}")).to_be_visible()
    expect(page.get_by_text(PO).first).to_be_visible()
    for day in booked:
        expect(
            page.get_by_text(f"{french_date(day)}, 14:00\u201316:00 — Salle de classe")
        ).to_be_visible()
    for day in february.holiday_tuesdays:
        expect(page.locator("body")).not_to_contain_text(french_date(day))
    expect(page.locator("td", has_text=re.compile(r"^2 h$")).first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("2.00")
    expect(
        page.get_by_text(f"Date d'émission : 01/03/{year} — Date d'échéance : 31/03/{year}")
    ).to_be_visible()
    expect(page.get_by_text(f"TVA intracommunautaire {VAT_NUMBER}")).to_be_visible()
    _shoot(page, check_page, "grouped-invoice-page")


def test_a_manager_groups_the_place_s_invoices_per_month(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(town.manager_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/manage/places/{town.place_id}/invoices")
    expect(page.get_by_role("heading", name="Facturation du lieu")).to_be_visible()
    page.get_by_label("Ce que couvre une facture").select_option(
        label="Par bon de commande et par mois"
    )
    page.get_by_label("Quand les factures sont émises").select_option("period_end")
    page.get_by_label("Délai de paiement (jours après l'émission de la facture)").fill("45")
    page.get_by_label(re.compile("^Numéro de TVA intracommunautaire du lieu")).fill(VAT_NUMBER)
    _shoot(page, check_page, "grouped-invoice-settings")
    page.get_by_role("button", name="Enregistrer la facturation").click()
    expect(page.get_by_text("La facturation du lieu est enregistrée.")).to_be_visible()
    expect(
        page.get_by_label("Délai de paiement (jours après l'émission de la facture)")
    ).to_have_value("45")
    expect(page.get_by_label("Quand les factures sont émises")).to_have_value("period_end")
