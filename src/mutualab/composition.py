"""The composition root: the one place that builds what a running Mutualab is made of.

A :class:`Runtime` holds the database, the clock, the card gateway (Stripe when configured),
the catalogue snapshot cache (with its availability memo), the mailer (SMTP), the booking
listeners, the booking services (:class:`booking.service.BookingServices`: bookings,
availability, agenda, series, each built on a session), billing and the programme
(:class:`programme.service.ProgrammeServices`).
The app (``mutualab.app.create_app``), the CLI's maintenance commands, the benches and the tests
all build it with :func:`build_runtime`; the app installs it on ``app.state``
(:meth:`Runtime.install`), where the handlers and dependencies read what they need.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import State

from accounts.credential_cache import CredentialCache
from accounts.mail import AccountMail
from accounts.personal_data import PersonalDataPart
from billing.charges import Charges
from billing.payments import BillingConfig
from billing.providers.base import CardGateway
from billing.runtime import Billing, BillingListener
from booking.events import BookingListener
from booking.service import BookingServices
from booking.snapshots import SnapshotCache
from kernel.clock import Clock, system_clock
from kernel.db import Database
from kernel.mail import Mailer
from kernel.settings import Settings, get_settings
from mutualab.account_mail import outbox_mail
from mutualab.personal_data import BillingData, BookingData
from programme.listener import SessionBookingListener
from programme.service import ProgrammeServices


@dataclass(frozen=True)
class Runtime:
    """Everything one application (or one CLI run) works with, wired once."""

    settings: Settings
    database: Database
    clock: Clock
    gateway: CardGateway | None
    snapshots: SnapshotCache
    # Who hears about booking changes (billing, the programme), in the transaction of each change.
    listeners: tuple[BookingListener, ...]
    # The booking services (bookings, availability, agenda, series) on a session.
    booking: BookingServices
    billing: Billing
    # The places' programmes: sessions (their resources booked through ``booking``) and
    # registrations.
    programme: ProgrammeServices
    # What booking and billing hold about a person: exported and erased with their account.
    personal_data: tuple[PersonalDataPart, ...]
    # Where accounts' messages go (verify an address, reset a password, invitations).
    account_mail: AccountMail
    # E-mail over SMTP, called by the mail.send job only (never in a transaction).
    mailer: Mailer
    # Whether closing the runtime disposes of the database (it built it).
    owns_database: bool
    # API tokens accepted lately, forgotten when credentials change (accounts.credential_cache).
    credentials: CredentialCache

    def install(self, state: State) -> None:
        """Put the runtime, and the parts handlers read, on an application's state."""
        state.runtime = self
        state.settings = self.settings
        state.database = self.database
        state.clock = self.clock
        state.booking = self.booking
        state.billing = self.billing
        state.programme = self.programme
        state.personal_data = self.personal_data
        state.account_mail = self.account_mail
        state.mailer = self.mailer
        state.catalogue_snapshots = self.snapshots
        state.credentials = self.credentials

    async def close(self) -> None:
        """Release the provider's connections, and the database's when the runtime owns it."""
        await self.billing.close()
        self.credentials.unwatch()
        if self.owns_database:
            await self.database.dispose()


def card_gateway(settings: Settings) -> CardGateway | None:
    """Stripe when a secret key is configured; no card payments otherwise."""
    if settings.stripe_secret_key is None:
        return None
    from billing.providers.stripe import StripeGateway

    webhook_secret = settings.stripe_webhook_secret
    return StripeGateway(
        settings.stripe_secret_key.get_secret_value(),
        webhook_secret.get_secret_value() if webhook_secret is not None else None,
        api_base=settings.stripe_api_base,
        tolerance_seconds=settings.stripe_webhook_tolerance_seconds,
    )


def build_runtime(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock = system_clock,
    mailer: Mailer | None = None,
) -> Runtime:
    """The runtime for ``settings`` (read from the environment by default).

    ``database`` is used as given and left open on :meth:`Runtime.close` (its owner disposes of
    it); without one, the runtime opens the configured database and closes it. ``mailer``
    defaults to the SMTP server of ``settings``.
    """
    settings = settings or get_settings()
    db = database or Database.from_settings(settings)
    gateway = card_gateway(settings)
    snapshots = SnapshotCache()
    config = BillingConfig(
        card_available=gateway is not None, publishable_key=settings.stripe_publishable_key
    )
    # Billing hears every booking change and books through the same services: its listener
    # exists first, and is attached to billing once billing exists.
    # So is the charge gate (no priced booking without a payment, booking.charging).
    billing_listener = BillingListener()
    # The programme hears them too: a closure that cancels a session's booking cancels it.
    session_listener = SessionBookingListener()
    charges = Charges()
    listeners: tuple[BookingListener, ...] = (billing_listener, session_listener)
    booking = BookingServices(clock, snapshots, listeners=listeners, charges=charges)
    billing = Billing(db, clock, gateway, config, booking)
    billing_listener.attach(billing)
    charges.attach(billing)
    programme = ProgrammeServices(booking, clock)
    session_listener.attach(programme)
    return Runtime(
        settings=settings,
        database=db,
        clock=clock,
        gateway=gateway,
        snapshots=snapshots,
        listeners=listeners,
        booking=booking,
        billing=billing,
        programme=programme,
        personal_data=(BookingData(booking), BillingData()),
        account_mail=outbox_mail(settings),
        mailer=mailer or Mailer.from_settings(settings),
        owns_database=database is None,
        credentials=credential_cache(settings, db),
    )


def credential_cache(settings: Settings, database: Database) -> CredentialCache:
    """The memory of accepted API tokens, forgetting them when the writer engine changes
    credentials."""
    cache = CredentialCache(settings.credential_cache_seconds)
    if cache.enabled:
        cache.watch(database.engine)
    return cache
