"""Reading pages in tests: text, elements, CSRF tokens, and posting forms like a browser."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.web.seed import PASSWORD

_CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def elements(html: str, tag: str | None = None) -> list[dict[str, str]]:
    """The attributes of every element (of one tag name)."""
    parser = _Elements()
    parser.feed(html)
    return [attrs | {"<tag>": name} for name, attrs in parser.found if tag in (None, name)]


def by_id(html: str, element_id: str) -> dict[str, str]:
    """The attributes of the element with this id."""
    matches = [e for e in elements(html) if e.get("id") == element_id]
    assert len(matches) == 1, f"{len(matches)} elements with id {element_id!r}"
    return matches[0]


# Typographic signs the pages use, as plain ASCII so tests read (and lint) simply.
_PLAIN = str.maketrans({"\u2013": "-", "\u00d7": "x"})


def text(html: str) -> str:
    """The visible text of a page, whitespace collapsed, en dashes and x signs made ASCII."""
    body = re.sub(r"<(script|style|head)\b.*?</\1>", " ", html, flags=re.S)
    plain = unescape(re.sub(r"<[^>]+>", " ", body)).translate(_PLAIN)
    return re.sub(r"[ \t\r\n]+", " ", plain).strip()


def csrf(html: str) -> str:
    """The CSRF token of a page's forms."""
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def submit(
    client: httpx.AsyncClient, form_page: str, action: str, fields: dict[str, Any]
) -> httpx.Response:
    """Open ``form_page`` and post ``fields`` to ``action`` with its CSRF token."""
    page = await client.get(form_page)
    assert page.status_code == 200, page.text[:300]
    return await client.post(action, data={**fields, "_csrf_token": csrf(page.text)})


def another_browser(
    client: httpx.AsyncClient, *, origin: str | None = None, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """A second browser (its own cookies) on the app ``client`` talks to, at the same address
    with the same headers unless given (pages need https: the session cookie is Secure)."""
    return httpx.AsyncClient(
        transport=client._transport,
        base_url=origin or str(client.base_url),
        headers=client.headers if headers is None else headers,
    )


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    """Log in through the form."""
    response = await submit(client, "/login", "/login", {"email": email, "password": password})
    assert response.status_code == 303, text(response.text)[:500]


def unlabelled_controls(html: str) -> list[str]:
    """Ids of visible form controls that have no <label for=...> (should be empty)."""
    labels = {e.get("for") for e in elements(html, "label")}
    missing = []
    for control in elements(html):
        if control["<tag>"] not in ("input", "select", "textarea"):
            continue
        if control.get("type") in ("hidden", "submit", "button"):
            continue
        if control.get("id") not in labels:
            missing.append(control.get("id") or control.get("name", "?"))
    return missing
