"""The booking form books what is on screen, in Chromium (issue 19, item 2).

A citizen opens the review page of the meeting room (12 EUR an hour with VAT, paid on site or
on invoice), changes "Fin" and confirms at once. With JavaScript the quote follows the new time
without a reload and the new time is booked; without it, the confirmation re-quotes the new
time and asks again, and the next confirmation books it. Never the stale time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_citizen_journey import PARIS, _price_room, _sign_up

BOOKED = "Votre réservation est confirmée. Gardez sa référence."


@pytest.fixture
def page_without_js(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A fresh tab like ``page``'s, with JavaScript turned off."""
    context = browser.new_context(
        base_url=server.url,
        locale="fr-FR",
        viewport={"width": 1280, "height": 900},
        java_script_enabled=False,
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _review_a_free_time(page: Page, server: LiveServer, weeks_ahead: int) -> str:
    """Open the room's review page for its first free time ``weeks_ahead`` weeks from now."""
    first = (datetime.now(UTC).astimezone(PARIS) + timedelta(weeks=weeks_ahead)).date()
    page.goto(f"/resources/{server.town.room_id}?from={first.isoformat()}")
    page.locator("#week .period-link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Réserver : Salle de réunion")
    return page.get_by_label("Début").input_value()


def _an_hour_after(start: str) -> str:
    return f"{int(start[:2]) + 1:02d}{start[2:]}"


def test_with_javascript_the_quote_follows_the_time_and_the_shown_time_is_booked(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    _price_room(server, 1000)
    _sign_up(page, server, "Gaëlle Guégan", f"gaelle-{server.backend}@example.fr")
    start = _review_a_free_time(page, server, 2)
    end = _an_hour_after(start)
    page.evaluate("() => { window.stayedOnThePage = true; }")

    page.get_by_label("Fin").fill(end)
    # The quote of the new time replaces the old one, without a reload.
    chosen = page.locator("#chosen-slot")
    expect(chosen).to_contain_text(f"{start}\u2013{end}")
    expect(chosen).to_contain_text("12,00")
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("12,00")
    expect(page.locator("#shown-end")).to_have_value(end)
    assert page.evaluate("() => window.stayedOnThePage === true")
    expect(page).to_have_url(re.compile("end=" + end.replace(":", "(:|%3A)")))
    check_page(page, "booking-form-requoted")

    page.get_by_label("Sur place, au lieu").check()
    page.get_by_role("button", name="Confirmer la réservation").click()
    expect(page.get_by_role("status")).to_have_text(BOOKED)
    expect(page.locator("main")).to_contain_text(re.compile(rf"{start}\s*[\u2013-]\s*{end}"))
    expect(page.locator("dd", has_text="Sur place, au lieu")).to_contain_text("12,00\u00a0€")


def test_without_javascript_a_changed_time_is_re_quoted_and_asked_again(
    page_without_js: Page, server: LiveServer
) -> None:
    page = page_without_js
    _price_room(server, 1000)
    _sign_up(page, server, "Nolwenn Riou", f"riou-{server.backend}@example.fr")
    start = _review_a_free_time(page, server, 3)
    end = _an_hour_after(start)
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("6,00")

    page.get_by_label("Fin").fill(end)
    page.get_by_label("Sur place, au lieu").check()
    page.get_by_role("button", name="Confirmer la réservation").click()
    # Not booked: the new time's quote, and the question again.
    expect(page.locator("#problem")).to_contain_text("Vous avez changé l'horaire")
    expect(page.locator("#chosen-slot")).to_contain_text(f"{start}\u2013{end}")
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("12,00")
    expect(page.get_by_label("Fin")).to_have_value(end)
    expect(page.get_by_label("Sur place, au lieu")).to_be_checked()

    page.get_by_role("button", name="Confirmer la réservation").click()
    expect(page.get_by_role("status")).to_have_text(BOOKED)
    expect(page.locator("main")).to_contain_text(re.compile(rf"{start}\s*[\u2013-]\s*{end}"))
    expect(page.locator("dd", has_text="Sur place, au lieu")).to_contain_text("12,00\u00a0€")
