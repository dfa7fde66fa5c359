"""A member's price on pages: the resource page says what an hour costs them after their
membership's benefits, and the booking page's quote lists the included hour then the member
discount — the quote checkout charges."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.web.helpers import another_browser, csrf, log_in, submit
from tests.web.seed import Town
from tests.web.test_citizen_pages import SLOT, price_the_printer, text


async def _member_of_a_plan(web: httpx.AsyncClient, citizen: httpx.AsyncClient, town: Town) -> None:
    """The manager adds a yearly plan (1 h of the printer, 10 % off); the citizen joins it on
    site, which gives its benefits at once."""
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/plans"
    made = await submit(
        web,
        url,
        url,
        {
            "name": "Adhésion annuelle",
            "period": "year",
            "price": "25,00",
            "vat": "20",
            "discount": "10",
            "hours": "1",
            "target": f"resource:{town.printer_id}",
        },
    )
    assert made.status_code == 303, text(made.text)[:400]
    plans = await citizen.get(f"/places/{town.place_id}/plans")
    plan_id = int(plans.text.split(f"/places/{town.place_id}/plans/")[1].split("/")[0])
    joined = await citizen.post(
        f"/places/{town.place_id}/plans/{plan_id}/subscribe",
        data={"_csrf_token": csrf(plans.text)},
    )
    assert joined.status_code == 303, text(joined.text)[:400]


async def test_the_resource_page_and_the_quote_show_a_member_s_price_after_benefits(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    async with another_browser(web) as citizen:
        await log_in(citizen, town.citizen_email)
        before = text((await citizen.get(f"/resources/{town.printer_id}")).text)
        assert "Avec votre adhésion" not in before
        await _member_of_a_plan(web, citizen, town)
        await _shows_the_member_price(citizen, town)


async def _shows_the_member_price(web: httpx.AsyncClient, town: Town) -> None:

    page = text((await web.get(f"/resources/{town.printer_id}")).text)
    # An hour is included: it costs nothing, and the page says what is left.
    assert "Avec votre adhésion : 0,00 € pour 1 h." in page, page
    assert "Heures incluses restantes dans votre adhésion : 1 h." in page

    # Two hours: one included, the other at 10 EUR less 10 %, plus 20 % VAT: 10,80 EUR.
    review = await web.get(f"/resources/{town.printer_id}/book", params={**SLOT, "end": "12:00"})
    assert review.status_code == 200
    quote = text(review.text)
    assert "Heures incluses dans votre adhésion" in quote
    assert "Remise adhérent (10 %)" in quote
    assert quote.index("Heures incluses dans votre adhésion") < quote.index("Remise adhérent")
    assert "10,80 €" in quote
