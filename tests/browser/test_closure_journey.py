"""A manager closes a day that has two bookings, in Chromium: one paid by cheque (and so
invoiced), one to pay on site. The closure lists them first; once confirmed both are
cancelled by the place, the cheque refunded in full with a credit note correcting its invoice.
Then a maintenance of the laser cutter is added and removed from the same page.

Each page is checked by axe-core and photographed on demand (tests/artifacts/browser/, and at 390
and 1280 px in /work/shots/closures/ when that folder exists).
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from billing.schemas import BillingSettingsWrite, CheckoutRequest, PriceListWrite
from booking.schemas import ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from resources.hours import french_public_holidays
from resources.repository import CatalogueRepository
from resources.schemas import OpeningHoursUpdate, OpeningSpan, PlaceCreate, ResourceCreate
from resources.service import CatalogueService
from tests.browser.support import LiveServer, PageChecker
from tests.support.accounts import make_user, stored_hash
from tests.support.apps import runtime_on
from tests.web.seed import ADMIN, PARIS, PASSWORD, Town

SHOTS = Path("/work/shots/closures")
PLACE = "Tiers-lieu de Pleumeur"
MANAGER = "accueil@pleumeur.example"


@dataclass(frozen=True)
class Day:
    """The day to close and its two bookings (ids, references)."""

    place_id: int
    day: date
    cheque: tuple[int, str]
    on_site: tuple[int, str]


def _open_day_after(day: date) -> date:
    holidays = french_public_holidays(day, day + timedelta(days=30))
    while day in holidays:
        day += timedelta(days=1)
    return day


async def _seed(database_url: str, town: Town) -> Day:
    """A place of its own (its invoices are not the other journeys'), its manager, a priced
    laser cutter, and two bookings of the town's citizen on one day, to pay on site."""
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    citizen = Actor(user_id=town.citizen_id, via="session")
    now = datetime.now(UTC)
    day = _open_day_after(now.astimezone(PARIS).date() + timedelta(days=9))
    try:
        async with (
            runtime_on(database, lambda: now) as runtime,
            database.writer() as session,
            session.begin(),
        ):
            catalogue = CatalogueService(CatalogueRepository(session))
            place = await catalogue.create_place(
                PlaceCreate(
                    slug="tiers-lieu-pleumeur",
                    name=PLACE,
                    address="1 place de la Mairie",
                    postcode="22560",
                    town="Pleumeur-Bodou",
                    operator_name="Commune de Pleumeur-Bodou",
                )
            )
            assert place.id is not None
            await catalogue.set_opening_hours(
                ADMIN,
                place.id,
                OpeningHoursUpdate(
                    spans=[OpeningSpan(weekday=d, opens=time(8), closes=time(20)) for d in range(7)]
                ),
            )
            laser = await catalogue.create_resource(
                ADMIN, place.id, ResourceCreate(name="Découpeuse laser", kind="machine")
            )
            services = runtime.billing.services(session)
            await services.prices.set_settings(
                ADMIN,
                place.id,
                BillingSettingsWrite(
                    invoice_prefix="PLB", payment_methods={"*": ["on_site"]}, refund_tiers=[]
                ),
                now,
            )
            await services.prices.set_price_list(
                ADMIN,
                place.id,
                PriceListWrite.model_validate(
                    {"resource_id": laser.id, "rates": [{"user_type": "*", "hourly_cents": 500}]}
                ),
                now,
            )
            items = [ItemRequest(resource_id=laser.id)]
            booked = []
            for hour in (10, 14):
                start = datetime.combine(day, time(hour), PARIS)
                end = start + timedelta(hours=1)
                priced = await services.prices.price(items, start, end, "citizen")
                _, booking, _ = await services.checkout(
                    citizen,
                    CheckoutRequest(
                        items=items,
                        starts_at=start,
                        ends_at=end,
                        method="on_site",
                        quote_fingerprint=priced.quote.fingerprint(),
                    ),
                    now,
                )
                booked.append((booking.id, booking.reference))
        await make_user(database, MANAGER, manages=(place.id,), password_hash=stored_hash(PASSWORD))
    finally:
        await database.dispose()
    return Day(place.id, day, booked[0], booked[1])


def _seeded(server: LiveServer) -> Day:
    # In a thread of its own: Playwright's event loop owns this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _seed(server.database_url, server.town)).result()


def _shoot(page: Page, check_page: PageChecker, name: str) -> None:
    check_page(page, name)
    if SHOTS.is_dir():
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


def test_a_manager_closes_a_day_and_its_two_bookings_are_cancelled_and_refunded(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    seeded = _seeded(server)
    (cheque_id, cheque_ref), (on_site_id, on_site_ref) = seeded.cheque, seeded.on_site
    _log_in(page, MANAGER)

    # The first booking is paid by cheque at the desk: it is invoiced then.
    page.goto(f"/manage/bookings/{cheque_id}")
    page.get_by_label("Payé par").select_option(label="Chèque")
    page.get_by_role("button", name="Enregistrer le paiement").click()
    expect(page.get_by_text(re.compile(r"^Facture PLB-"))).to_be_visible()

    # Closing the day lists both bookings before anything changes.
    page.goto(f"/manage/places/{seeded.place_id}/closures")
    _shoot(page, check_page, "closures")
    page.get_by_label("Jour", exact=True).fill(seeded.day.isoformat())
    page.get_by_label("Motif affiché au public").fill("Dégât des eaux")
    page.get_by_role("button", name="Ajouter la fermeture").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Réservations touchées par la fermeture"
    )
    expect(page.get_by_text("2 réservations tombent dans cette période.")).to_be_visible()
    for reference in (cheque_ref, on_site_ref):
        expect(page.get_by_role("checkbox", name=re.compile(reference))).to_be_checked()
    _shoot(page, check_page, "closure-review")
    page.get_by_role("button", name="Annuler les réservations cochées et fermer").click()
    expect(page.get_by_role("status")).to_contain_text(
        "les réservations touchées sont annulées et remboursées intégralement"
    )
    expect(page.get_by_role("row", name=re.compile("Dégât des eaux"))).to_contain_text("Fermé")
    _shoot(page, check_page, "closures-after")

    # The cheque is refunded by the place and its invoice corrected by a credit note.
    page.goto(f"/manage/bookings/{cheque_id}")
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("Annulée")
    expect(facts).to_contain_text("Dégât des eaux")
    expect(page.get_by_text("Remboursé (Chèque)", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Avoir PLB-AV-"))).to_be_visible()
    _shoot(page, check_page, "closure-cancelled-booking")
    page.goto(f"/manage/bookings/{on_site_id}")
    expect(page.locator("dl.facts").first).to_contain_text("Annulée")

    # A maintenance of the laser cutter, added then removed.
    page.goto(f"/manage/places/{seeded.place_id}/closures")
    page.get_by_label("Équipement en maintenance").select_option(label="Découpeuse laser")
    maintenance = (seeded.day + timedelta(days=1)).isoformat()
    page.get_by_label("Premier jour").fill(maintenance)
    page.get_by_label("De", exact=True).fill("09:00")
    page.get_by_label("À", exact=True).fill("12:00")
    page.get_by_label("Motif (facultatif)", exact=True).fill("Remplacement du tube")
    page.get_by_role("button", name="Ajouter la maintenance").click()
    expect(page.get_by_role("status")).to_have_text("La maintenance est ajoutée.")
    row = page.get_by_role("row", name=re.compile("Remplacement du tube"))
    expect(row).to_contain_text("Découpeuse laser")
    _shoot(page, check_page, "closures-maintenance")
    row.get_by_role("button", name=re.compile("Supprimer")).click()
    expect(page.get_by_role("status")).to_have_text(
        "La maintenance est retirée : l'équipement peut de nouveau être réservé."
    )
