"""The FEC books the wallets: a top-up by card is money received into customers' advances
(512 / 4191), spending it settles the customer's account (4191 / 411), giving it back is the
reverse, and a place's gift is an expense (6718 / 4191). Every entry balances, and what 4191
holds for a person is their wallet's balance."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.billing.support import PricedLab, checkout, deliver, quote
from tests.billing.test_fec import balances, check_balanced, lines_of, parse_fec
from tests.support.accounts import make_user
from tests.support.booking import paris
from tests.support.stripe import LocalStripe

Client = httpx.AsyncClient


async def test_the_fec_books_a_gift_a_top_up_a_spending_and_a_give_back_balanced(
    api: Client, lab: PricedLab, database: Database, stripe_peer: LocalStripe
) -> None:
    ana = await make_user(database, "ana@example.fr")
    gift = await api.post(
        f"/api/places/{lab.place_id}/wallets/credits",
        json={"email": ana.email, "amount_cents": 1000, "reason": "Atelier annulé"},
        headers=lab.manager.headers,
    )
    assert gift.status_code == 201, gift.text
    top_up = await api.post(
        f"/api/places/{lab.place_id}/wallets/top-ups",
        json={"amount_cents": 2000},
        headers=ana.headers,
    )
    intent_id = top_up.json()["client_secret"].split("_secret")[0]
    stripe_peer.pay(intent_id)
    await deliver(api, stripe_peer, "payment_intent.succeeded", intent_id)
    # The printer, 2 h: 24.00, all from the wallet (30.00); then cancelled, given back whole.
    start, end = paris(2027, 3, 8, 10), paris(2027, 3, 8, 12)
    seen = await quote(api, ana, lab.lab.printer, start, end, use_wallet=True)
    assert seen["due_cents"] == 0
    booked = await checkout(
        api,
        ana,
        lab.lab.printer,
        start,
        end,
        method="on_site",
        fingerprint=seen["fingerprint"],
        use_wallet=True,
    )
    assert booked.status_code == 201, booked.text
    cancelled = await api.post(
        f"/api/bookings/{booked.json()['booking']['id']}/cancel", json={}, headers=ana.headers
    )
    assert cancelled.status_code == 200, cancelled.text

    rows = parse_fec(
        await api.get(f"/api/places/{lab.place_id}/fec?year=2027", headers=lab.manager.headers)
    )
    journals = check_balanced(rows)
    assert len(journals["OD"]) == 3  # the gift, the spending, the give-back
    assert lines_of(rows, "OD", "6718") == [(1000, 0)]
    assert lines_of(rows, "BQ", "512") == [(2000, 0)]
    assert lines_of(rows, "BQ", "4191") == [(0, 2000)]
    assert sorted(lines_of(rows, "OD", "4191")) == [(0, 1000), (0, 2400), (2400, 0)]
    assert sorted(lines_of(rows, "OD", "411")) == [(0, 2400), (2400, 0)]
    [holder] = balances(rows, "4191")
    # What the advances account owes Ana is what her wallet holds; her customer account settles.
    assert balances(rows, "4191") == {holder: -3000}
    assert balances(rows, "411") == {holder: 0}
    wallets = (await api.get("/api/me/wallets", headers=ana.headers)).json()
    assert wallets[0]["balance_cents"] == 3000
    debits = sum(int(r["Debit"].replace(",", "")) for r in rows)
    credits = sum(int(r["Credit"].replace(",", "")) for r in rows)
    assert debits == credits
