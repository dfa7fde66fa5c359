"""Fixtures of the page tests: an app with a fixed clock, a seeded town, a browser-like client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from kernel.db import Database
from kernel.settings import Settings
from tests.support.apps import leased_app
from tests.support.stripe import SECRET_KEY, WEBHOOK_SECRET, LocalStripe
from tests.web.seed import Town, seed_town

# Monday 1 March 2027, 09:00 in Paris: tomorrow is closed, the booking is on Wednesday 3 March.
FIXED_NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def town(database: Database) -> Town:
    """Two places, a manager for each, a citizen with a booking."""
    return await seed_town(database, FIXED_NOW)


@asynccontextmanager
async def _pages(
    settings: Settings, database: Database, accept: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        leased_app(settings, database, lambda: FIXED_NOW) as app,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://127.0.0.1",
            headers={"accept": accept, "accept-language": "fr-FR,fr"},
        ) as http,
    ):
        yield http


@pytest.fixture
async def web(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client that asks for pages like a browser, on an app whose clock is FIXED_NOW."""
    async with _pages(settings, database, "text/html,application/xhtml+xml") as http:
        yield http


@pytest.fixture
async def card_web(
    settings: Settings, database: Database, stripe_peer: LocalStripe
) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``web``, on an instance whose card payments go to the local Stripe peer."""
    with_stripe = settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(SECRET_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_publishable_key": "pk_test_mutualab",
            "stripe_api_base": stripe_peer.api_base,
        }
    )
    async with _pages(with_stripe, database, "text/html") as http:
        yield http
