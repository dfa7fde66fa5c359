"""The manager's back office in Chromium: a closure, a price for
schools, the cancellation policy, the week agenda with requests to approve and refuse, a
certification, an on-site payment, the invoices; and another place's manager kept out.

Each page visited is checked by axe-core (nothing serious or critical), must not scroll
sideways at 360 px, and is photographed on demand at 360 and 1280 px (tests/artifacts/browser/).
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from kernel.db import Database
from kernel.settings import Settings
from resources.hours import french_public_holidays
from tests.browser.support import LiveServer, PageChecker
from tests.web.manage_seed import BackOffice, seed_back_office
from tests.web.seed import OPEN_DAYS, PASSWORD, Town

_seeded: dict[str, tuple[BackOffice, date]] = {}
RESOURCE_LINK = "1 \u00d7 Imprimante 3D"  # quantity x name, as the agenda writes it
# An invoice as the booking page lists it: "Facture PREFIX-YEAR-NUMBER".
INVOICE_NUMBER = re.compile(r"Facture (\S+-\d{4}-\d{6})")


def _open_day_after(day: date) -> date:
    holidays = french_public_holidays(day, day + timedelta(days=30))
    while day.weekday() not in OPEN_DAYS or day in holidays:
        day += timedelta(days=1)
    return day


async def _seed(database_url: str, town: Town) -> tuple[BackOffice, date]:
    # A week after the town's booking: clear of what the other journeys book.
    day = _open_day_after(town.booking_day + timedelta(days=7))
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    try:
        return await seed_back_office(database, town, datetime.now(UTC), day), day
    finally:
        await database.dispose()


@pytest.fixture
def office(server: LiveServer) -> tuple[BackOffice, date]:
    """Requests awaiting approval and a booking to pay on site, seeded once per database."""
    if server.backend not in _seeded:
        # In a thread of its own: Playwright's event loop owns this one.
        with ThreadPoolExecutor(max_workers=1) as pool:
            seeding = pool.submit(asyncio.run, _seed(server.database_url, server.town))
            _seeded[server.backend] = seeding.result()
    return _seeded[server.backend]


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def _notice(page: Page, message: str) -> None:
    expect(page.get_by_role("status")).to_have_text(message)


def test_a_manager_runs_the_place_from_the_back_office(
    page: Page,
    server: LiveServer,
    office: tuple[BackOffice, date],
    check_page: PageChecker,
) -> None:
    seeded, day = office
    town = server.town
    _log_in(page, town.manager_email)
    page.get_by_role("link", name="Gestion", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gestion")
    check_page(page, "manage-index")
    page.get_by_role("link", name=re.compile("^Gérer ce lieu")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fablab du Trégor")
    check_page(page, "manage-place")
    menu = page.get_by_role("navigation", name="Rubriques de la gestion")

    # An exceptional closure, three weeks ahead.
    closed = _open_day_after(datetime.now(UTC).date() + timedelta(days=21))
    menu.get_by_role("link", name="Fermetures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fermetures")
    check_page(page, "manage-closures")
    page.get_by_label("Jour", exact=True).fill(closed.isoformat())
    page.get_by_label("Motif affiché au public").fill("Formation de l'équipe")
    page.get_by_role("button", name="Ajouter la fermeture").click()
    _notice(page, "La fermeture est ajoutée.")
    expect(page.get_by_role("row", name=re.compile("Formation de l'équipe"))).to_contain_text(
        "Fermé"
    )

    # A price for schools on the laser cutter.
    menu.get_by_role("link", name="Tarifs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tarifs")
    check_page(page, "manage-prices")
    page.get_by_label("Équipement concerné").select_option(label="Découpeuse laser")
    page.get_by_label("Tarif", exact=True).select_option(label="Établissement scolaire")
    page.get_by_label("Prix par heure, hors taxes (€)").fill("8,00")
    page.get_by_role("button", name="Enregistrer le tarif").click()
    _notice(page, "Le tarif est enregistré.")
    school = page.get_by_role("row", name=re.compile("^Établissement scolaire"))
    expect(school).to_contain_text("8,00")
    expect(school).to_contain_text("9,60")  # VAT 20 % included
    check_page(page, "manage-prices-saved")

    # The cancellation policy: deadline and refund tiers.
    menu.get_by_role("link", name="Conditions d'annulation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conditions d'annulation")
    check_page(page, "manage-policy")
    page.get_by_label("Délai d'annulation (heures avant le début)").fill("48")
    page.get_by_label("Palier 1 : heures avant").fill("48")
    page.get_by_label("pourcentage remboursé (palier 1)").fill("100")
    page.get_by_label("Palier 2 : heures avant").fill("12")
    page.get_by_label("pourcentage remboursé (palier 2)").fill("50")
    page.get_by_role("button", name="Enregistrer les conditions").click()
    _notice(page, "Les conditions d'annulation sont enregistrées.")
    expect(page.get_by_label("Délai d'annulation (heures avant le début)")).to_have_value("48")

    # The week agenda: two requests await approval; one is approved, the other refused.
    page.goto(f"/manage/places/{town.place_id}/agenda?from={day.isoformat()}")
    expect(page.get_by_text("2 réservations attendent votre accord.")).to_be_visible()
    requests = page.get_by_role("link", name=RESOURCE_LINK)
    expect(requests).to_have_count(2)
    check_page(page, "manage-agenda")
    requests.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Réservation MLB-"))
    check_page(page, "manage-booking")
    page.get_by_label("Message à la personne qui réserve").fill("Bienvenue à l'atelier")
    page.get_by_role("button", name="Accepter la réservation").click()
    _notice(page, "La réservation est acceptée.")
    expect(page.get_by_text("Confirmée \u2013 Bienvenue à l'atelier")).to_be_visible()
    page.get_by_role("link", name="Voir ce jour dans l'agenda").click()
    expect(page.get_by_text("1 réservation attend votre accord.")).to_be_visible()
    check_page(page, "manage-agenda-day")
    page.get_by_role("link", name=RESOURCE_LINK).nth(1).click()
    page.get_by_label("Message à la personne qui réserve").fill("Machine en révision")
    page.get_by_role("button", name="Refuser la réservation").click()
    _notice(page, "La réservation est refusée.")
    expect(page.get_by_text("Refusée \u2013 Machine en révision")).to_be_visible()

    # A certification for the citizen, found by e-mail.
    menu.get_by_role("link", name="Usagers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Usagers")
    page.get_by_label("Adresse e-mail de la personne").fill(town.citizen_email)
    page.get_by_role("button", name="Trouver").click()
    expect(page.get_by_role("heading", level=2, name="camille")).to_be_visible()
    check_page(page, "manage-people")
    page.get_by_label("Formation").select_option(label="Sécurité laser")
    page.get_by_role("button", name="Enregistrer l'habilitation").click()
    _notice(page, "L'habilitation est enregistrée.")

    # The on-site payment of the laser booking, then its invoice.
    page.goto(f"/manage/bookings/{seeded.on_site_booking_id}")
    expect(page.get_by_text("À régler sur place")).to_be_visible()
    page.get_by_label("Payé par").select_option(label="Chèque")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    _notice(page, "Le paiement est enregistré.")
    expect(page.get_by_text("Payé (Chèque)")).to_be_visible()
    check_page(page, "manage-payment")
    # Its number: the prefix is the fablab's setting, which another journey changes.
    issued = page.locator("li", has_text=INVOICE_NUMBER).inner_text()
    found = INVOICE_NUMBER.search(issued)
    assert found is not None, issued
    number = found.group(1)
    menu.get_by_role("link", name="Factures").click()
    # Found by its number: other journeys issue the fablab's invoices too.
    page.get_by_label("Client, e-mail, numéro ou bon de commande").fill(number)
    page.get_by_role("button", name="Trouver").click()
    expect(page.get_by_text("1 document trouvé.")).to_be_visible()
    check_page(page, "manage-invoices")
    row = page.get_by_role("row", name=re.compile(f"^{re.escape(number)}"))
    expect(row).to_contain_text("6,00")
    expect(row).to_contain_text("Payée")
    # A treasurer's questions: what is still to be paid (nothing), then what was paid.
    page.get_by_label("État").select_option(label="À payer")
    page.get_by_role("button", name="Trouver").click()
    expect(page.get_by_text("0 document trouvé.")).to_be_visible()
    page.get_by_label("État").select_option(label="Payée")
    page.get_by_role("button", name="Trouver").click()
    expect(page.get_by_text("1 document trouvé.")).to_be_visible()
    check_page(page, "manage-invoices-paid")
    # On a phone each document is a card whose links are on screen, not off to the side.
    page.set_viewport_size({"width": 390, "height": 900})
    box = row.get_by_role("link", name=f"PDF {number}").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.set_viewport_size({"width": 1280, "height": 900})
    row.get_by_role("link", name=f"Voir {number}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(f"^Facture n° {re.escape(number)}")
    )
    # The invoice is billing's printable A4 document (billing/render.py), not one of these
    # pages: it is wider than a phone, so it is not put through check_page.
    # The webhooks that hear the place (none here: they are made through the API).
    page.goto(f"/manage/places/{town.place_id}/webhooks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    expect(page.get_by_text("Aucune adresse ne reçoit encore")).to_be_visible()
    check_page(page, "manage-webhooks")


def test_another_place_s_manager_cannot_open_this_back_office(
    page: Page,
    server: LiveServer,
    office: tuple[BackOffice, date],
    check_page: PageChecker,
) -> None:
    seeded, _ = office
    town = server.town
    _log_in(page, town.other_manager_email)
    page.goto("/manage")
    expect(page.get_by_role("link", name=re.compile("^Gérer ce lieu"))).to_have_count(1)
    expect(page.get_by_text("Fablab du Trégor")).to_have_count(0)
    for path in (
        "",
        "/agenda",
        "/closures",
        "/prices",
        "/policy",
        "/people",
        "/invoices",
        "/webhooks",
    ):
        response = page.goto(f"/manage/places/{town.place_id}{path}")
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
    check_page(page, "manage-refused")
    response = page.goto(f"/manage/bookings/{seeded.first_request_id}")
    assert response is not None and response.status in (403, 404)
    expect(page.get_by_text("camille")).to_have_count(0)
