"""A manager opens the place's accounting page (issue 23): closing without the operator's SIRET
says what to do, then last month is closed, listed with its archive, which downloads with its
SHA-256 manifest; the FEC of the year downloads under its legal name. Checked by axe-core."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import text

from kernel.db import Database
from kernel.settings import Settings
from tests.browser.support import LiveServer, PageChecker
from tests.web.seed import PARIS, PASSWORD


async def _give_siret(database_url: str, place_id: int) -> None:
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        async with database.writer() as session, session.begin():
            await session.execute(
                text("UPDATE place SET operator_siret = '73282932000074' WHERE id = :id"),
                {"id": place_id},
            )
    finally:
        await database.dispose()


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def test_a_manager_closes_last_month_and_downloads_its_archive_and_the_fec(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town
    today = datetime.now(PARIS).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}")
    menu = page.get_by_role("navigation", name="Rubriques de la gestion")
    menu.get_by_role("link", name="Comptabilité").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Comptabilité")
    expect(page.get_by_text("Aucune période n'est encore clôturée.")).to_be_visible()
    check_page(page, "manage-accounting")

    # Without the operator's SIRET, nothing can be named: the page says what to do.
    page.get_by_label("Mois à clôturer").fill(last_month)
    page.get_by_role("button", name="Clôturer ce mois").click()
    expect(page.get_by_role("alert")).to_contain_text("SIRET")
    check_page(page, "manage-accounting-refused")

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _give_siret(server.database_url, town.place_id)).result()
    page.get_by_label("Mois à clôturer").fill(last_month)
    page.get_by_role("button", name="Clôturer ce mois").click()
    expect(page.locator(".notice")).to_contain_text("La période est clôturée")
    closed = page.get_by_role("table", name=re.compile("Périodes clôturées"))
    expect(closed).to_contain_text(f"Mois {last_month}")
    check_page(page, "manage-accounting-closed")

    with page.expect_download() as archive_info:
        closed.get_by_role("link", name=re.compile(r"cloture-.*\.zip")).click()
    archive = Path(archive_info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        names = set(opened.namelist())
    assert {"SHA256SUMS", "chaine.json"} <= names
    last_day = date.fromisoformat(f"{last_month}-01").replace(day=28) + timedelta(days=4)
    last_day -= timedelta(days=last_day.day)
    assert f"732829320FEC{last_day:%Y%m%d}.txt" in names

    page.get_by_label("Exercice commençant en").fill(str(today.year))
    with page.expect_download() as fec_info:
        page.get_by_role("button", name="Télécharger le FEC").click()
    assert fec_info.value.suggested_filename == f"732829320FEC{today.year}1231.txt"
    header = Path(fec_info.value.path()).read_bytes().split(b"\r\n")[0]
    assert header.startswith(b"JournalCode\tJournalLib\tEcritureNum")
