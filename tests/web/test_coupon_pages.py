"""A promo code on the booking page: applied to the quote shown, and booked at that price.

Now is Monday 1 March 2027, 09:00 in Paris; the printer costs 12,00 EUR an hour with VAT.
"""

from __future__ import annotations

import re

import httpx
from sqlalchemy import text as text_sql

from billing.coupon_models import Coupon
from kernel.db import Database
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, log_in, submit, unlabelled_controls
from tests.web.seed import Town
from tests.web.test_citizen_pages import SLOT, price_the_printer, text


async def review(web: httpx.AsyncClient, town: Town) -> httpx.Response:
    """The review page of the printer on Thursday 10:00-11:00."""
    return await web.get(f"/resources/{town.printer_id}/book", params=SLOT)


def fields(page: httpx.Response, method: str) -> dict[str, str]:
    """What the browser sends from the review page's form (its hidden fields as they are)."""
    hidden = {
        name: value
        for name, value in re.findall(
            r'<input type="hidden" name="(\w+)"(?: id="[\w-]+")? value="([^"]*)"', page.text
        )
    }
    assert "fingerprint" in hidden and "_once" in hidden, "no quote on the review page"
    # The promo code as its field shows it, and "pay from my wallet" when ticked.
    coupon = by_id(page.text, "coupon")["value"]
    wallet = (
        {"wallet": "1"}
        if re.search(r'id="wallet" name="wallet" value="1" checked', page.text)
        else {}
    )
    return {
        **SLOT,
        **hidden,
        **wallet,
        "coupon": coupon,
        "method": method,
        "_csrf_token": csrf(page.text),
    }


async def _coupon(database: Database, town: Town, code: str, percent_bp: int) -> None:
    async with database.writer() as session, session.begin():
        session.add(
            Coupon(
                place_id=town.place_id,
                code=code,
                percent_bp=percent_bp,
                created_at=FIXED_NOW,
                updated_at=FIXED_NOW,
            )
        )


async def _paid(database: Database) -> list[int]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(text_sql("SELECT amount_cents FROM payment ORDER BY id"))
        return [int(r[0]) for r in rows]


async def test_a_promo_code_is_applied_to_the_quote_and_booked_at_that_price(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await _coupon(database, town, "PRINTEMPS", 5000)
    await log_in(web, town.citizen_email)
    url = f"/resources/{town.printer_id}/book"

    plain = await review(web, town)
    assert unlabelled_controls(plain.text) == []
    assert by_id(plain.text, "coupon")["value"] == ""
    # Typed, then "confirm" pressed without applying it: the price with it is shown first.
    typed = await web.post(url, data={**fields(plain, "on_site"), "coupon": "printemps"})
    assert typed.status_code == 409
    page = text(typed.text)
    assert "Vous avez changé le code promo" in page
    assert "Code promo PRINTEMPS (50 %) -6,00 €" in page
    assert "Total à payer 6,00 € dont TVA à 20 % 1,00 €" in page
    assert await _paid(database) == []

    booked = await web.post(url, data={**fields(typed, "on_site"), "coupon": "printemps"})
    assert booked.status_code == 303, text(booked.text)[:400]
    assert await _paid(database) == [600]


async def test_a_code_that_cannot_be_used_is_said_next_to_its_field(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    refused = await web.get(f"/resources/{town.printer_id}/book", params={**SLOT, "coupon": "NOPE"})
    assert refused.status_code == 422
    page = text(refused.text)
    assert "Ce code n'est pas un code promo de ce lieu." in page
    # The price without it is still shown.
    assert "Total à payer 12,00 €" in page
    assert re.search(r'<div class="field field-invalid">\s*<label for="coupon">', refused.text)


async def test_a_manager_adds_a_promo_code_sees_who_used_it_and_withdraws_it(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/coupons"
    empty = await web.get(url)
    assert empty.status_code == 200
    assert unlabelled_controls(empty.text) == []
    assert "Ce lieu n'a pas encore de code promo." in text(empty.text)

    wrong = await submit(
        web, url, url, {"code": "x", "kind": "percent", "value": "150", "max_uses": "0"}
    )
    assert wrong.status_code == 422
    page = text(wrong.text)
    assert "Saisissez de 3 à 32 lettres" in page
    assert "Saisissez un pourcentage de 0,01 à 100" in page
    added = await submit(
        web,
        url,
        url,
        {
            "code": "atelier",
            "kind": "amount",
            "value": "5,00",
            "valid_until": "2027-06-30",
            "max_uses": "20",
            "resource_ids": str(town.printer_id),
        },
    )
    assert added.status_code == 303, text(added.text)[:400]
    listing = text((await web.get(url)).text)
    assert "ATELIER 5,00 €" in listing and "0 sur 20" in listing
    taken = await submit(web, url, url, {"code": "Atelier", "kind": "percent", "value": "10"})
    assert taken.status_code == 422 and "Ce lieu a déjà ce code." in text(taken.text)

    # A citizen uses it; the manager sees who.
    await _switch(web, town.citizen_email)
    shown = await web.get(
        f"/resources/{town.printer_id}/book", params={**SLOT, "coupon": "atelier"}
    )
    assert "Total à payer 7,00 €" in text(shown.text)
    booked = await web.post(f"/resources/{town.printer_id}/book", data=fields(shown, "on_site"))
    assert booked.status_code == 303, text(booked.text)[:400]
    await _switch(web, town.manager_email)
    listing = text((await web.get(url)).text)
    assert "1 sur 20" in listing and "Qui a utilisé ATELIER" in listing

    coupon_id = await _coupon_id(database, "ATELIER")
    withdrawn = await submit(web, url, f"{url}/{coupon_id}/active", {"active": "0"})
    assert withdrawn.status_code == 303
    assert "Rétablir ATELIER" in text((await web.get(url)).text)
    await _switch(web, town.citizen_email)
    refused = await web.get(
        f"/resources/{town.printer_id}/book",
        params={**SLOT, "day": "2027-03-05", "coupon": "atelier"},
    )
    assert "Ce code n'est pas un code promo de ce lieu." in text(refused.text)


async def _switch(web: httpx.AsyncClient, email: str) -> None:
    await submit(web, "/account", "/logout", {})
    await log_in(web, email)


async def _coupon_id(database: Database, code: str) -> int:
    async with database.engine.connect() as conn:
        found = await conn.execute(text_sql("SELECT id FROM coupon WHERE code = :c"), {"c": code})
        return int(found.scalar_one())
