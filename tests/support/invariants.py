"""Invariants over the database, checked after every test's scenario (tests/conftest.py).

Issue 16: a priced booking exists only with a payment. An active booking (held, awaiting
approval or confirmed) of a resource whose price list charges the booking's user type must
have a payment row: the same choice of list and rate as :meth:`billing.prices.PriceService.price`
(the resource's own list, else its kind's; the user type's rate, else ``*``), and a rate
charges unless it is free or all zero. The place's own bookings (``booking.place_use``: the
resources a session of its programme occupies) are not sold, so not counted.
"""

from __future__ import annotations

from sqlalchemy import text

from kernel.db import Database

UNPAID_PRICED_BOOKINGS = text(
    """
    SELECT DISTINCT b.id
    FROM booking b
    JOIN booking_item i ON i.booking_id = b.id
    JOIN resource r ON r.id = i.resource_id
    JOIN LATERAL (
        SELECT pl.id FROM price_list pl
        WHERE pl.place_id = b.place_id
          AND pl.scope IN ('resource:' || r.id, 'kind:' || r.kind)
        ORDER BY pl.scope LIKE 'resource:%' DESC
        LIMIT 1
    ) chosen ON TRUE
    JOIN LATERAL (
        SELECT pr.* FROM price_rate pr
        WHERE pr.price_list_id = chosen.id
          AND pr.user_type_code IN (b.user_type_code, '*')
        ORDER BY pr.user_type_code = '*'
        LIMIT 1
    ) rate ON TRUE
    WHERE b.status IN ('held', 'pending_approval', 'confirmed')
      AND NOT b.place_use
      AND NOT rate.free
      AND (rate.hourly_cents > 0 OR rate.flat_fee_cents > 0 OR rate.minimum_cents > 0)
      AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.booking_id = b.id)
    ORDER BY b.id
    """
)


async def unpaid_priced_bookings(database: Database) -> list[int]:
    """The active, priced bookings that have no payment (one query)."""
    async with database.engine.connect() as connection:
        return [booking_id for (booking_id,) in await connection.execute(UNPAID_PRICED_BOOKINGS)]
