"""The back office's accounting page: the fiscal year and account numbers saved or refused by
field, closing refused with its reason and then done, and the month then listed."""

from __future__ import annotations

import httpx
from sqlalchemy import text as sql

from kernel.db import Database
from tests.web.helpers import by_id, log_in, submit, text, unlabelled_controls
from tests.web.seed import Town

API = {"accept": "application/json"}


async def test_accounts_are_saved_or_refused_by_field(web: httpx.AsyncClient, town: Town) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/accounting"
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    assert by_id(page.text, "cheque")["value"] == "5112"
    fields = {
        "fiscal_year_start_month": "7",
        "sales": "706 100",
        "customers": "411",
        "bank": "512",
        "cash": "530",
        "cheque": "5112",
        "vat": "4457",
        "wallet": "4191",
        "wallet_gifts": "6718",
    }
    wrong = await submit(
        web, url, f"{url}/settings", {**fields, "bank": "banque", "fiscal_year_start_month": "13"}
    )
    assert wrong.status_code == 422
    assert "Saisissez un numéro de compte" in text(wrong.text)
    assert by_id(wrong.text, "bank")["aria-invalid"] == "true"
    assert by_id(wrong.text, "fiscal_year_start_month")["aria-invalid"] == "true"
    saved = await submit(web, url, f"{url}/settings", fields)
    assert saved.status_code == 303
    assert "L'exercice et les numéros de comptes sont enregistrés." in text(
        (await web.get(saved.headers["location"])).text
    )
    stored = (await web.get(f"/api/places/{town.place_id}/accounting", headers=API)).json()
    assert stored["fiscal_year_start_month"] == 7
    assert stored["accounts"]["sales"] == "706100"


async def test_a_month_is_closed_once_ended_and_listed(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/accounting"
    no_siret = await submit(web, url, f"{url}/close", {"kind": "month", "month": "2020-01"})
    assert no_siret.status_code == 409
    assert "SIRET" in text(no_siret.text)
    async with database.writer() as session, session.begin():
        await session.execute(
            sql("UPDATE place SET operator_siret = '73282932000074' WHERE id = :id"),
            {"id": town.place_id},
        )
    wrong = await submit(web, url, f"{url}/close", {"kind": "month", "month": "janvier"})
    assert wrong.status_code == 422 and by_id(wrong.text, "month")["aria-invalid"] == "true"
    future = await submit(web, url, f"{url}/close", {"kind": "year", "year": "2999"})
    assert future.status_code == 409
    assert "Cette période n'est pas terminée" in text(future.text)
    closed = await submit(web, url, f"{url}/close", {"kind": "month", "month": "2020-01"})
    assert closed.status_code == 303
    listed = text((await web.get(closed.headers["location"])).text)
    assert "La période est clôturée" in listed
    assert "Mois 2020-01" in listed and "732829320-cloture-2020-01.zip" in listed
    again = await submit(web, url, f"{url}/close", {"kind": "month", "month": "2020-01"})
    assert again.status_code == 409 and "Cette période est déjà clôturée." in text(again.text)
