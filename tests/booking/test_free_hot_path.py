"""A free booking pays nothing for the rule that priced bookings are paid (issue 16).

The charge gate (booking.charging, billing.charges) answers from the worker's price view, kept
per catalogue revision: once a place's view is known, booking a free resource reads no price
list; a price list set since moves the revision, and the next booking sees it.
"""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.support.accounts import make_user
from tests.support.booking import Fablab, book, paris
from tests.support.sql import sent_statements


def pricing(seen: list[str]) -> list[str]:
    return [s for s in seen if "price_list" in s or "price_rate" in s]


async def test_a_free_booking_reads_no_price_once_the_view_is_kept(
    api: httpx.AsyncClient, lab: Fablab, database: Database, admin_headers: dict[str, str]
) -> None:
    ana = await make_user(database, "ana@example.fr")
    with sent_statements() as first:
        made = await book(api, ana, lab.printer, paris(2027, 3, 2, 10), paris(2027, 3, 2, 11))
    assert made.status_code == 201, made.text
    assert pricing(first)  # the place's view, read once
    with sent_statements() as second:
        made = await book(api, ana, lab.printer, paris(2027, 3, 2, 12), paris(2027, 3, 2, 13))
    assert made.status_code == 201, made.text
    assert pricing(second) == []
    # A price list moves the catalogue revision: the next booking of it is priced, and refused.
    priced = await api.put(
        f"/api/places/{lab.place_id}/price-lists",
        json={"resource_id": lab.laser, "rates": [{"user_type": "*", "hourly_cents": 1000}]},
        headers=admin_headers,
    )
    assert priced.status_code == 200, priced.text
    refused = await book(api, ana, lab.laser, paris(2027, 3, 2, 14), paris(2027, 3, 2, 15))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "payment_required"
