"""The events a subscription may receive, and the version of the payloads sent."""

from __future__ import annotations

from typing import Literal, get_args

EventType = Literal[
    "booking.created",
    "booking.confirmed",
    "booking.cancelled",
    "booking.rescheduled",
    "payment.received",
    "payment.refunded",
    "invoice.issued",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
# What POST /api/webhooks/{id}/ping sends, whatever the subscription's events.
PING = "webhook.ping"
# The payload's "version"; a change that could break a receiver bumps it (docs/webhooks.md).
PAYLOAD_VERSION = 1
