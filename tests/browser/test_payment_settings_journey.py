"""Every setting on a page, in Chromium (issue 20, item 5): the manager of the Fablab prices the
laser cutter for citizens, offers them only the card (not set up here), so Camille, who holds
the laser training, is offered no way to pay; the manager then lets citizens pay on site, and
Camille books the laser cutter paying on site. Then the other settings pages: trainings, booking
rules and quotas, managers, API tokens, and the administrators' places, organisations and rate
requests.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from kernel.db import Database
from kernel.settings import Settings
from tests.browser.support import LiveServer, PageChecker
from tests.support.accounts import make_organisation, make_user, stored_hash
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


def _make_admin(server: LiveServer) -> tuple[str, str]:
    """A platform administrator and a person to name manager, on the served database (in a
    thread: Playwright's loop owns this one)."""
    email = f"admin-{server.backend}@example.fr"
    manager = f"gerante-{server.backend}@example.fr"

    async def make() -> None:
        settings = Settings(database_url=server.database_url, database_pool_size=2)
        database = Database.from_settings(settings)
        try:
            await make_user(database, email, admin=True, password_hash=stored_hash(PASSWORD))
            await make_user(database, manager)
            await make_organisation(database, "Collège Le Goffic", verified=False)
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, make()).result()
    return email, manager


def test_a_manager_sets_trainings_rules_and_sees_the_managers(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town
    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}")
    menu = page.get_by_role("navigation", name="Rubriques de la gestion")

    menu.get_by_role("link", name="Formations", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Formations")
    page.get_by_label("Nom de la formation").fill("Impression 3D")
    page.get_by_label("Valable pendant (jours)").fill("730")
    page.locator("#resource_ids").get_by_label("Poste CAO").check()
    page.get_by_role("button", name="Ajouter la formation").click()
    expect(page.get_by_role("status")).to_have_text("La formation est ajoutée.")
    expect(page.get_by_role("heading", level=2, name="Impression 3D")).to_be_visible()
    check_page(page, "settings-trainings")
    # The seats need no training in the other journeys: unlinked again.
    trained = page.get_by_role("group", name="Équipements qui exigent « Impression 3D »")
    trained.get_by_label("Poste CAO").uncheck()
    page.get_by_role("button", name="Enregistrer les équipements de « Impression 3D »").click()
    expect(page.get_by_role("status")).to_have_text(
        "Les équipements qui exigent la formation sont enregistrés."
    )

    menu.get_by_role("link", name="Conditions d'annulation").click()
    page.get_by_label("Heures par semaine \u2013 Étudiant").fill("12")
    page.get_by_role("button", name="Enregistrer les règles de réservation").click()
    expect(page.get_by_role("status")).to_have_text("Les règles de réservation sont enregistrées.")
    expect(page.get_by_label("Heures par semaine \u2013 Étudiant")).to_have_value("12")
    check_page(page, "settings-rules")
    page.get_by_label("Jours à l'avance, au plus \u2013 Particulier").fill("demain")
    page.get_by_role("button", name="Enregistrer les règles de réservation").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez un nombre entier de jours")
    check_page(page, "settings-rules-error")

    menu.get_by_role("link", name="Gestionnaires").click()
    expect(page.get_by_text(town.manager_email)).to_be_visible()
    check_page(page, "settings-managers")

    page.goto("/account")
    page.get_by_role("link", name="Mes jetons d'API").click()
    page.get_by_label("Nom du jeton").fill("Tableau de bord")
    page.get_by_role("button", name="Créer le jeton").click()
    expect(page.get_by_label("Valeur du jeton")).not_to_have_value("")
    check_page(page, "settings-token-created")
    page.get_by_role("button", name="Révoquer \u2013 Tableau de bord").click()
    expect(page.get_by_role("status")).to_have_text("Le jeton est révoqué : il ne fonctionne plus.")
    check_page(page, "settings-tokens")


def test_an_admin_adds_a_place_and_verifies_an_organisation(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    admin, manager = _make_admin(server)
    _log_in(page, admin)
    page.goto("/manage")
    page.get_by_role("link", name="Ajouter un lieu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter un lieu")
    check_page(page, "settings-admin-place")
    # Far from the town's places, and managed by nobody of the other journeys.
    page.get_by_label("Nom", exact=True).fill(f"Tiers-lieu de Colmar {server.backend}")
    page.get_by_label("Adresse", exact=True).fill("1 place de la Cathédrale")
    page.get_by_label("Code postal").fill("68000")
    page.get_by_label("Commune").fill("Colmar")
    page.get_by_label("Géré par").fill("Ville de Colmar")
    page.get_by_label("Adresse e-mail de son premier gestionnaire").fill(manager)
    page.get_by_role("button", name="Ajouter le lieu").click()
    expect(page.get_by_role("status")).to_have_text(
        "Le lieu est ajouté : nommez ses gestionnaires ici."
    )
    expect(page.get_by_text(manager)).to_be_visible()
    check_page(page, "settings-admin-managers")

    page.goto("/manage")
    page.get_by_role("link", name="Valider les organisations").click()
    organisation = page.get_by_role("listitem").filter(has_text="Collège Le Goffic")
    expect(organisation).to_contain_text("non validée")
    check_page(page, "settings-admin-organisations")
    organisation.get_by_role("button", name="Valider \u2013 Collège Le Goffic").click()
    expect(page.get_by_role("status")).to_contain_text("L'organisation est validée")
    expect(organisation).to_contain_text("validée partout le")

    page.goto("/manage/admin/rate-requests")
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes de tarif")
    check_page(page, "settings-admin-rate-requests")
