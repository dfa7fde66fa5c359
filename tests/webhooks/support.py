"""Webhook test helpers: the webhook jobs with short retry waits, a listening subscriber,
subscriptions made through the API."""

from __future__ import annotations

from datetime import timedelta

import httpx

from kernel.db import Database
from kernel.events import EVENT_JOB, Event, Subscribers
from kernel.jobs import JobRegistry
from kernel.settings import Settings
from mutualab.composition import Runtime
from tests.support.accounts import Person
from webhooks.delivery import DisabledNotice
from webhooks.policy import DeliveryPolicy
from webhooks.wiring import register

# Three quick retries (four attempts), nothing disabled.
QUICK = DeliveryPolicy(retry_waits=(timedelta(milliseconds=50),) * 3)


class Heard:
    """A subscriber keeping every event, beside webhooks."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)


def hook_registry(
    runtime: Runtime,
    settings: Settings,
    policy: DeliveryPolicy = QUICK,
    heard: Heard | None = None,
    on_disabled: DisabledNotice | None = None,
) -> JobRegistry:
    """The events' dispatch and the webhook jobs, as the shell wires them, with ``policy``."""
    subscribers = Subscribers()
    registry = JobRegistry()
    register(
        subscribers,
        registry,
        database=runtime.database,
        booking=runtime.booking,
        billing=runtime.billing,
        settings=settings,
        policy=policy,
        on_disabled=on_disabled,
    )
    if heard is not None:
        subscribers.on("*", heard)
    registry.job(EVENT_JOB, subscribers.dispatcher())
    return registry


def url_of(database: Database) -> str:
    """The database's URL, for workers."""
    return database.engine.url.render_as_string(hide_password=False)


async def subscribe(
    api: httpx.AsyncClient,
    person: Person,
    url: str,
    place_ids: list[int] | None,
    event_types: list[str] | None = None,
) -> dict[str, object]:
    """Create a subscription through the API; its answer (with the secret)."""
    body: dict[str, object] = {
        "url": url,
        "event_types": event_types or ["booking.created"],
        "place_ids": place_ids,
    }
    made = await api.post("/api/webhooks", json=body, headers=person.headers)
    assert made.status_code == 201, made.text
    answer: dict[str, object] = made.json()
    return answer
