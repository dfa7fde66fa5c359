"""The people's messages wired to the events and periodic tasks that cause them."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.clock import Clock
from kernel.db import Database
from kernel.events import Subscribers
from kernel.jobs import JobRegistry
from kernel.settings import Settings
from notifications.billing_messages import BillingMessages
from notifications.booking_messages import BookingMessages
from notifications.hold_warnings import warn_lapsing_holds
from notifications.membership_messages import RenewalDue
from notifications.programme_messages import ProgrammeMessages
from notifications.reminders import send_reminders
from notifications.series_messages import SeriesBooked, SeriesDateLost
from notifications.waitlist_messages import WaitlistOffers

EVERY_MINUTE = "* * * * *"
EVERY_FIVE_MINUTES = "*/5 * * * *"


@dataclass(frozen=True)
class MessageParts:
    """What the messages need of a runtime."""

    database: Database
    settings: Settings
    clock: Clock


def subscribe(subscribers: Subscribers, parts: MessageParts) -> None:
    """The messages that events cause."""
    base_url = parts.settings.public_base_url
    subscribers.on("booking.*", BookingMessages(parts.database, base_url))
    billing = BillingMessages(parts.database, base_url)
    subscribers.on("payment.received", billing)
    subscribers.on("payment.refunded", billing)
    subscribers.on("invoice.issued", billing)
    subscribers.on("waitlist.offered", WaitlistOffers(parts.database, base_url))
    programme = ProgrammeMessages(parts.database, base_url)
    subscribers.on("session.registered", programme)
    subscribers.on("session.cancelled", programme)
    subscribers.on("series.booked", SeriesBooked(parts.database, base_url))
    subscribers.on("series.date_lost", SeriesDateLost(parts.database, base_url))
    subscribers.on("membership.renewal_due", RenewalDue(parts.database, base_url))


def schedule(registry: JobRegistry, parts: MessageParts) -> None:
    """The messages that time causes: holds about to lapse, reminders."""

    async def holds() -> None:
        await warn_lapsing_holds(parts.database, parts.settings.public_base_url, parts.clock)

    async def reminders() -> None:
        await send_reminders(parts.database, parts.settings, parts.clock)

    registry.every("messages.hold_lapsing", EVERY_MINUTE, holds)
    registry.every("messages.reminders", EVERY_FIVE_MINUTES, reminders)


def register(subscribers: Subscribers, registry: JobRegistry, parts: MessageParts) -> None:
    """Everything the messages need from the workers."""
    subscribe(subscribers, parts)
    schedule(registry, parts)
