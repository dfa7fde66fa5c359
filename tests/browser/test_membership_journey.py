"""Memberships in Chromium, axe-checked: the Médiathèque's manager adds a yearly plan with
hours of equipment included; Camille finds it from the place's page, joins (to pay on site),
sees it on her memberships page, and the manager sees her among the members; Camille then
cancels it at the end of its period. Nothing is paid here: the other journeys count invoices."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer, PageChecker
from tests.web.seed import PASSWORD


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Déconnexion effectuée.")


def test_a_manager_offers_a_plan_and_a_citizen_joins_then_cancels_it(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town
    _log_in(page, town.other_manager_email)
    page.goto(f"/manage/places/{town.other_place_id}")
    menu = page.get_by_role("navigation", name="Rubriques de la gestion")
    menu.get_by_role("link", name="Adhésions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adhésions")
    page.get_by_role("button", name="Ajouter la formule").click()
    expect(page.get_by_role("alert")).to_contain_text("Nommez la formule")
    check_page(page, "plans-errors")
    page.get_by_label("Nom de la formule").fill("Carte lecteur-maker")
    page.get_by_label("Période", exact=True).select_option(
        label="Un an à partir du jour de l'adhésion"
    )
    page.get_by_label("Prix par période, hors taxes (€)").fill("15,00")
    page.get_by_label("Heures incluses par période").fill("6")
    page.get_by_label("Équipement des heures incluses").select_option(
        label="Machines (imprimantes 3D, découpeuses laser…)"
    )
    page.get_by_label("Donne accès aux équipements réservés aux adhérents").check()
    page.get_by_role("button", name="Ajouter la formule").click()
    expect(page.get_by_role("status")).to_have_text("La formule est ajoutée.")
    expect(page.get_by_role("heading", name="Carte lecteur-maker")).to_be_visible()
    check_page(page, "plans-manager")
    _log_out(page)

    _log_in(page, town.citizen_email)
    page.goto(f"/places/{town.other_place_id}")
    page.get_by_role("link", name="Les adhésions de ce lieu").click()
    expect(page.get_by_role("heading", name="Carte lecteur-maker")).to_be_visible()
    check_page(page, "plans-public")
    # Other journeys may offer their own plans here: this one's card holds its form.
    offered = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Carte lecteur-maker")
    )
    offered.get_by_label("La renouveler à la fin de chaque période").check()
    offered.get_by_role("button", name="Adhérer").click()
    expect(page.get_by_role("status")).to_have_text(
        "Vous êtes adhérent. Réglez la période comme indiqué ci-dessous."
    )
    held = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", level=2, name=re.compile("Carte lecteur-maker"))
    )
    expect(held.locator("td", has_text="à payer sur place")).to_contain_text("18,00")
    check_page(page, "memberships-mine")
    _log_out(page)

    _log_in(page, town.other_manager_email)
    page.goto(f"/manage/places/{town.other_place_id}/plans")
    row = page.get_by_role("row", name=re.compile("Carte lecteur-maker"))
    expect(row).to_contain_text("à payer sur place")
    expect(row.get_by_role("button", name=re.compile("Sommes encaissées"))).to_be_visible()
    check_page(page, "plans-members")
    _log_out(page)

    _log_in(page, town.citizen_email)
    page.goto("/account/memberships")
    held.get_by_role("button", name=re.compile("Résilier à la fin de la période")).click()
    expect(page.get_by_role("status")).to_have_text(
        "L'adhésion est résiliée : elle se termine avec sa période."
    )
    expect(held.locator(".tag", has_text="résiliée")).to_be_visible()
    check_page(page, "memberships-cancelled")
