"""The event dispatcher: every subscriber hears an event even when one before it fails."""

from __future__ import annotations

import pytest

from kernel.events import Event, Subscribers, job_payload


async def test_a_failing_subscriber_does_not_keep_the_event_from_the_next_ones() -> None:
    heard: list[tuple[str, str]] = []

    async def webhooks(event: Event) -> None:
        heard.append(("webhooks", event.key))
        raise ConnectionError("the receiver is down")

    async def mail(event: Event) -> None:
        heard.append(("mail", event.key))

    subscribers = Subscribers()
    subscribers.on("booking.*", webhooks)
    subscribers.on("booking.confirmed", mail)
    dispatch = subscribers.dispatcher()
    payload = job_payload("booking.confirmed", {"booking_id": 7}, "booking.7.confirmed")
    # The job still fails, so the queue retries it (the handlers are idempotent).
    with pytest.raises(ConnectionError, match="the receiver is down"):
        await dispatch(payload)
    assert heard == [("webhooks", "booking.7.confirmed"), ("mail", "booking.7.confirmed")]


async def test_every_failure_is_reported_when_several_subscribers_fail() -> None:
    async def first(event: Event) -> None:
        raise ValueError("first")

    async def second(event: Event) -> None:
        raise KeyError("second")

    subscribers = Subscribers()
    subscribers.on("payment.received", first)
    subscribers.on("payment.received", second)
    with pytest.raises(ExceptionGroup) as raised:
        await subscribers.dispatcher()(job_payload("payment.received", {}, "payment.1"))
    assert [type(e) for e in raised.value.exceptions] == [ValueError, KeyError]
