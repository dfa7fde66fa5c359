"""Every setting on a page, in Chromium (issue 20, item 5): the manager of the Fablab prices the
laser cutter for citizens, offers them only the card (not set up here), so Camille, who holds
the laser training, is offered no way to pay; the manager then lets citizens pay on site, and
Camille books the laser cutter paying on site.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer, PageChecker
from tests.web.seed import PASSWORD

PARIS = ZoneInfo("Europe/Paris")
BOOKED = "Votre réservation est confirmée. Gardez sa référence."


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Déconnexion effectuée.")


def _citizen_methods(page: Page, *, on_site: bool) -> None:
    """Tick the citizens' row: the card, and on site or not."""
    page.get_by_label("Par carte \u2013 Particulier").check()
    box = page.get_by_label("Sur place \u2013 Particulier")
    box.check() if on_site else box.uncheck()
    page.get_by_role("button", name="Enregistrer les moyens de paiement").click()
    expect(page.get_by_role("status")).to_have_text("Les moyens de paiement sont enregistrés.")


def _review_the_laser(page: Page, server: LiveServer) -> None:
    # Four weeks ahead: clear of what the other journeys book.
    first = (datetime.now(UTC).astimezone(PARIS) + timedelta(weeks=4)).date()
    page.goto(f"/resources/{server.town.laser_id}?from={first.isoformat()}")
    page.locator("#week .period-link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Réserver : Découpeuse laser")


def test_a_place_accepts_on_site_payment_for_citizens_and_a_citizen_books_a_priced_machine(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town
    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}")
    menu = page.get_by_role("navigation", name="Rubriques de la gestion")
    menu.get_by_role("link", name="Tarifs").click()
    page.get_by_label("Équipement concerné").select_option(label="Découpeuse laser")
    page.get_by_label("Tarif", exact=True).select_option(label="Particulier")
    page.get_by_label("Prix par heure, hors taxes (€)").fill("10,00")
    page.get_by_role("button", name="Enregistrer le tarif").click()
    expect(page.get_by_role("status")).to_have_text("Le tarif est enregistré.")

    menu.get_by_role("link", name="Moyens de paiement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Moyens de paiement")
    check_page(page, "settings-payments")
    _citizen_methods(page, on_site=False)
    _log_out(page)

    # The card only, and no card provider here: Camille cannot pay on site.
    _log_in(page, town.citizen_email)
    _review_the_laser(page, server)
    expect(page.get_by_label("Sur place, au lieu")).to_have_count(0)
    _log_out(page)

    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}/payments")
    _citizen_methods(page, on_site=True)
    expect(page.get_by_label("Sur place \u2013 Particulier")).to_be_checked()
    check_page(page, "settings-payments-saved")
    _log_out(page)

    _log_in(page, town.citizen_email)
    _review_the_laser(page, server)
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("12,00")
    page.get_by_label("Sur place, au lieu").check()
    check_page(page, "settings-citizen-review")
    page.get_by_role("button", name="Confirmer la réservation").click()
    expect(page.get_by_role("status")).to_have_text(BOOKED)
    payment = page.locator("dd", has_text="Sur place, au lieu")
    expect(payment).to_contain_text("12,00\u00a0€")
    expect(payment).to_contain_text("à payer sur place")
    check_page(page, "settings-citizen-booked")
