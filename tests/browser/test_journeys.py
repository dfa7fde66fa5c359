"""The journeys of this slice, in Chromium.

Each page visited is checked by axe-core (nothing serious or critical), must not scroll
sideways at 360 px, and is photographed on demand at 360 and 1280 px (tests/artifacts/browser/).
The seeded booking stays as it is (other journeys count on it): the one cancelled here is made
for that journey alone.
"""

from __future__ import annotations

import re
from datetime import time

from playwright.sync_api import Page, expect

from kernel.db import Database
from tests.browser.support import LiveServer, PageChecker, mailed_link, on_served_database
from tests.web.seed import PASSWORD, citizen_books_seats


def _log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_keyboard_users_skip_to_the_content_and_always_see_the_focus(
    page: Page, server: LiveServer
) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate(
        "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    )
    assert outline == "solid 3px"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the first link of the content... or the search field
    focused = page.evaluate("() => document.activeElement.id || document.activeElement.tagName")
    assert focused == "town"
    width = page.evaluate("() => getComputedStyle(document.activeElement).outlineWidth")
    assert width == "3px"


def test_a_citizen_finds_a_place_and_its_free_times(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    page.goto("/")
    expect(page).to_have_title(re.compile("Trouver un lieu"))
    check_page(page, "home")
    page.get_by_label("Commune").fill("Lannion")
    page.get_by_label("Type d'équipement").select_option("software_seats")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("1 lieu"))).to_be_visible()
    check_page(page, "search")

    # exact: once a manager has placed it on the map, its OpenStreetMap link names it too.
    page.get_by_role("link", name="Fablab du Trégor", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fablab du Trégor")
    expect(page.get_by_role("row", name=re.compile("Dimanche"))).to_contain_text("Fermé")
    expect(page.get_by_text("fermé (Inventaire)")).to_be_visible()
    check_page(page, "place")

    page.get_by_role("link", name="Poste CAO").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Poste CAO")
    expect(page.get_by_text("9 libres")).to_be_visible()  # 3 of 12 seats booked that hour
    check_page(page, "resource")
    page.get_by_role("link", name="7 jours suivants").click()
    expect(page).to_have_url(re.compile(r"/resources/\d+\?from=\d{4}-\d{2}-\d{2}$"))
    expect(page.get_by_role("link", name="7 jours précédents")).to_be_visible()

    page.goto(f"/resources/{server.town.laser_id}")
    expect(page.get_by_text("Sécurité laser")).to_be_visible()
    check_page(page, "resource-training")


def test_signing_up_with_a_mistake_then_logging_out_and_in(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    page.goto("/")
    page.get_by_role("link", name="Créer un compte").first.click()
    # The click only starts the navigation: the check must wait for the new page.
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un compte")
    check_page(page, "signup")
    page.get_by_label("Votre nom").fill("Alex Durand")
    page.get_by_label("Adresse e-mail").fill("alex@example.fr")
    page.get_by_label("Mot de passe").fill("court")
    page.get_by_label("Tarif réduit").select_option("student")
    page.get_by_role("button", name="Créer mon compte").click()

    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()  # the summary takes the focus, screen readers read it
    expect(summary).to_contain_text("Il y a 1 erreur")
    expect(page).to_have_title(re.compile("^Erreur : "))
    expect(page.get_by_label("Adresse e-mail")).to_have_value("alex@example.fr")
    expect(page.get_by_label("Tarif réduit")).to_have_value("student")
    check_page(page, "signup-errors")
    summary.get_by_role("link").click()
    expect(page.get_by_label("Mot de passe")).to_be_focused()
    page.get_by_label("Mot de passe").fill("quartz-meadow-lantern-58")
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre boîte de réception")
    check_page(page, "signup-check-inbox")
    page.goto(mailed_link(server, "alex@example.fr", "account_verify", "/verify-email"))
    check_page(page, "verify-email")
    page.get_by_label("Mot de passe").fill("quartz-meadow-lantern-58")
    page.get_by_role("button", name="Confirmer mon adresse").click()

    expect(page).to_have_url(re.compile("/account"))
    expect(page.get_by_role("status")).to_contain_text("Votre adresse électronique est confirmée")
    expect(page.get_by_text("Demandé : Étudiant")).to_be_visible()
    page.get_by_role("button", name="Se déconnecter", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Déconnexion effectuée.")

    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    check_page(page, "login")
    _log_in(page, "alex@example.fr", "wrong-password-000")
    expect(page.get_by_role("alert")).to_contain_text("L'adresse e-mail ou le mot de passe")
    expect(page.get_by_label("Adresse e-mail")).to_have_value("alex@example.fr")
    check_page(page, "login-errors")
    page.get_by_label("Mot de passe").fill("quartz-meadow-lantern-58")
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")


def test_switching_to_english_and_back(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    page.goto(f"/places/{server.town.place_id}")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Opening hours")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/places/{server.town.place_id}$"))
    check_page(page, "place-en")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")


def test_a_manager_corrects_then_saves_opening_hours(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    page.goto("/login")
    _log_in(page, server.town.manager_email)
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Gestion"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gestion")
    expect(page.get_by_text("Médiathèque des Capucins")).to_have_count(0)  # not theirs
    check_page(page, "manage")

    page.get_by_role("link", name=re.compile("Modifier les horaires d'ouverture")).click()
    monday = page.get_by_role("group", name="Lundi")
    expect(monday.get_by_label("Plage 1 : ouverture à")).to_have_value("09:00")
    check_page(page, "hours")
    monday.get_by_label("fermeture à (plage 1)").fill("08:00")
    page.get_by_role("button", name="Enregistrer les horaires").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "L'heure de fermeture doit suivre l'heure d'ouverture."
    )
    expect(
        page.get_by_role("group", name="Lundi").get_by_label("fermeture à (plage 1)")
    ).to_have_value("08:00")
    check_page(page, "hours-errors")
    page.get_by_role("group", name="Lundi").get_by_label("fermeture à (plage 1)").fill("12:00")
    page.get_by_role("button", name="Enregistrer les horaires").click()
    expect(page.get_by_role("status")).to_have_text("Les horaires d'ouverture sont enregistrés.")

    page.goto(f"/places/{server.town.place_id}")
    expect(page.get_by_role("row", name=re.compile("Lundi"))).to_contain_text("09:00\u201312:00")


def test_a_citizen_cancels_a_booking(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town

    async def book(database: Database) -> str:
        booking = await citizen_books_seats(database, town, town.booking_day, (time(16), time(17)))
        return booking.reference

    reference = on_served_database(server, book)
    page.goto("/login")
    _log_in(page, town.citizen_email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    check_page(page, "account")
    page.get_by_role("link", name="Mes réservations", exact=True).click()
    booking = page.get_by_role("listitem").filter(has_text=reference)
    expect(booking).to_contain_text("Confirmée")
    check_page(page, "bookings")
    booking.get_by_role("link", name=f"Annuler {reference}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    check_page(page, "cancel")
    page.get_by_label("Motif").fill("Sortie scolaire déplacée")
    page.get_by_role("button", name="Annuler cette réservation").click()
    expect(page.get_by_role("status")).to_have_text("Votre réservation est annulée.")
    expect(page.get_by_role("listitem").filter(has_text=reference)).to_contain_text("Annulée")
