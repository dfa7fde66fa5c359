"""The citizen journey in Chromium: find a place, pick a free time,
review its quote, pay on invoice, take the booking to a calendar, then cancel it after seeing
what comes back; and a price that changes between the review and the confirmation.

The meeting room of the Médiathèque des Capucins costs 10 EUR an hour excluding VAT (12 EUR
with VAT); the place takes payments on site or on invoice. Each page visited is checked by
axe-core (nothing serious or critical), must not scroll sideways at 360 px, and is photographed on
demand at 360 and 1280 px (tests/artifacts/browser/).
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar
from playwright.sync_api import Page, expect

from kernel.db import Database
from kernel.settings import Settings
from tests.browser.support import LiveServer, PageChecker, mailed_link
from tests.web.test_citizen_pages import price_for_everyone

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "quartz-meadow-lantern-58"
BOOKED = "Votre réservation est confirmée. Gardez sa référence."


def _price_room(server: LiveServer, hourly_cents: int) -> None:
    """Price the room on the served database (in a thread: Playwright's loop owns this one)."""

    async def price() -> None:
        settings = Settings(database_url=server.database_url, database_pool_size=2)
        database = Database.from_settings(settings)
        try:
            town = server.town
            await price_for_everyone(
                database, town.other_place_id, town.room_id, hourly_cents, datetime.now(UTC)
            )
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, price()).result()


# The addresses signed up in this run: the journeys share one server, and a second sign-up
# with an address is mailed no new link (the first journey's account holds it).
_SIGNED_UP: set[str] = set()


def _sign_up(page: Page, server: LiveServer, name: str, email: str) -> None:
    assert email not in _SIGNED_UP, (
        f"{email} is signed up by another journey on this shared server: give each its own"
    )
    _SIGNED_UP.add(email)
    page.goto("/signup")
    page.get_by_label("Votre nom").fill(name)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre boîte de réception")
    # The link mailed to the address, and the password, confirm the account and log in.
    page.goto(mailed_link(server, email, "account_verify", "/verify-email"))
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Confirmer mon adresse").click()
    expect(page.get_by_role("status")).to_contain_text("Votre adresse électronique est confirmée")


def _open_next_week_of_the_room(page: Page, check_page: PageChecker, name: str) -> None:
    page.goto("/")
    page.get_by_label("Commune").fill("Brest")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Médiathèque des Capucins").click()
    page.get_by_role("link", name="Salle de réunion").click()
    # The price as its parts: 12,00 EUR an hour, VAT included (no fee for the room).
    expect(page.locator("dd", has_text="Tarif horaire")).to_contain_text("12,00\u00a0€")
    expect(page.get_by_text("Votre tarif : Particulier.")).to_be_visible()
    check_page(page, name)
    # Next week (more than 48 h ahead: fully refundable), swapped in without a reload.
    page.evaluate("() => { window.stayedOnThePage = true; }")
    page.get_by_role("link", name="7 jours suivants").click()
    expect(page).to_have_url(re.compile(r"\?from=\d{4}-\d{2}-\d{2}$"))
    expect(page.get_by_role("heading", level=2, name=re.compile("Disponibilités"))).to_be_focused()
    assert page.evaluate("() => window.stayedOnThePage === true")


