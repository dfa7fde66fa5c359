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
from tests.web.helpers import by_id, csrf, log_in, unlabelled_controls
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
    return {**SLOT, **hidden, "method": method, "_csrf_token": csrf(page.text)}


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
