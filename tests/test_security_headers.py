"""Security headers on every kind of answer, HSTS over HTTPS only, personal answers not cached,
and an OpenAPI page that runs our own scripts only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from tests.factories import make_place
from tests.support.accounts import make_user
from tests.support.apps import leased_app

PAGE = {"accept": "text/html"}


def missing_headers(response: httpx.Response) -> list[str]:
    """The security headers ``response`` lacks, or carries with a weak value."""
    headers = response.headers
    wanted = {
        "x-content-type-options": headers.get("x-content-type-options") == "nosniff",
        "x-frame-options": headers.get("x-frame-options") == "DENY",
        "referrer-policy": headers.get("referrer-policy") == "same-origin",
        "frame-ancestors": "frame-ancestors 'none'" in headers.get("content-security-policy", ""),
        "strict-transport-security": headers.get("strict-transport-security", "").startswith(
            "max-age=31536000"
        ),
    }
    return [name for name, present in wanted.items() if not present]


async def test_every_kind_of_answer_carries_the_security_headers(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    place = await make_place(client, admin_headers)
    answers = {
        "API": await client.get("/api/places"),
        "API, personal": await client.get("/api/me", headers=admin_headers),
        "problem 422": await client.post("/api/places", json={}, headers=admin_headers),
        "unknown address": await client.get("/api/nowhere"),
        "wrong method": await client.put("/api/places"),
        "unknown page": await client.get("/nowhere", headers=PAGE),
        "redirect": await client.get("/account", headers=PAGE),
        "page": await client.get("/login", headers=PAGE),
        "page with a map": await client.get("/", headers=PAGE),
        "Leaflet": await client.get("/static/leaflet/leaflet.css"),
        "open data CSV": await client.get("/api/opendata/lieux.csv"),
        "busy feed": await client.get(f"/calendar/places/{place['id']}/busy.ics"),
        "stylesheet": await client.get("/static/web/mutualab.css"),
        "OpenAPI page": await client.get("/schema"),
        "OpenAPI document": await client.get("/schema/openapi.json"),
        "Swagger UI asset": await client.get("/static/swagger/swagger-ui.css"),
        "health": await client.get("/health"),
    }
    assert answers["redirect"].status_code == 303
    assert answers["unknown address"].status_code == 404
    assert answers["wrong method"].status_code == 405
    failures = {what: missing_headers(r) for what, r in answers.items() if missing_headers(r)}
    assert failures == {}
    # Answers that are not pages load nothing at all.
    for what in ("API", "problem 422", "unknown address", "open data CSV", "busy feed"):
        assert answers[what].headers["content-security-policy"].startswith("default-src 'none'")
    # Pages keep their own policy: no script, or our own and the map tiles' images.
    assert "script-src 'none'" in answers["page"].headers["content-security-policy"]
    mapped = answers["page with a map"].headers["content-security-policy"]
    assert "script-src 'self';" in mapped
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in mapped


@pytest.fixture
def plain_http_settings(settings: Settings) -> Settings:
    """An instance published over plain HTTP (a test machine, a closed network)."""
    return settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"})


@pytest.fixture
async def plain_app(
    plain_http_settings: Settings, database: Database
) -> AsyncIterator[httpx.ASGITransport]:
    """The app of such an instance."""
    async with leased_app(plain_http_settings, database) as app:
        yield httpx.ASGITransport(app=app)


async def test_hsts_only_over_https(plain_app: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=plain_app, base_url="http://127.0.0.1") as http:
        plain = await http.get("/api/places")
    assert "strict-transport-security" not in plain.headers
    assert plain.headers["x-content-type-options"] == "nosniff"
    # Behind a proxy that speaks HTTPS to the browser, the request's scheme says so.
    async with httpx.AsyncClient(transport=plain_app, base_url="https://127.0.0.1") as http:
        secure = await http.get("/api/places")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"


async def test_personal_answers_are_not_stored(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    citizen = await make_user(database, "ana@example.fr")
    mine = await client.get("/api/me", headers=citizen.headers)
    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "no-store"
    problem = await client.get("/api/bookings/999", headers=citizen.headers)
    assert problem.status_code == 404
    assert problem.headers["cache-control"] == "no-store"
    # The same public list, anonymous: nothing personal, caches may do as they please.
    public = await client.get("/api/places")
    assert "cache-control" not in public.headers
    assert (await client.get("/api/places", headers=citizen.headers)).headers[
        "cache-control"
    ] == "no-store"
    # An answer that sets a cookie (the CSRF token) is for one browser only.
    token = await client.get("/api/auth/csrf")
    assert "set-cookie" in token.headers
    assert token.headers["cache-control"] == "no-store"
    # A private calendar feed keeps its own rule (calendar clients revalidate with the ETag).
    created = await client.post("/api/me/calendar-feed", headers=citizen.headers)
    feed = await client.get(created.json()["url"].removeprefix("https://mutualab.test"))
    assert feed.headers["cache-control"] == "private, max-age=300"


async def test_the_openapi_page_runs_our_own_scripts_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all(body.strip() == "" for _, body in scripts)  # no inline script
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert addresses and all(a.startswith("/") and not a.startswith("//") for a in addresses)
    for address in addresses:  # every file it names is served
        assert (await client.get(address)).status_code == 200, address
    start = await client.get(re.findall(r'src="(/static/web/swagger-init[^"]+)"', page.text)[0])
    assert "SwaggerUIBundle" in start.text
    document = re.findall(r'data-document="([^"]+)"', page.text)[0]
    assert (await client.get(document)).json()["openapi"].startswith("3.1")