def test_a_citizen_books_pays_on_invoice_adds_it_to_a_calendar_and_cancels(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    _price_room(server, 1000)
    _sign_up(page, server, "Lou Kerhervé", f"lou-{server.backend}@example.fr")
    _open_next_week_of_the_room(page, check_page, "citizen-resource")

    page.locator("#week .period-link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Réserver : Salle de réunion")
    day = page.get_by_label("Date").input_value()
    start = page.get_by_label("Début").input_value()
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("6,00")
    check_page(page, "citizen-review")
    # An hour instead of the shortest booking: the quote follows.
    page.get_by_label("Fin").fill(f"{int(start[:2]) + 1:02d}{start[2:]}")
    page.get_by_role("button", name="Mettre à jour le prix").click()
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("12,00")
    expect(page.get_by_text("100 % remboursés jusqu'à 48 h avant le début")).to_be_visible()
    page.get_by_label("Sur facture").check()
    page.get_by_role("button", name="Confirmer la réservation").click()

    expect(page.get_by_role("status")).to_have_text(
        "Votre réservation est confirmée. Gardez sa référence."
    )
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Réservation MLB-[0-9A-Z]{6}$"))
    reference = heading.inner_text().split()[-1]
    check_page(page, "citizen-confirmation")

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Ajouter à mon agenda")).click()
    ics = Path(download.value.path()).read_text(encoding="utf-8")
    event = next(iter(Calendar.from_ical(ics).walk("VEVENT")))
    expected = datetime.combine(
        datetime.fromisoformat(day).date(), time.fromisoformat(start), PARIS
    )
    assert event.decoded("dtstart").astimezone(PARIS) == expected
    assert reference in ics

    page.get_by_role("button", name="Obtenir mon lien d'abonnement privé").click()
    feed_url = page.get_by_label("Adresse d'abonnement").input_value()
    check_page(page, "citizen-feed")
    feed = page.request.get(feed_url)
    assert feed.ok and reference in feed.text()

    page.get_by_role("link", name="Mes réservations", exact=True).click()
    booking = page.get_by_role("listitem").filter(has_text=reference)
    expect(booking).to_contain_text("Confirmée")
    expect(booking).to_contain_text(re.compile(r"Facture F\d+-\d{4}-\d+ \(12,00\u00a0€\)"))
    check_page(page, "citizen-bookings")
    with page.expect_download() as invoice:
        booking.get_by_role("link", name=re.compile("^PDF")).click()
    assert Path(invoice.value.path()).read_bytes().startswith(b"%PDF")

    booking.get_by_role("link", name=f"Annuler {reference}").click()
    expect(page.locator("#refund")).to_contain_text(
        "Un avoir de 12,00\u00a0€ réduit ce que vous devez sur la facture (100 % du prix"
    )
    check_page(page, "citizen-cancel")
    page.get_by_role("button", name="Annuler cette réservation").click()
    expect(page.get_by_role("status")).to_have_text("Votre réservation est annulée.")
    expect(page.get_by_role("listitem").filter(has_text=reference)).to_contain_text("Annulée")

    # An address that does not exist still knows who is logged in.
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    expect(page.get_by_role("button", name="Se déconnecter", exact=True)).to_be_visible()
    check_page(page, "citizen-not-found")


def test_a_price_change_before_confirming_is_explained_and_the_choice_kept(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    _price_room(server, 1000)
    _sign_up(page, server, "Yann Le Bras", f"yann-{server.backend}@example.fr")
    _open_next_week_of_the_room(page, check_page, "citizen-resource-2")
    page.locator("#week .period-link").nth(1).click()
    day, start = page.get_by_label("Date").input_value(), page.get_by_label("Début").input_value()
    page.get_by_label("Sur place, au lieu").check()

    _price_room(server, 1500)  # the place's team changes the price meanwhile
    page.get_by_role("button", name="Confirmer la réservation").click()
    expect(page.locator("#problem")).to_contain_text(
        "Le prix a changé depuis que vous l'avez consulté"
    )
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("9,00")
    expect(page.get_by_label("Date")).to_have_value(day)
    expect(page.get_by_label("Début")).to_have_value(start)
    expect(page.get_by_label("Sur place, au lieu")).to_be_checked()
    check_page(page, "citizen-price-changed")
    page.get_by_role("button", name="Confirmer la réservation").click()
    expect(page.get_by_role("status")).to_have_text(
        "Votre réservation est confirmée. Gardez sa référence."
    )
    payment = page.locator("dd", has_text="Sur place, au lieu")
    expect(payment).to_contain_text("9,00\u00a0€")
    expect(payment).to_contain_text("à payer sur place")
