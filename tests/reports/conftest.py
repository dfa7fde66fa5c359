"""The statistics tests' world: a priced fablab and its bookings of February to April 2027, made
through the API on a clock the test moves, and another place's booking."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kernel.db import Database
from kernel.settings import Settings
from tests.billing.support import checkout, price_fablab
from tests.reports.support import Seeded, book, ok
from tests.support.accounts import make_user
from tests.support.booking import MutableClock, booking_client, make_fablab, paris


@pytest.fixture
async def api(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a clock the test moves."""
    clock = MutableClock(paris(2027, 2, 1, 9))
    async with booking_client(settings, database, clock) as http:
        http.clock = clock  # type: ignore[attr-defined]
        yield http


@pytest.fixture
async def seeded(
    api: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> Seeded:
    """February, March and April bookings at a priced fablab, and one at another place."""
    lab = await make_fablab(api, admin_headers)
    manager = await make_user(database, "gestion@fablab.test", manages=(lab.place_id,))
    await price_fablab(api, lab, manager)
    settings = await ok(
        await api.get(f"/api/places/{lab.place_id}/billing-settings", headers=manager.headers)
    )
    settings["payment_methods"]["*"] = ["card", "on_site"]
    await ok(
        await api.put(
            f"/api/places/{lab.place_id}/billing-settings",
            json={k: settings[k] for k in ("invoice_prefix", "payment_methods", "refund_tiers")},
            headers=manager.headers,
        )
    )
    citizen_a = await make_user(database, "a@test.fr")
    student_b = await make_user(database, "b@test.fr", user_type="student")
    citizen_c = await make_user(database, "c@test.fr")
    await ok(
        await api.put(
            f"/api/places/{lab.place_id}/exceptions/2027-03-10",
            json={"closed": True},
            headers=manager.headers,
        )
    )
    await ok(
        await api.post(
            f"/api/resources/{lab.printer}/blackouts",
            json={
                "starts_at": paris(2027, 3, 15, 10).isoformat(),
                "ends_at": paris(2027, 3, 15, 12).isoformat(),
            },
            headers=manager.headers,
        ),
        201,
    )
    clock: MutableClock = api.clock  # type: ignore[attr-defined]
    # February: A's first booking here.
    await book(api, citizen_a, lab.printer, paris(2027, 2, 20, 10), paris(2027, 2, 20, 12))
    clock.now = paris(2027, 3, 1, 9)
    first = await ok(
        await checkout(
            api, citizen_a, lab.printer, paris(2027, 3, 2, 10), paris(2027, 3, 2, 12),
            method="on_site",
        ),
        201,
    )  # fmt: skip
    first_id = first["booking"]["id"]
    references = {
        first["booking"]["reference"],
        await book(api, student_b, [(lab.seats, 3)], paris(2027, 3, 3, 14), paris(2027, 3, 3, 16)),
        await book(api, citizen_c, lab.laser, paris(2027, 3, 4, 9), paris(2027, 3, 4, 10)),
    }
    cancelled = await ok(
        await checkout(
            api, citizen_a, lab.printer, paris(2027, 3, 12, 10), paris(2027, 3, 12, 11),
            method="on_site",
        ),
        201,
    )  # fmt: skip
    references.add(cancelled["booking"]["reference"])
    await ok(
        await api.post(
            f"/api/bookings/{cancelled['booking']['id']}/cancel",
            json={},
            headers=citizen_a.headers,
        )
    )
    await book(api, student_b, lab.printer, paris(2027, 4, 6, 10), paris(2027, 4, 6, 12))
    # A's March printer session is paid by cheque at the desk: the payment is invoiced.
    clock.now = paris(2027, 3, 2, 12, 30)
    billing = await ok(await api.get(f"/api/bookings/{first_id}/billing", headers=manager.headers))
    await ok(
        await api.post(
            f"/api/payments/{billing['payment']['id']}/record",
            json={"means": "cheque"},
            headers=manager.headers,
        )
    )
    # Another place's booking, which the fablab's figures and exports never show.
    other = await make_fablab(api, admin_headers, slug="autre-lieu", town="Lannion")
    await ok(
        await api.post(
            "/api/bookings",
            json={
                "items": [{"resource_id": other.room, "quantity": 1}],
                "starts_at": paris(2027, 3, 5, 10).isoformat(),
                "ends_at": paris(2027, 3, 5, 11).isoformat(),
            },
            headers=citizen_c.headers,
        ),
        201,
    )
    return Seeded(lab, manager, citizen_a, student_b, citizen_c, references)
