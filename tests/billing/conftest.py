"""Billing fixtures: a real local Stripe peer, an app wired to it, and a priced fablab."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from kernel.db import Database
from kernel.settings import Settings
from tests.billing.support import PricedLab, price_fablab
from tests.support.accounts import make_user
from tests.support.booking import MutableClock, booking_client, make_fablab
from tests.support.stripe import SECRET_KEY, WEBHOOK_SECRET, LocalStripe


@pytest.fixture
def clock() -> MutableClock:
    """Now is Monday 1 March 2027, 09:00 in Paris."""
    return MutableClock()


@pytest.fixture
def stripe_settings(settings: Settings, stripe_peer: LocalStripe) -> Settings:
    """The app's settings with Stripe pointed at the local peer."""
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(SECRET_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_publishable_key": "pk_test_mutualab",
            "stripe_api_base": stripe_peer.api_base,
        }
    )


@pytest.fixture
async def api(
    stripe_settings: Settings, database: Database, clock: MutableClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with card payments, on the fixed clock."""
    async with booking_client(stripe_settings, database, clock) as http:
        yield http


@pytest.fixture
async def lab(
    api: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> PricedLab:
    """A fablab with price lists, payment methods per user type and a refund policy."""
    fablab = await make_fablab(api, admin_headers)
    manager = await make_user(database, "manager@fablab.test", manages=(fablab.place_id,))
    return await price_fablab(api, fablab, manager)
