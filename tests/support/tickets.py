"""A priced workshop for the ticket tests: published by a manager, its seats priced."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from billing.ticket_schemas import TicketPricesWrite
from kernel.auth.actor import Actor
from kernel.db import Database
from programme.schemas import SessionCreate, SessionDate
from tests.support.apps import runtime_on


async def priced_workshop(
    database: Database,
    manager: Actor,
    place_id: int,
    now: datetime,
    *,
    title: str,
    starts: datetime,
    seats: int,
    prices: Mapping[str, int],
) -> int:
    """A two-hour workshop at ``starts``, its seats priced by user type (cents incl. VAT, in
    the order given); its session's id."""
    async with (
        runtime_on(database, lambda: now) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        [made] = await runtime.programme.sessions(session).publish(
            manager,
            place_id,
            SessionCreate(
                title=title,
                kind="workshop",
                dates=[SessionDate(starts_at=starts, ends_at=starts + timedelta(hours=2))],
                seats=seats,
            ),
        )
        await runtime.billing.tickets(session).set_prices(
            manager,
            made.id,
            TicketPricesWrite.model_validate(
                {
                    "amounts_include_vat": True,
                    "prices": [
                        {"user_type": user_type, "price_cents": cents}
                        for user_type, cents in prices.items()
                    ],
                }
            ),
        )
        return made.id
