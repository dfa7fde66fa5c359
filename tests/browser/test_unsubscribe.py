"""The reminders' unsubscribe link in Chromium, for a person signed in (so the form carries its
CSRF token): the page asks, the button turns reminders off; both pages pass axe-core."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Page, expect

from kernel.settings import Settings
from notifications.unsubscribe import PATH, unsubscribe_token
from tests.browser.support import LiveServer, PageChecker
from tests.support.mailbox import TEST_SECRET_KEY
from tests.web.seed import PASSWORD

# The live server's secret (tests/browser/conftest.py), which signs the links it mails.
SERVER_SECRET = TEST_SECRET_KEY  # the live server's (tests/browser/conftest.py)


def test_a_signed_in_person_turns_reminders_off_from_the_link(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(server.town.citizen_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    token = unsubscribe_token(Settings(secret_key=SERVER_SECRET), server.town.citizen_id)

    page.goto(f"{PATH}?token={quote(token)}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ne plus recevoir les rappels")
    check_page(page, "unsubscribe")
    page.get_by_role("button", name="Ne plus recevoir les rappels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rappels désactivés")
    check_page(page, "unsubscribed")
