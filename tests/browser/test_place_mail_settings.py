"""A manager sets the reminder lead and the sender of their place's e-mails in its details form
(Chromium, checked by axe-core)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer, PageChecker
from tests.web.seed import PASSWORD


def test_a_manager_sets_the_reminder_lead_and_the_sender_of_the_place(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(server.town.manager_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto(f"/manage/places/{server.town.place_id}/details")
    lead = page.get_by_label("Rappel avant une réservation, en heures")
    sender = page.get_by_label("Adresse d'expédition des e-mails du lieu")
    lead.fill("400")
    sender.fill("pas-une-adresse")
    page.get_by_role("button", name="Enregistrer les informations").click()
    expect(page.get_by_text("Indiquez un nombre d'heures de 0 à 336.").first).to_be_visible()
    check_page(page, "place details with errors")

    lead.fill("48")
    sender.fill("fablab@tregor.example")
    page.get_by_role("button", name="Enregistrer les informations").click()
    expect(page.get_by_text("Les informations du lieu sont enregistrées.")).to_be_visible()
    page.goto(f"/manage/places/{server.town.place_id}/details")
    expect(lead).to_have_value("48")
    expect(sender).to_have_value("fablab@tregor.example")
    check_page(page, "place details")
    # Put back what the other tests of this server expect.
    lead.fill("24")
    sender.fill("")
    page.get_by_role("button", name="Enregistrer les informations").click()
    expect(page.get_by_text("Les informations du lieu sont enregistrées.")).to_be_visible()
