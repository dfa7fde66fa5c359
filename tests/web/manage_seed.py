"""What the back office tests add to the seeded town, through the services.

The 3D printer of the Fablab needs approval and gets two requests from the citizen; the place
accepts on-site payments, charges its laser cutter by the hour, and the citizen books the laser
to pay at the desk. Used by the fast page tests (fixed clock) and the browser tests (which pass
a later day, away from what other journeys book).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from billing.schemas import BillingSettingsWrite, CheckoutRequest, PriceListWrite
from booking.schemas import BookingCreate, ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from resources.schemas import ResourceUpdate
from tests.support.apps import runtime_on
from tests.web.seed import ADMIN, PARIS, Town


@dataclass(frozen=True)
class BackOffice:
    """Ids of what was added."""

    first_request_id: int
    second_request_id: int
    on_site_booking_id: int
    on_site_reference: str


async def seed_back_office(
    database: Database, town: Town, now: datetime, day: date | None = None
) -> BackOffice:
    """Requests awaiting approval and a booking to pay on site (on the town's booking day)."""
    citizen = Actor(user_id=town.citizen_id, via="session")
    day = day or town.booking_day
    async with (
        runtime_on(database, lambda: now) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        services = runtime.billing.services(session)
        await services.prices.catalogue.update_resource(
            ADMIN, town.printer_id, ResourceUpdate(requires_approval=True)
        )
        await services.prices.set_settings(
            ADMIN,
            town.place_id,
            BillingSettingsWrite(
                invoice_prefix="FAB",
                payment_methods={"*": ["card", "on_site"]},
                refund_tiers=[],
            ),
            now,
        )
        await services.prices.set_price_list(
            ADMIN,
            town.place_id,
            PriceListWrite.model_validate(
                {
                    "resource_id": town.laser_id,
                    "rates": [{"user_type": "*", "hourly_cents": 500}],
                }
            ),
            now,
        )
        requests = [
            await services.bookings.create(
                citizen,
                BookingCreate(
                    items=[ItemRequest(resource_id=town.printer_id)],
                    starts_at=datetime.combine(day, time(hour), PARIS),
                    ends_at=datetime.combine(day, time(hour + 1), PARIS),
                ),
            )
            for hour in (14, 15)
        ]
        items = [ItemRequest(resource_id=town.laser_id)]
        starts_at = datetime.combine(day, time(16), PARIS)
        ends_at = datetime.combine(day, time(17), PARIS)
        priced = await services.prices.price(items, starts_at, ends_at, "citizen")
        payment, booking, _ = await services.checkout(
            citizen,
            CheckoutRequest(
                items=items,
                starts_at=starts_at,
                ends_at=ends_at,
                method="on_site",
                quote_fingerprint=priced.quote.fingerprint(),
            ),
            now,
        )
    assert all(r.status == "pending_approval" for r in requests)
    assert payment.status == "awaiting_on_site" and booking.status == "confirmed"
    return BackOffice(
        first_request_id=requests[0].id,
        second_request_id=requests[1].id,
        on_site_booking_id=booking.id,
        on_site_reference=booking.reference,
    )
