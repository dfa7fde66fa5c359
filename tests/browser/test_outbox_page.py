"""The outbox in Chromium: an administrator reads the e-mails sent, the HTML one in a sandboxed
frame, a password reset's body withheld. Each page is checked by axe-core."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from kernel.db import Database
from kernel.settings import Settings
from tests.browser.support import LiveServer, PageChecker
from tests.notifications.support import queued_message
from tests.support.accounts import make_user, stored_hash
from tests.web.seed import PASSWORD

ADMIN_EMAIL = "outbox-admin@example.org"
_seeded: dict[str, tuple[int, int]] = {}


async def _seed(database_url: str) -> tuple[int, int]:
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        await make_user(database, ADMIN_EMAIL, admin=True, password_hash=stored_hash(PASSWORD))
        shown = await queued_message(
            database, key="browser:shown", to="camille@example.org", language="fr"
        )
        secret = await queued_message(
            database,
            key="browser:secret",
            to="dominique@example.org",
            sensitive=True,
            attachments=[],
            context={"instance": "Mutualab", "requested_by": "token-5c4b3a"},
        )
        return shown, secret
    finally:
        await database.dispose()


@pytest.fixture
def messages(server: LiveServer) -> tuple[int, int]:
    """An administrator, a message with an attachment and a sensitive one, seeded once."""
    if server.backend not in _seeded:
        # In a thread of its own: Playwright's event loop owns this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            _seeded[server.backend] = pool.submit(asyncio.run, _seed(server.database_url)).result()
    return _seeded[server.backend]


def test_an_administrator_reads_the_outbox(
    page: Page, messages: tuple[int, int], check_page: PageChecker
) -> None:
    shown, secret = messages
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))
    page.get_by_role("link", name="Gestion", exact=True).click()
    page.get_by_role("link", name=re.compile("^Boîte d'envoi")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Boîte d'envoi")
    check_page(page, "outbox")

    page.locator(f'a[href="/manage/outbox/{shown}"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message d'essai de Mutualab")
    expect(page.get_by_text("camille@example.org")).to_be_visible()
    frame = page.frame_locator("iframe[title='Version HTML du message']")
    expect(frame.get_by_role("heading", name="Message d'essai")).to_be_visible()
    expect(page.get_by_role("link", name="reservation.ics")).to_be_visible()
    check_page(page, "outbox-message")

    page.goto(f"/manage/outbox/{secret}")
    expect(page.get_by_text("Ce message contient un lien personnel")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("token-5c4b3a")
    check_page(page, "outbox-sensitive")
