"""The composition root: one function wires the runtime that the app, the CLI and tests use."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.charges import Charges
from billing.runtime import BillingListener
from booking.service import BookingServices
from kernel.db import Database
from kernel.settings import Settings
from mutualab.app import create_app
from mutualab.composition import build_runtime
from tests.support.apps import leased_app
from tests.support.booking import MutableClock


async def test_the_runtime_wires_billing_into_booking(
    settings: Settings, database: Database
) -> None:
    clock = MutableClock()
    runtime = build_runtime(settings, database, clock)
    assert runtime.gateway is None  # no Stripe key: no card payments
    assert runtime.listeners and runtime.booking.listeners == runtime.listeners
    # Billing books through the runtime's booking services, whose changes it hears.
    assert runtime.billing.booking is runtime.booking
    assert runtime.booking.snapshots is runtime.snapshots
    # The charge gate is billing's, priced through the same billing.
    assert isinstance(runtime.booking.charges, Charges)
    assert runtime.booking.charges._billing is runtime.billing
    assert (runtime.database, runtime.clock, runtime.billing.clock) == (database, clock, clock)
    async with database.reader() as session:
        parts = runtime.booking.parts(session)
        assert parts.changes.listeners == runtime.listeners
        assert parts.copies.cache is runtime.snapshots
        assert runtime.billing.services(session).bookings.changes.listeners == runtime.listeners
        assert runtime.billing.series(session).series.changes.listeners == runtime.listeners
    await runtime.close()
    # A database handed to the root belongs to its caller: closing the runtime keeps it open.
    async with database.engine.connect() as connection:
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1


def test_the_booking_services_need_their_listeners() -> None:
    with pytest.raises(TypeError):
        BookingServices(MutableClock(), None)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="listeners"):
        BookingServices(MutableClock(), None, listeners=(), charges=Charges())
    with pytest.raises(TypeError):
        # Nor without the charge gate: a priced booking would be made without its payment.
        BookingServices(MutableClock(), None, listeners=(BillingListener(),))  # type: ignore[call-arg]


async def test_the_app_reads_its_runtime_off_its_state(
    settings: Settings, database: Database
) -> None:
    runtime = build_runtime(settings, database)
    app = create_app(runtime=runtime)
    assert app.state.runtime is runtime
    assert app.state.booking is runtime.booking
    assert app.state.catalogue_snapshots is runtime.snapshots
    assert (app.state.database, app.state.billing) == (database, runtime.billing)


async def test_apps_leased_at_once_keep_their_own_runtime(
    settings: Settings, database: Database
) -> None:
    first_clock, second_clock = MutableClock(), MutableClock()
    async with (
        leased_app(settings, database, first_clock) as first,
        leased_app(settings, database, second_clock) as second,
    ):
        assert first is not second
        assert (first.state.clock, second.state.clock) == (first_clock, second_clock)
        seen = [first.state.catalogue_snapshots, second.state.catalogue_snapshots]
        assert seen[0] is not seen[1]
    # Given back, an app keeps nothing of the test's runtime.
    assert "runtime" not in first.state and "database" not in first.state
    async with leased_app(settings, database) as again:
        assert again in (first, second)  # built once, reused
        # A new test gets a new catalogue cache (and availability memo): tables were emptied.
        assert all(again.state.catalogue_snapshots is not cache for cache in seen)
