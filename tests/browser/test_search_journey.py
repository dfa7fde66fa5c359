"""Find by time first, in Chromium: "Lanion" next Tuesday 14:00-16:00 lists the Lannion
equipment free then, with its price and free times; the place page shows where it is (a map
when Leaflet and the tiles load, always the address and an OpenStreetMap link); a seat pool
priced per seat with a booking fee shows those parts, and the VAT they include, in its quote.

Pages are checked by axe-core and photographed on demand at 360, 390 and 1280 px.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import update

from billing.prices import DEFAULT_TIERS, PriceService
from billing.repository import BillingRepository
from billing.schemas import BillingSettingsWrite, PriceListWrite, RateWrite, VatWrite
from kernel.db import Database
from kernel.settings import Settings
from resources.hours import french_public_holidays
from resources.models import Place
from resources.repository import CatalogueRepository
from resources.schemas import ResourceCreate
from resources.service import CatalogueService
from tests.browser.support import ARTIFACTS, LiveServer, PageChecker
from tests.support.sql import connect
from tests.web.seed import ADMIN, PASSWORD

ON_SITE = "À l'accueil du fablab, avant la séance : carte, espèces ou chèque."


def _next_tuesday(server: LiveServer) -> date:
    """The first Tuesday two days ahead or more when the fablab opens as usual, with nothing
    booked, closed or blacked out there: the other journeys share this server and book days of
    their own (the back office's seed, two weeks on a Sunday, fell on this one)."""
    paris = ZoneInfo("Europe/Paris")
    day = datetime.now(paris).date() + timedelta(days=2)
    holidays = french_public_holidays(day, day + timedelta(days=90))
    town = server.town
    while (
        day.weekday() != 1
        or day in holidays
        or day in (town.closed_day, town.booking_day)
        or _in_use(server, town.place_id, day, paris)
    ):
        day += timedelta(days=1)
    return day


_IN_USE = """
SELECT EXISTS (
    SELECT 1 FROM booking_allocation a JOIN resource r ON r.id = a.resource_id
    WHERE r.place_id = $1 AND a.active AND a.starts_at < $3 AND a.blocked_until > $2
) OR EXISTS (SELECT 1 FROM place_exception e WHERE e.place_id = $1 AND e.day = $4)
  OR EXISTS (
    SELECT 1 FROM blackout b JOIN resource r ON r.id = b.resource_id
    WHERE r.place_id = $1 AND b.starts_at < $3 AND b.ends_at > $2
)
"""


def _in_use(server: LiveServer, place_id: int, day: date, tz: ZoneInfo) -> bool:
    """Whether anything is booked, closed or blacked out at the place on ``day`` (in a thread:
    Playwright's loop owns this one)."""
    start = datetime.combine(day, datetime.min.time(), tz)

    async def look() -> bool:
        connection = await connect(server.database_url)
        try:
            found: bool = await connection.fetchval(
                _IN_USE, place_id, start, start + timedelta(days=1), day
            )
        finally:
            await connection.close()
        return found

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, look()).result()


def _furnish(server: LiveServer) -> int:
    """Lannion's coordinates, where to pay on site, and a seat pool priced per seat with a fee
    (in a thread: Playwright's loop owns this one). Returns the pool's id."""

    async def furnish() -> int:
        database = Database.from_settings(
            Settings(database_url=server.database_url, database_pool_size=2)
        )
        now = datetime.now(UTC)
        try:
            async with database.writer() as session, session.begin():
                await session.execute(
                    update(Place)
                    .where(Place.id == server.town.place_id)  # type: ignore[arg-type]
                    .values(latitude=48.7326, longitude=-3.4566, on_site_payment=ON_SITE)
                )
                catalogue = CatalogueService(CatalogueRepository(session))
                seats = await catalogue.create_resource(
                    ADMIN,
                    server.town.place_id,
                    ResourceCreate(
                        name="Postes Blender",
                        kind="software_seats",
                        capacity=6,
                        slot_minutes=60,
                        min_minutes=60,
                    ),
                )
                prices = PriceService(BillingRepository(session), catalogue, False)
                await prices.set_price_list(
                    ADMIN,
                    server.town.place_id,
                    PriceListWrite(
                        resource_id=seats.id,
                        vat=VatWrite(kind="taxable", rate=Decimal("20")),
                        rates=[
                            RateWrite(
                                user_type="*", hourly_cents=250, per_unit=True, flat_fee_cents=200
                            )
                        ],
                    ),
                    now,
                )
                await prices.set_settings(
                    ADMIN,
                    server.town.place_id,
                    BillingSettingsWrite.model_validate(
                        {
                            "invoice_prefix": "FT",
                            "payment_methods": {"*": ["on_site"]},
                            # The fablab's refunds as they were: other journeys count on them.
                            "refund_tiers": DEFAULT_TIERS,
                        }
                    ),
                    now,
                )
                return seats.id
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, furnish()).result()


