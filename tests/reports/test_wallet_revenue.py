"""What a person's wallet paid is revenue of the booking (a means of payment, not a discount):
the statistics count it, under "wallet" by method."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.billing.support import checkout, price_fablab, quote
from tests.reports.support import ok
from tests.support.accounts import make_user
from tests.support.booking import make_fablab, paris


async def test_the_wallet_s_share_of_a_booking_is_revenue(
    api: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    lab = await make_fablab(api, admin_headers)
    manager = await make_user(database, "gestion@fablab.test", manages=(lab.place_id,))
    await price_fablab(api, lab, manager)
    ana = await make_user(database, "ana@test.fr")
    await ok(
        await api.post(
            f"/api/places/{lab.place_id}/wallets/credits",
            json={"email": ana.email, "amount_cents": 1000, "reason": "Atelier annulé"},
            headers=manager.headers,
        ),
        201,
    )
    # The printer, 2 h at 10 EUR excl. VAT: 24.00, of which the wallet pays 10.00.
    start, end = paris(2027, 3, 8, 10), paris(2027, 3, 8, 12)
    seen = await quote(api, ana, lab.printer, start, end, use_wallet=True)
    assert (seen["wallet_cents"], seen["due_cents"]) == (1000, 1400)
    booked = await checkout(
        api,
        ana,
        lab.printer,
        start,
        end,
        method="on_site",
        fingerprint=seen["fingerprint"],
        use_wallet=True,
    )
    assert booked.status_code == 201, booked.text
    stats = await ok(
        await api.get(
            f"/api/places/{lab.place_id}/statistics?period=month&at=2027-03",
            headers=manager.headers,
        )
    )
    assert stats["revenue_cents"] == 2400
    assert {a["key"]: a["cents"] for a in stats["revenue_by_resource"]} == {str(lab.printer): 2400}
    assert {a["key"]: a["cents"] for a in stats["revenue_by_method"]} == {
        "on_site": 1400,
        "wallet": 1000,
    }
