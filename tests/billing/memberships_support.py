"""Membership test helpers: a plan defined and a plan subscribed through the API."""

from __future__ import annotations

from typing import Any

import httpx

from billing.plan_cards import MembershipCards
from kernel.db import Database
from kernel.settings import Settings
from mutualab.composition import build_runtime
from tests.support.accounts import Person
from tests.support.booking import MutableClock


def plan_body(**overrides: Any) -> dict[str, Any]:
    """A monthly plan at 20 EUR excl. VAT (24 EUR incl. 20 % VAT)."""
    return {"name": "Adhésion mensuelle", "period": "month", "price_cents": 2000, **overrides}


async def define_plan(
    api: httpx.AsyncClient, manager: Person, place_id: int, **overrides: Any
) -> dict[str, Any]:
    """POST a plan of the place as its manager."""
    response = await api.post(
        f"/api/places/{place_id}/plans", json=plan_body(**overrides), headers=manager.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def subscribe(
    api: httpx.AsyncClient, person: Person, plan_id: int, method: str = "on_site", **extra: Any
) -> httpx.Response:
    """POST a membership of the plan."""
    return await api.post(
        f"/api/plans/{plan_id}/memberships",
        json={"payment_method": method, **extra},
        headers=person.headers,
    )


async def member(
    api: httpx.AsyncClient, person: Person, plan_id: int, manager: Person
) -> dict[str, Any]:
    """Subscribe on site and have the manager receive the money: an active, paid membership."""
    made = await subscribe(api, person, plan_id)
    assert made.status_code == 201, made.text
    paid = await api.post(
        f"/api/memberships/{made.json()['id']}/receive",
        json={"means": "cash"},
        headers=manager.headers,
    )
    assert paid.status_code == 200, paid.text
    body: dict[str, Any] = paid.json()
    return body


async def renew(settings: Settings, database: Database, clock: MutableClock) -> None:
    """One pass of the hourly renewal job (renewals, reminders, lapses) at ``clock``'s time."""
    runtime = build_runtime(settings, database, clock)
    try:
        await MembershipCards(runtime.billing).renew()
    finally:
        await runtime.close()
