"""A manager books a walk-in on the planning grid and records a cheque, in Chromium.

The grid (day and week, desktop table and phone list, printed), the front-desk form opened
from a free cell, the booking's page where the cheque is received; each page checked by
axe-core and photographed on demand at 360 and 1280 px (tests/artifacts/browser/), and the new pages
at 390 and 1280 px, and printed, into /work/shots/grid/ when that folder exists.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from billing.schemas import PriceListWrite
from kernel.db import Database
from kernel.settings import Settings
from resources.hours import french_public_holidays
from resources.schemas import ResourceCreate
from tests.browser.support import LiveServer, PageChecker
from tests.support.apps import runtime_on
from tests.web.seed import ADMIN, PASSWORD, Town

SHOTS = Path("/work/shots/grid")
# The other place of the seeded town (the Médiathèque), open Tuesday to Saturday, 10:00-18:00:
# the invoices issued here stay out of the Fablab's, which the manager's journey counts.
MEDIATHEQUE_DAYS = range(1, 6)
_seeded: dict[str, tuple[int, date]] = {}


def _open_day_after(day: date) -> date:
    holidays = french_public_holidays(day, day + timedelta(days=30))
    while day.weekday() not in MEDIATHEQUE_DAYS or day in holidays:
        day += timedelta(days=1)
    return day


async def _seed(database_url: str, town: Town) -> tuple[int, date]:
    """An embroidery machine at 10 € an hour (excl. VAT)."""
    now = datetime.now(UTC)
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        async with (
            runtime_on(database, lambda: now) as runtime,
            database.writer() as session,
            session.begin(),
        ):
            prices = runtime.billing.services(session).prices
            machine = await prices.catalogue.create_resource(
                ADMIN,
                town.other_place_id,
                ResourceCreate(name="Brodeuse numérique", kind="machine"),
            )
            await prices.set_price_list(
                ADMIN,
                town.other_place_id,
                PriceListWrite.model_validate(
                    {"resource_id": machine.id, "rates": [{"user_type": "*", "hourly_cents": 1000}]}
                ),
                now,
            )
    finally:
        await database.dispose()
    # Three weeks on: clear of what the other journeys book.
    return machine.id, _open_day_after(town.booking_day + timedelta(days=21))


@pytest.fixture
def machine(server: LiveServer) -> tuple[int, date]:
    """The priced machine and the day the journey books it, seeded once per database."""
    if server.backend not in _seeded:
        with ThreadPoolExecutor(max_workers=1) as pool:
            seeding = pool.submit(asyncio.run, _seed(server.database_url, server.town))
            _seeded[server.backend] = seeding.result()
    return _seeded[server.backend]


def _shoot(page: Page, name: str) -> None:
    """The page at 390 and 1280 px, and printed, for people to look at."""
    if not SHOTS.is_dir():
        return
    original = page.viewport_size or {"width": 1280, "height": 900}
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(original)


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def test_a_manager_books_a_walk_in_on_the_grid_and_records_a_cheque(
    page: Page, server: LiveServer, machine: tuple[int, date], check_page: PageChecker
) -> None:
    machine_id, day = machine
    town = server.town
    _log_in(page, town.other_manager_email)
    page.goto(f"/manage/places/{town.other_place_id}")
    page.get_by_role("navigation", name="Rubriques de la gestion").get_by_role(
        "link", name="Planning"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Planning du "))
    page.get_by_label("Aller au jour").fill(day.isoformat())
    page.get_by_role("button", name="Afficher").click()
    grid = page.get_by_role("table", name=re.compile("^Équipements par heure"))
    expect(grid).to_be_visible()
    check_page(page, "manage-grid-day")
    _shoot(page, "grid-day-before")

    # A free cell of the machine at 10:00 opens the front desk on it.
    grid.get_by_role("link", name=re.compile(r"^Réserver Brodeuse numérique, .*, 10:00$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accueil")
    expect(page.get_by_label("Machine, salle ou postes")).to_have_value(str(machine_id))
    expect(page.get_by_label("Début")).to_have_value("10:00")
    expect(page.get_by_label("Fin", exact=True)).to_have_value("11:00")
    page.get_by_label("Fin", exact=True).fill("12:00")
    page.get_by_label(re.compile("^Une personne de passage")).check()
    page.get_by_label("Nom de la personne de passage").fill("Yann Le Goff")
    page.get_by_label("Téléphone de la personne de passage").fill("06 12 34 56 78")
    page.get_by_label("Sur place").check()
    check_page(page, "manage-desk")
    _shoot(page, "desk")
    page.get_by_role("button", name="Réserver", exact=True).click()

    # The booking's page: at the walk-in's rate (2 h at 12 € VAT included), to pay on site.
    expect(page.get_by_role("status")).to_have_text(
        "La réservation est faite. Encaissez son paiement ci-dessous si elle est payante."
    )
    expect(page.get_by_text("Yann Le Goff", exact=True)).to_be_visible()
    # A walk-in: the place answers for their data (export, or erase behind a confirmation).
    expect(
        page.get_by_role("heading", name="Données personnelles de cette personne accueillie")
    ).to_be_visible()
    expect(page.get_by_text("À régler sur place")).to_be_visible()
    expect(page.get_by_label("Montant reçu (€)")).to_have_value("24,00")
    page.get_by_label("Payé par").select_option(label="Chèque")
    page.get_by_label("Référence (numéro de chèque, libellé du virement)").fill("1234567")
    check_page(page, "manage-desk-booking")
    _shoot(page, "booking-to-pay")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.get_by_role("status")).to_have_text("Le paiement est enregistré.")
    expect(page.get_by_text("Payé (Chèque)")).to_be_visible()
    received = page.get_by_role("table", name="Sommes encaissées")
    expect(received.get_by_role("row", name=re.compile("1234567"))).to_contain_text("24,00")
    expect(page.get_by_role("link", name=re.compile("^PDF "))).to_have_count(1)
    check_page(page, "manage-desk-paid")
    _shoot(page, "booking-paid")

    # Back on the grid, the booking is a block, paid; it opens the booking.
    page.goto(f"/manage/places/{town.other_place_id}/grid?day={day.isoformat()}")
    block = page.get_by_role("table").get_by_role("link", name=re.compile("Yann Le Goff"))
    expect(block).to_contain_text("10:00")
    expect(block).to_contain_text("Confirmée, payée")
    expect(page.get_by_role("cell", name=re.compile("Yann Le Goff"))).to_have_attribute(
        "colspan", "2"
    )
    check_page(page, "manage-grid-day-booked")
    _shoot(page, "grid-day-after")
    page.emulate_media(media="print")
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / "grid-day-print.png"), full_page=True)
    page.emulate_media(media="screen")
    # On a phone, the same bookings as a list per resource.
    page.set_viewport_size({"width": 390, "height": 900})
    expect(page.get_by_role("table")).to_be_hidden()
    phone = page.get_by_role("region", name="Brodeuse numérique")
    expect(phone.get_by_role("link", name=re.compile("Yann Le Goff"))).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Toute la semaine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Planning de la semaine"))
    check_page(page, "manage-grid-week")
    _shoot(page, "grid-week")
    page.get_by_role("table").get_by_role("link", name=re.compile("Yann Le Goff")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Réservation MLB-"))
