"""The header on a phone (390 px) and a desktop, in Chromium (issue 19, item 9).

On a phone it takes one line: the brand and a "Menu" button (details and summary, no script)
behind which the menu waits; every target there, and the breadcrumb's links, is at least 24 by
24 px (WCAG 2.2, 2.5.8). On a desktop the menu is in the line and the button is not.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.browser.support import LiveServer, PageChecker
from tests.web.seed import PASSWORD

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# One line: the brand or the button (44 px) and the row's padding, with a little room.
ONE_LINE_PX = 72
TARGET_PX = 24


def _size(target: Locator) -> tuple[float, float]:
    box = target.bounding_box()
    assert box is not None, target
    return box["width"], box["height"]


def _assert_targets(targets: Locator) -> None:
    assert targets.count() > 0
    for index in range(targets.count()):
        width, height = _size(targets.nth(index))
        name = targets.nth(index).inner_text()
        assert width >= TARGET_PX and height >= TARGET_PX, (name, width, height)


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("status")).to_contain_text("Connexion réussie")


def test_on_a_phone_the_header_is_one_line_with_the_menu_behind_a_button(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    page.set_viewport_size(PHONE)
    _log_in(page, server.town.manager_email)
    page.goto(f"/resources/{server.town.printer_id}")
    header = page.locator("header.site-header")
    assert _size(header)[1] <= ONE_LINE_PX
    menu = page.get_by_role("navigation", name="Menu principal")
    expect(menu).to_be_hidden()
    button = page.locator("summary", has_text="Menu")
    expect(button).to_be_visible()
    _assert_targets(button)
    _assert_targets(page.locator(".breadcrumb a"))
    check_page(page, "phone-header")

    button.click()
    expect(menu).to_be_visible()
    _assert_targets(menu.locator("a, button"))
    _assert_targets(page.locator(".language-form button"))
    page.screenshot(path=str(check_page.folder / "phone-header-open-390.png"), full_page=True)
    menu.get_by_role("link", name="Mes réservations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes réservations")
    expect(page.get_by_role("navigation", name="Menu principal")).to_be_hidden()


def test_on_a_desktop_the_menu_is_in_the_line_and_the_button_is_not(
    page: Page, server: LiveServer
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    expect(page.locator("summary", has_text="Menu")).to_be_hidden()
    menu = page.get_by_role("navigation", name="Menu principal")
    expect(menu.get_by_role("link", name="Se connecter")).to_be_visible()
    assert _size(page.locator("header.site-header"))[1] <= 90
    menu.get_by_role("link", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