def _phone(page: Page, name: str) -> None:
    """A 390 px wide phone: nothing scrolls sideways; a photograph beside the checker's."""
    original = page.viewport_size or {"width": 1280, "height": 900}
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    folder = ARTIFACTS / "postgresql"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(original)
    assert overflow <= 0, f"{name} at 390 px scrolls sideways by {overflow} px"


def test_lanion_next_tuesday_afternoon_then_the_place_and_a_quote_in_parts(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    seats_id = _furnish(server)
    tuesday = _next_tuesday(server)
    page.goto("/")
    page.get_by_label("Commune ou code postal").fill("Lanion")
    page.get_by_label("Date", exact=False).fill(tuesday.isoformat())
    page.locator("#start").fill("14:00")
    page.locator("#end").fill("16:00")
    page.get_by_role("button", name="Rechercher").click()

    results = page.locator(".hits > li")
    expect(page.get_by_role("heading", level=2, name="équipements libres")).to_contain_text(
        "Lanion"
    )
    names = [results.nth(i).locator("h3").inner_text() for i in range(results.count())]
    assert {"Découpeuse laser", "Imprimante 3D", "Poste CAO", "Postes Blender"} <= set(names)
    printer = results.filter(has=page.get_by_role("link", name="Imprimante 3D", exact=True))
    expect(printer).to_contain_text("Fablab du Trégor")
    expect(printer).to_contain_text("Gratuit")
    expect(printer.get_by_role("link", name="14:00\u201314:30")).to_be_visible()
    blender = results.filter(has=page.get_by_role("link", name="Postes Blender", exact=True))
    expect(blender).to_contain_text(
        "3,00 € de l'heure par poste + 2,40 € par réservation, TVA 20 % comprise"
    )
    # No time outside the afternoon asked for.
    times = page.locator(".free-times a").all_inner_texts()
    assert times and all("14:00" <= t[:5] < "16:00" for t in times), times
    check_page(page, "search-results")
    _phone(page, "search-results")

    # The place: its address and a link to OpenStreetMap whatever happens to the map.
    page.get_by_role("link", name="Fablab du Trégor", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fablab du Trégor")
    osm = page.get_by_role("link", name="Fablab du Trégor sur OpenStreetMap")
    expect(osm).to_have_attribute(
        "href",
        "https://www.openstreetmap.org/?mlat=48.73260&mlon=-3.45660#map=17/48.73260/-3.45660",
    )
    expect(page.locator("address")).to_contain_text("22300 Lannion")
    # Leaflet is served from our own files and draws its map (the tiles may not load here).
    expect(page.locator(".map.leaflet-container")).to_be_visible()
    check_page(page, "search-place")
    _phone(page, "search-place")

    # Logged in, a free time of the seat pool opens its quote: the parts, the VAT inside.
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(server.town.citizen_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/?town=Lanion&kind=software_seats&day={tuesday.isoformat()}&start=14:00&end=16:00")
    blender = page.locator(".hits > li").filter(
        has=page.get_by_role("link", name="Postes Blender", exact=True)
    )
    blender.get_by_role("link", name="14:00\u201315:00").click()
    quote = page.locator("table.quote")
    expect(quote).to_contain_text("3,00 € de l'heure par poste")
    expect(quote).to_contain_text("Frais de réservation")
    expect(quote.locator("tr.total")).to_contain_text("5,40 €")
    expect(quote.locator("tr.included")).to_contain_text("dont TVA à 20 %")
    expect(quote.locator("tr.included")).to_contain_text("0,90 €")
    expect(page.get_by_text(ON_SITE)).to_be_visible()
    check_page(page, "search-quote")
    _phone(page, "search-quote")
    assert seats_id > 0


def test_a_manager_adds_a_photo_shown_on_the_place_page(
    page: Page, server: LiveServer, check_page: PageChecker, tmp_path: Path
) -> None:
    picture = tmp_path / "atelier.png"
    Image.new("RGB", (1600, 900), (40, 120, 180)).save(picture, "PNG")
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(server.town.manager_email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/manage/places/{server.town.place_id}/photos")
    place_form = page.locator("section").filter(
        has=page.get_by_role("heading", name="Photo du lieu")
    )
    place_form.get_by_label("Nouvelle photo").set_input_files(str(picture))
    place_form.get_by_label("Ce qu'elle montre").fill("L'atelier et ses machines")
    place_form.get_by_role("button", name="Envoyer la photo").click()
    expect(page.get_by_text("La photo est enregistrée")).to_be_visible()
    check_page(page, "search-manage-photos")

    page.goto(f"/places/{server.town.place_id}")
    photo = page.get_by_role("img", name="L'atelier et ses machines")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 1200
    check_page(page, "search-place-photo")
    _phone(page, "search-place-photo")


def _place_in_lannion(server: LiveServer) -> None:
    """Lannion's coordinates on the seeded fablab (in a thread, like _furnish)."""

    async def place() -> None:
        database = Database.from_settings(
            Settings(database_url=server.database_url, database_pool_size=2)
        )
        try:
            async with database.writer() as session, session.begin():
                await session.execute(
                    update(Place)
                    .where(Place.id == server.town.place_id)  # type: ignore[arg-type]
                    .values(latitude=48.7326, longitude=-3.4566)
                )
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, place()).result()


def test_perros_guirec_has_no_place_and_finds_lannions_machines(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    _place_in_lannion(server)
    tuesday = _next_tuesday(server)
    page.goto("/")
    # Misspelt, with no place of its own: its centre, 9 km from the Lannion fablab.
    page.get_by_label("Commune ou code postal").fill("Perros-Guirrec")
    page.get_by_label("Autour").select_option("10")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("1 lieu")
    expect(page.locator("p.around")).to_have_text("À moins de 10 km de Perros-Guirec (22700).")
    card = page.locator(".cards > li").filter(
        has=page.get_by_role("link", name="Fablab du Trégor", exact=True)
    )
    expect(card).to_contain_text("22300 Lannion (9,1 km)")
    check_page(page, "search-town-without-place")
    _phone(page, "search-town-without-place")

    # Its postcode, no radius, next Tuesday afternoon: the machines within 20 km.
    page.get_by_label("Commune ou code postal").fill("22700")
    page.get_by_label("Autour").select_option("")
    page.get_by_label("Type d'équipement").select_option("machine")
    page.get_by_label("Date", exact=False).fill(tuesday.isoformat())
    page.locator("#start").fill("14:00")
    page.locator("#end").fill("16:00")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("p.around")).to_have_text(
        "Aucun lieu à Perros-Guirec (22700) : voici ceux à moins de 20 km."
    )
    hits = page.locator(".hits > li")
    names = [hits.nth(i).locator("h3").inner_text() for i in range(hits.count())]
    assert {"Découpeuse laser", "Imprimante 3D"} <= set(names), names
    expect(hits.first).to_contain_text("Lannion (9,1 km)")
    check_page(page, "search-postcode-without-place")
    _phone(page, "search-postcode-without-place")
