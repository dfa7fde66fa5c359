"""Hostile bodies are refused as bad input (400/413 problem details), never a 500 or a traceback.

Every JSON operation of the app is sent JSON nested far deeper than any request of ours, as the
platform admin (so that guards let the body be read), and bodies larger than its route accepts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from kernel.db import Database
from kernel.settings import Settings
from mutualab.requests import MAX_BODY_BYTES
from tests.support.apps import leased_app

JSON = {"content-type": "application/json"}
# 40 KB: within the body limit, and ten times deeper than the JSON decoder can follow.
DEPTH = 10_000
NESTED_ARRAYS = "[" * DEPTH + "]" * DEPTH
NESTED_OBJECTS = '{"a":' * DEPTH + "1" + "}" * DEPTH


@pytest.fixture
async def served(settings: Settings, database: Database) -> AsyncIterator[Litestar]:
    """The app on this test's database."""
    async with leased_app(settings, database) as app:
        yield app


@pytest.fixture
async def http(served: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``served``."""
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as client:
        yield client


def json_operations(app: Litestar) -> Iterator[tuple[str, str]]:
    """(method, concrete path) of every operation whose handler reads a JSON body."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for handler in route.route_handlers:
            if "data" not in handler.parsed_fn_signature.parameters:
                continue
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                yield (
                    method,
                    re.sub(r"\{\w+:int\}", "1", route.path).replace("{day:date}", "2027-03-01"),
                )


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_issue_reproduction_is_refused_without_a_traceback(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # 100 KB of brackets, anonymously: too large for a quote before anything is decoded.
    brackets = "[" * 50_000 + "]" * 50_000
    response = await http.post("/api/quotes", content=brackets, headers=JSON)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    # The same nesting within the size limit: a malformed body.
    response = await http.post("/api/quotes", content=NESTED_ARRAYS, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "malformed_body"
    assert _errors(caplog) == []


async def test_every_json_operation_refuses_deep_nesting_as_a_malformed_body(
    served: Litestar,
    http: httpx.AsyncClient,
    admin_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    operations = sorted(set(json_operations(served)))
    assert len(operations) > 30  # the route table was read
    failures = []
    for method, path in operations:
        for body in (NESTED_ARRAYS, NESTED_OBJECTS):
            response = await http.request(
                method, path, content=body, headers={**JSON, **admin_headers}
            )
            code = response.json().get("code") if response.status_code < 500 else None
            if response.status_code != 400 or code != "malformed_body":
                failures.append(f"{method} {path}: {response.status_code} {response.text[:100]}")
    assert failures == []
    assert _errors(caplog) == []


async def test_bodies_over_the_default_limit_are_refused(http: httpx.AsyncClient) -> None:
    # Valid JSON, one byte too many for any booking or quote.
    padding = "x" * MAX_BODY_BYTES
    quote = await http.post("/api/quotes", json={"notes": padding})
    assert quote.status_code == 413
    assert quote.json()["code"] == "payload_too_large"

    # Without Content-Length (chunked), the bytes are counted as they arrive.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b" " * 1024

    streamed = await http.post("/api/quotes", content=chunks(), headers=JSON)
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert streamed.json()["code"] == "payload_too_large"

    # Forms too: the log-in page is no way around the limit.
    form = await http.post(
        "/login",
        data={"email": "a@example.fr", "password": padding},
        headers={"accept": "text/html"},
    )
    assert form.status_code == 413
