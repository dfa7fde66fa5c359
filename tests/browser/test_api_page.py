"""The OpenAPI page in Chromium, under its Content-Security-Policy: it works, nothing is blocked,
nothing is fetched from elsewhere."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer

VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_swagger_ui_lists_and_opens_operations_under_its_policy(
    page: Page, server: LiveServer
) -> None:
    page.add_init_script(VIOLATIONS)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/schema")
    expect(page.locator(".info .title")).to_contain_text("Mutualab")
    operation = page.locator(".opblock-get .opblock-summary-path[data-path='/api/places']")
    expect(operation).to_be_visible()
    operation.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    live = page.locator(".live-responses-table tr.response td.response-col_status")
    expect(live).to_have_text("200")
    page.get_by_role("button", name="Schemas").click()  # the models, drawn with their icons
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator(".modal-ux")).to_be_visible()
    assert page.evaluate("() => window.__violations") == []
    ours = urlsplit(server.url).netloc
    assert [url for url in requested if urlsplit(url).netloc != ours] == []
