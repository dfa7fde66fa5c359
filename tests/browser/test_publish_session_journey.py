"""A manager publishes a laser-cutter training from the back office, in Chromium (issue 22):
a form sent without a title shows the error next to the field; sent again, the training is
published with the laser cutter and is in the place's programme, public and back office.

Each page is checked by axe-core and photographed on demand (tests/artifacts/browser/).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_closure_journey import _log_in
from tests.web.seed import PARIS


def test_a_manager_publishes_a_laser_training_and_sees_it_in_the_programme(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town
    # Far enough ahead that the other journeys' laser bookings are not that day.
    day = (datetime.now(UTC) + timedelta(days=47)).astimezone(PARIS).date()
    title = f"Formation laser du {day.isoformat()} ({server.backend})"
    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}/programme")
    page.get_by_role("link", name="Publier une séance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Publier une séance")
    check_page(page, "session-publish-form")

    page.get_by_label("Formation", exact=True).check()
    page.get_by_label("Formation donnée à ceux qui y assistent").select_option(
        str(town.training_id)
    )
    page.get_by_label("Dates", exact=True).fill(day.isoformat())
    page.get_by_label("Début", exact=True).fill("14:00")
    page.get_by_label("Fin", exact=True).fill("16:00")
    page.get_by_label("Places proposées", exact=True).fill("6")
    page.get_by_label("Découpeuse laser", exact=True).check()
    page.get_by_role("button", name="Publier la séance").click()
    # No title: said in the summary and next to the field, what was typed kept.
    expect(page.locator(".error-summary")).to_contain_text("Indiquez un titre")
    expect(page.locator("#title-error")).to_be_visible()
    expect(page.get_by_label("Dates", exact=True)).to_have_value(day.isoformat())
    check_page(page, "session-publish-errors")

    page.get_by_label("Titre", exact=True).fill(title)
    page.get_by_role("button", name="Publier la séance").click()
    expect(page.get_by_role("status")).to_contain_text("La séance est publiée")
    expect(page.locator(".card", has_text=title)).to_contain_text("6 places restantes")
    check_page(page, "session-published")

    page.goto(f"/places/{town.place_id}/programme")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.locator(".facts")).to_contain_text("Formation")
