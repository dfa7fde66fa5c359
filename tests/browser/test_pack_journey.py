"""Prepaid hours in Chromium, axe-checked (issue 21, "done means"): the Fablab du Trégor's
manager adds a 10-hour pack of the laser cutter in the back office; a new citizen buys it from
the place's page (paid at the desk), books two hours of the laser cutter with it as two 1-hour
bookings (the quote shows the prepaid hours and nothing to pay), sees 8 hours left, cancels one
booking a week ahead (the full refund tier) and sees 9 hours left.

The laser cutter is priced (36,00 EUR an hour with VAT) and the citizen certified for it on the
served database for this journey only; the laser goes back to free afterwards, as the other
journeys find it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from billing.prices import PriceService
from billing.repository import BillingRepository
from billing.schemas import PriceListWrite
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from resources.hours import french_public_holidays
from resources.repository import CatalogueRepository
from resources.service import CatalogueService
from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_citizen_journey import PARIS, _sign_up
from tests.browser.test_closure_journey import _log_in
from tests.web.seed import OPEN_DAYS

BOOKED = "Votre réservation est confirmée. Gardez sa référence."
ADMIN = Actor(is_admin=True, via="system")


def _on_served(server: LiveServer, work: Callable[[Database], Awaitable[None]]) -> None:
    """Run ``work`` on the served database (in a thread: Playwright's loop owns this one)."""

    async def run() -> None:
        settings = Settings(database_url=server.database_url, database_pool_size=2)
        database = Database.from_settings(settings)
        try:
            await work(database)
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def priced_laser(server: LiveServer) -> Iterator[None]:
    """The laser cutter at 30 EUR/h excl. VAT for everyone, for this journey only."""
    town = server.town

    async def price(database: Database) -> None:
        async with database.writer() as session, session.begin():
            prices = PriceService(
                BillingRepository(session), CatalogueService(CatalogueRepository(session)), False
            )
            await prices.set_price_list(
                ADMIN,
                town.place_id,
                PriceListWrite.model_validate(
                    {
                        "resource_id": town.laser_id,
                        "rates": [{"user_type": "*", "hourly_cents": 3000}],
                    }
                ),
                datetime.now(UTC),
            )

    async def free_again(database: Database) -> None:
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "DELETE FROM price_rate WHERE price_list_id IN "
                    "(SELECT id FROM price_list WHERE resource_id = :r)"
                ),
                {"r": town.laser_id},
            )
            await connection.execute(
                text("DELETE FROM price_list WHERE resource_id = :r"), {"r": town.laser_id}
            )

    _on_served(server, price)
    yield
    _on_served(server, free_again)


def _certify(server: LiveServer, email: str) -> None:
    """The citizen holds the laser's safety training."""

    async def certify(database: Database) -> None:
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO certification (user_id, training_id, granted_on, created_at) "
                    "SELECT id, :t, :d, now() FROM user_account WHERE email = :e"
                ),
                {
                    "t": server.town.training_id,
                    "d": datetime.now(UTC).astimezone(PARIS).date(),
                    "e": email,
                },
            )

    _on_served(server, certify)


def _open_day(weeks_ahead: int) -> date:
    day = datetime.now(UTC).astimezone(PARIS).date() + timedelta(weeks=weeks_ahead)
    holidays = french_public_holidays(day, day + timedelta(days=30))
    while day.weekday() not in OPEN_DAYS or day in holidays:
        day += timedelta(days=1)
    return day


def _left(page: Page, hours: str) -> None:
    page.goto("/account/packs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes heures prépayées")
    expect(page.locator("main")).to_contain_text(f"Reste : {hours}")


