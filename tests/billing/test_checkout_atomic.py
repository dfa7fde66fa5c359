"""A checkout is one change: the booking and its payment are stored together or not at all."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import PricedLab, checkout
from tests.support.accounts import make_user
from tests.support.booking import paris

# The database refuses every new payment, as a failure after the booking was placed would.
REFUSE_PAYMENTS = [
    "CREATE FUNCTION test_refuse_payment() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'payments are refused in this test'; END $$",
    "CREATE TRIGGER test_refuse_payment BEFORE INSERT ON payment "
    "FOR EACH ROW EXECUTE FUNCTION test_refuse_payment()",
]
ALLOW_PAYMENTS = [
    "DROP TRIGGER test_refuse_payment ON payment",
    "DROP FUNCTION test_refuse_payment()",
]


async def _run(database: Database, statements: list[str]) -> None:
    async with database.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_a_payment_that_cannot_be_stored_leaves_no_booking(
    api: httpx.AsyncClient, lab: PricedLab, database: Database
) -> None:
    ana = await make_user(database, "ana@example.fr")
    # A first checkout warms every cache the next one could use instead of the database.
    first = await checkout(api, ana, lab.lab.printer, paris(2027, 3, 9, 10), paris(2027, 3, 9, 11))
    assert first.status_code == 201, first.text
    await _run(database, REFUSE_PAYMENTS)
    try:
        refused = await checkout(api, ana, lab.lab.printer, method="on_site")
    finally:
        await _run(database, ALLOW_PAYMENTS)
    assert refused.status_code >= 400
    async with database.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM booking"))).scalar_one()
    assert stored == 1, "the booking was stored without its payment"
    # And with payments allowed again, the same checkout goes through whole.
    accepted = await checkout(api, ana, lab.lab.printer, method="on_site")
    assert accepted.status_code == 201, accepted.text
