"""How the shell plugs webhooks into the workers: the events' subscriber and the delivery job."""

from __future__ import annotations

from billing.runtime import Billing
from booking.service import BookingServices
from kernel.db import Database
from kernel.events import Subscribers
from kernel.jobs import JobRegistry
from kernel.settings import Settings
from webhooks.delivery import Deliverer, DisabledNotice
from webhooks.fanout import Fanout
from webhooks.keys import SecretBox
from webhooks.payloads import Payloads
from webhooks.policy import DeliveryPolicy
from webhooks.queue import DELIVER_JOB

# The event families subscriptions may name (webhooks.events.EVENT_TYPES filters further).
PATTERNS = ("booking.*", "payment.*", "invoice.*")


def register(
    subscribers: Subscribers,
    registry: JobRegistry,
    *,
    database: Database,
    booking: BookingServices,
    billing: Billing,
    settings: Settings,
    policy: DeliveryPolicy | None = None,
    on_disabled: DisabledNotice | None = None,
) -> None:
    """Subscribe the fan-out to the events and register the delivery job (``policy``: the
    retry waits, shortened by the tests)."""
    fanout = Fanout(database, Payloads(booking, billing))
    for pattern in PATTERNS:
        subscribers.on(pattern, fanout)
    box = SecretBox(settings.resolved_secret_key())
    deliverer = Deliverer(database, box, policy or DeliveryPolicy(), on_disabled=on_disabled)
    registry.job(DELIVER_JOB, deliverer)
