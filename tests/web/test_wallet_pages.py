"""Wallet pages: a manager credits a person's wallet with a reason; the person sees it, pays a
booking from it on the booking page, and sees the movement.

Now is Monday 1 March 2027, 09:00 in Paris; the printer costs 12,00 EUR an hour with VAT.
"""

from __future__ import annotations

import httpx
from sqlalchemy import text as text_sql

from kernel.db import Database
from tests.web.helpers import log_in, submit, unlabelled_controls
from tests.web.seed import Town
from tests.web.test_citizen_pages import SLOT, price_the_printer, text
from tests.web.test_coupon_pages import fields


async def _payments(database: Database) -> list[tuple[str, int, int]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text_sql("SELECT method, amount_cents, wallet_cents FROM payment ORDER BY id")
        )
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]


async def test_a_manager_credits_a_wallet_and_the_person_pays_a_booking_from_it(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/wallets"
    empty = await web.get(url)
    assert empty.status_code == 200
    assert unlabelled_controls(empty.text) == []
    wrong = await submit(web, url, f"{url}/credits", {"email": "x@y.z", "amount": "dix"})
    assert wrong.status_code == 422
    page = text(wrong.text)
    assert "Saisissez un montant comme 10,00" in page and "Dites pourquoi" in page
    credited = await submit(
        web,
        url,
        f"{url}/credits",
        {"email": town.citizen_email, "amount": "5,00", "reason": "Atelier annulé par le lieu"},
    )
    assert credited.status_code == 303, text(credited.text)[:400]
    listing = text((await web.get(url)).text)
    assert "Solde : 5,00 €" in listing and "Atelier annulé par le lieu" in listing

    await submit(web, "/account", "/logout", {})
    await log_in(web, town.citizen_email)
    mine = await web.get("/account/wallet")
    assert mine.status_code == 200
    assert "Solde : 5,00 €" in text(mine.text) and "Crédité par le lieu" in text(mine.text)

    plain = await web.get(f"/resources/{town.printer_id}/book", params=SLOT)
    assert "Payer d'abord avec mon porte-monnaie (solde : 5,00 €)" in text(plain.text)
    with_wallet = await web.get(
        f"/resources/{town.printer_id}/book", params={**SLOT, "wallet": "1"}
    )
    page = text(with_wallet.text)
    assert "Payé avec votre porte-monnaie -5,00 €" in page and "Reste à payer 7,00 €" in page
    assert unlabelled_controls(with_wallet.text) == []
    booked = await web.post(
        f"/resources/{town.printer_id}/book", data=fields(with_wallet, "on_site")
    )
    assert booked.status_code == 303, text(booked.text)[:400]
    assert await _payments(database) == [("on_site", 700, 500)]
    after = text((await web.get("/account/wallet")).text)
    assert "Solde : 0,00 €" in after and "Réservation payée" in after
    # Cancelled before paying on site: the page says the wallet's share comes back, and it does.
    booking_url = booked.headers["location"].split("?")[0]
    cancel_page = await web.get(f"{booking_url}/cancel")
    assert "5,00 € reviennent dans votre porte-monnaie du lieu." in text(cancel_page.text)
    assert unlabelled_controls(cancel_page.text) == []
    cancelled = await submit(web, f"{booking_url}/cancel", f"{booking_url}/cancel", {})
    assert cancelled.status_code == 303, text(cancelled.text)[:400]
    back = text((await web.get("/account/wallet")).text)
    assert "Solde : 5,00 €" in back and "Rendu (réservation annulée)" in back
