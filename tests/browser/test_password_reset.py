"""A forgotten password in Chromium: ask for a link, read the mail, choose a new password.

Issue 17 ("password reset works end to end in the browser tests"): the mail is read from the
outbox of the served database, as its recipient would open it.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer, PageChecker, mailed_link

OLD_PASSWORD = "quartz-meadow-lantern-58"
NEW_PASSWORD = "heron-violet-bakery-94"


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def _create_account(page: Page, server: LiveServer, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Votre nom").fill("Nolwenn Le Goff")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(OLD_PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.goto(mailed_link(server, email, "account_verify", "/verify-email"))
    page.get_by_label("Mot de passe").fill(OLD_PASSWORD)
    page.get_by_role("button", name="Confirmer mon adresse").click()
    expect(page).to_have_url(re.compile("/account"))
    page.get_by_role("button", name="Se déconnecter", exact=True).click()


def test_a_forgotten_password_is_reset_from_the_mailed_link(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    email = f"nolwenn-{server.backend}@example.fr"
    _create_account(page, server, email)

    page.goto("/login")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mot de passe oublié ?")
    check_page(page, "forgot-password")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_role("button", name="M'envoyer un lien").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre boîte de réception")
    expect(page.get_by_text("Si un compte utilise cette adresse")).to_be_visible()
    check_page(page, "forgot-password-sent")

    link = mailed_link(server, email, "account_password_reset", "/reset-password")
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisir un nouveau mot de passe")
    check_page(page, "reset-password")
    page.get_by_label("Nouveau mot de passe").fill("court")
    page.get_by_role("button", name="Enregistrer mon nouveau mot de passe").click()
    expect(page.get_by_role("alert")).to_contain_text("Il y a 1 erreur")
    page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer mon nouveau mot de passe").click()

    expect(page).to_have_url(re.compile("/account"))
    expect(page.get_by_role("status")).to_contain_text("Votre nouveau mot de passe est enregistré")
    expect(page.get_by_text(email)).to_be_visible()
    page.get_by_role("button", name="Se déconnecter", exact=True).click()

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce lien a déjà servi")
    check_page(page, "reset-link-used")
    # The old password is refused, the new one lets in.
    _log_in(page, email, OLD_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("L'adresse e-mail ou le mot de passe")
    _log_in(page, email, NEW_PASSWORD)
    expect(page).to_have_url(re.compile("/account"))
