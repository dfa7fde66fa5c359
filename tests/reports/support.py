"""Helpers of the statistics tests: what the seeded world holds, checked answers, a booking paid
on site."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.billing.support import checkout
from tests.support.accounts import Person
from tests.support.booking import Fablab


@dataclass
class Seeded:
    """The place, its people and what the test booked."""

    lab: Fablab
    manager: Person
    citizen_a: Person
    student_b: Person
    citizen_c: Person
    references: set[str]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def book(api: httpx.AsyncClient, person: Person, items: Any, start: Any, end: Any) -> str:
    made = await ok(await checkout(api, person, items, start, end, method="on_site"), 201)
    assert made["payment"]["status"] == "awaiting_on_site"
    return str(made["booking"]["reference"])