def test_a_citizen_buys_a_pack_books_with_it_and_gets_an_hour_back(
    page: Page, server: LiveServer, check_page: PageChecker, priced_laser: None
) -> None:
    town = server.town
    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}")
    menu = page.get_by_role("navigation", name="Rubriques de la gestion")
    menu.get_by_role("link", name="Heures prépayées").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Heures prépayées")
    page.get_by_role("button", name="Ajouter le forfait").click()
    expect(page.get_by_role("alert")).to_contain_text("Nommez le forfait")
    check_page(page, "packs-errors")
    page.get_by_label("Nom du forfait").fill("10 h de découpe laser")
    page.get_by_label("Nombre d'heures").fill("10")
    page.get_by_label("Équipement couvert").select_option(label="Découpeuse laser")
    page.get_by_label("Prix, TVA comprise (€)").fill("150,00")
    page.get_by_label("Validité (jours à partir de l'achat)").fill("365")
    page.get_by_role("button", name="Ajouter le forfait").click()
    expect(page.get_by_role("status")).to_have_text("Le forfait est enregistré.")
    expect(page.get_by_role("heading", name="10 h de découpe laser")).to_be_visible()
    check_page(page, "packs-manager")
    page.get_by_role("button", name="Se déconnecter", exact=True).click()

    citizen = f"maiwenn-{server.backend}@example.fr"
    _sign_up(page, server, "Maïwenn Le Bihan", citizen)
    _certify(server, citizen)
    page.goto(f"/places/{town.place_id}")
    page.get_by_role("link", name="Les heures prépayées de ce lieu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Heures prépayées de Fablab du Trégor"
    )
    offer = page.get_by_role("listitem").filter(has_text="10 h de découpe laser").last
    expect(offer).to_contain_text("150,00")
    check_page(page, "packs-public")
    offer.get_by_role("button", name=re.compile("Acheter ce forfait")).click()
    expect(page.get_by_role("status")).to_have_text(
        "Le forfait est à vous : ses heures paient vos prochaines réservations."
    )
    _left(page, "10 h")
    check_page(page, "packs-mine")

    day = _open_day(2)
    booked: list[str] = []
    for start, end in (("10:00", "11:00"), ("15:00", "16:00")):
        page.goto(f"/resources/{town.laser_id}/book?day={day.isoformat()}&start={start}&end={end}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Réserver : Découpeuse laser")
        expect(page.get_by_role("row", name=re.compile("Heures prépayées"))).to_contain_text("1 h")
        expect(page.locator("main")).to_contain_text(
            "Vos heures prépayées couvrent tout : il n'y a rien à payer."
        )
        if not booked:
            check_page(page, "packs-booking")
        page.get_by_role("button", name="Confirmer la réservation").click()
        expect(page.get_by_role("status")).to_have_text(BOOKED)
        booked.append(page.url.rsplit("/", 1)[-1].split("?")[0])
    _left(page, "8 h")
    expect(page.get_by_role("row", name=re.compile("Utilisé par une réservation"))).to_have_count(2)

    page.goto(f"/account/bookings/{booked[0]}/cancel")
    expect(page.locator("#refund")).to_contain_text("1 h reviennent à vos heures prépayées.")
    check_page(page, "packs-cancel")
    page.get_by_role("button", name="Annuler cette réservation").click()
    expect(page.get_by_role("status")).to_have_text("Votre réservation est annulée.")
    _left(page, "9 h")
    expect(
        page.get_by_role("row", name=re.compile("Rendu \\(réservation annulée\\)"))
    ).to_contain_text("+1 h")
    check_page(page, "packs-given-back")

    # The manager sees who holds what, and records the money at the desk.
    page.get_by_role("button", name="Se déconnecter", exact=True).click()
    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}/packs")
    row = page.get_by_role("row", name=re.compile(re.escape(citizen)))
    expect(row).to_contain_text("9 h")
    expect(row).to_contain_text("à payer sur place")
    row.get_by_role("button", name=re.compile("Sommes encaissées")).click()
    expect(page.get_by_role("status")).to_have_text(
        "Le paiement du forfait est enregistré : sa facture est émise."
    )
    check_page(page, "packs-holders")
