"""The home page's search by time and place, and prices shown as their parts.

Now is Monday 1 March 2027, 09:00 in Paris; Tuesday 9 March is an ordinary opening day of the
Fablab du Trégor in Lannion (09:00-12:30, 14:00-18:00), with no booking (Tuesday 2 March is
closed for inventory).
"""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import update

from billing.prices import PriceService
from billing.repository import BillingRepository
from billing.schemas import BillingSettingsWrite, PriceListWrite, RateWrite, VatWrite
from kernel.db import Database
from resources.models import Place
from resources.repository import CatalogueRepository
from resources.schemas import ResourceCreate
from resources.service import CatalogueService
from tests.support import communes
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, elements, log_in
from tests.web.seed import ADMIN, Town
from tests.web.test_citizen_pages import text

TUESDAY = {"day": "2027-03-09", "start": "14:00", "end": "16:00"}


async def _locate(database: Database, place_id: int, latitude: float, longitude: float) -> None:
    async with database.writer() as session, session.begin():
        await session.execute(
            update(Place)
            .where(Place.id == place_id)  # type: ignore[arg-type]
            .values(latitude=latitude, longitude=longitude)
        )


async def test_lanion_next_tuesday_afternoon_lists_the_free_machines_soonest_first(
    web: httpx.AsyncClient, town: Town
) -> None:
    response = await web.get("/", params={"town": "Lanion", "kind": "machine", **TUESDAY})
    assert response.status_code == 200
    page = text(response.text)
    assert "2 équipements libres · Lanion · Machines" in page
    cards = [text(str(c)) for c in page.split("Libre :")[:-1]]
    assert "Découpeuse laser" in cards[0] or "Imprimante 3D" in cards[0]
    assert "Médiathèque des Capucins" not in page
    links = [a["href"] for a in elements(response.text, "a") if "/book?" in a.get("href", "")]
    # The laser books an hour at least, the printer half an hour: their first free times.
    assert f"/resources/{town.laser_id}/book?day=2027-03-09&start=14:00&end=15:00" in links
    assert f"/resources/{town.printer_id}/book?day=2027-03-09&start=14:00&end=14:30" in links
    assert f"/resources/{town.printer_id}/book?day=2027-03-09&start=15:30&end=16:00" in links
    assert not [link for link in links if "start=16:00" in link or "start=13:" in link]
    assert "Gratuit" in page  # the price at my rate
    # The form keeps what was asked.
    assert by_id(response.text, "town")["value"] == "Lanion"
    assert by_id(response.text, "start")["value"] == "14:00"


async def test_a_postcode_a_length_and_a_word_narrow_the_search(
    web: httpx.AsyncClient, town: Town
) -> None:
    by_postcode = text((await web.get("/", params={"town": "22300", **TUESDAY})).text)
    assert "Poste CAO" in by_postcode and "Imprimante 3D" in by_postcode
    two_hours = await web.get("/", params={"town": "22300", "length": "120", **TUESDAY})
    links = [a["href"] for a in elements(two_hours.text, "a") if "/book?" in a.get("href", "")]
    assert f"/resources/{town.laser_id}/book?day=2027-03-09&start=14:00&end=16:00" in links
    assert all("start=14:00&end=16:00" in link for link in links)
    word = text((await web.get("/", params={"town": "lannion", "q": "decoupeuse", **TUESDAY})).text)
    assert "1 équipement libre" in word and "Découpeuse laser" in word
    closed = text(
        (await web.get("/", params={"town": "Lannion", **TUESDAY, "day": "2027-03-07"})).text
    )
    assert "0 équipement libre" in closed and "Rien n'est libre à ce moment-là" in closed


async def test_a_radius_around_a_town_or_my_position_finds_lannion(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await _locate(database, town.place_id, 48.7326, -3.4566)  # Lannion
    await _locate(database, town.other_place_id, 48.3904, -4.4861)  # Brest
    # Perros-Guirec (no place there), 10 km north of Lannion: from the person's position.
    near = await web.get(
        "/", params={"lat": "48.8147", "lon": "-3.4420", "radius": "15", **TUESDAY}
    )
    page = text(near.text)
    assert "Fablab du Trégor , Lannion (9,2 km)" in page
    assert "Médiathèque des Capucins" not in page
    too_far = text(
        (
            await web.get(
                "/", params={"lat": "48.8147", "lon": "-3.4420", "radius": "5", **TUESDAY}
            )
        ).text
    )
    assert "0 équipement libre" in too_far
    # Places around Lannion, with a map of them and a link to each on OpenStreetMap.
    places = await web.get("/", params={"town": "Lannion", "radius": "50"})
    assert "1 lieu" in text(places.text)
    osm = [a["href"] for a in elements(places.text, "a") if "openstreetmap.org" in a["href"]]
    assert osm == [
        "https://www.openstreetmap.org/?mlat=48.73260&mlon=-3.45660#map=17/48.73260/-3.45660"
    ]


async def test_a_town_with_no_place_is_searched_around(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    communes.required()
    await _locate(database, town.place_id, 48.7326, -3.4566)  # Lannion
    await _locate(database, town.other_place_id, 48.3904, -4.4861)  # Brest
    # Perros-Guirec has no place: typed loosely, with a radius, its own centre counts.
    around = text((await web.get("/", params={"town": "perros guirrec", "radius": "10"})).text)
    assert "1 lieu · perros guirrec" in around
    assert "À moins de 10 km de Perros-Guirec (22700)." in around
    assert "Fablab du Trégor" in around and "22300 Lannion (9,1 km)" in around
    # With no radius, the places within 20 km rather than nothing; the same by time.
    widened = text((await web.get("/", params={"town": "Perros-Guirec"})).text)
    assert "Aucun lieu à Perros-Guirec (22700) : voici ceux à moins de 20 km." in widened
    assert "Fablab du Trégor" in widened and "Médiathèque des Capucins" not in widened
    free = text((await web.get("/", params={"town": "22700", "kind": "machine", **TUESDAY})).text)
    assert "Aucun lieu à Perros-Guirec (22700) : voici ceux à moins de 20 km." in free
    assert "Fablab du Trégor , Lannion (9,1 km)" in free
    # A town with a place is searched as before, with no sentence.
    lannion = text((await web.get("/", params={"town": "Lannion"})).text)
    assert "Aucun lieu" not in lannion and "À moins de" not in lannion


async def test_mistakes_in_the_search_are_shown_beside_their_fields(
    web: httpx.AsyncClient, town: Town
) -> None:
    bad_day = await web.get("/", params={"town": "Lannion", "day": "mardi"})
    assert bad_day.status_code == 200
    assert "Saisissez une date, par exemple 02/03/2027." in text(bad_day.text)
    assert by_id(bad_day.text, "day")["aria-invalid"] == "true"
    backwards = await web.get("/", params={**TUESDAY, "end": "13:00"})
    assert "La fin doit être après le début." in text(backwards.text) or by_id(
        backwards.text, "end"
    ).get("aria-invalid")
    past = await web.get("/", params={**TUESDAY, "day": "2027-02-01"})
    assert "Choisissez une date entre aujourd'hui et dans un an." in text(past.text)
    french = text(
        (await web.get("/", params={**TUESDAY, "day": "09/03/2027", "town": "Lannion"})).text
    )
    assert "Imprimante 3D" in french


async def test_a_seat_pool_priced_per_seat_with_a_fee_shows_its_parts(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    async with database.writer() as session, session.begin():
        catalogue = CatalogueService(CatalogueRepository(session))
        seats = await catalogue.create_resource(
            ADMIN,
            town.place_id,
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
            town.place_id,
            PriceListWrite(
                resource_id=seats.id,
                vat=VatWrite(kind="taxable", rate=Decimal("20")),
                rates=[
                    RateWrite(user_type="*", hourly_cents=250, per_unit=True, flat_fee_cents=200)
                ],
            ),
            FIXED_NOW,
        )
        await prices.set_settings(
            ADMIN,
            town.place_id,
            BillingSettingsWrite.model_validate(
                {"invoice_prefix": "FT", "payment_methods": {"*": ["on_site"]}, "refund_tiers": []}
            ),
            FIXED_NOW,
        )
        await session.execute(
            update(Place)
            .where(Place.id == town.place_id)  # type: ignore[arg-type]
            .values(on_site_payment="À l'accueil, avant la séance : carte ou espèces.")
        )
    resource = text((await web.get(f"/resources/{seats.id}")).text)
    assert "Tarif horaire : 3,00 € par poste de l'heure" in resource
    assert "Frais de réservation : 2,40 € par réservation, quelle que soit sa durée" in resource
    assert "Pour 1 h : 5,40 € au total" in resource
    assert "dont 0,90 € de TVA dans ce montant" in resource
    found = text(
        (await web.get("/", params={"town": "Lannion", "kind": "software_seats", **TUESDAY})).text
    )
    assert "3,00 € de l'heure par poste + 2,40 € par réservation, TVA 20 % comprise" in found

    await log_in(web, town.citizen_email)
    review = await web.get(
        f"/resources/{seats.id}/book",
        params={"day": "2027-03-09", "start": "14:00", "end": "16:00", "quantity": "3"},
    )
    assert review.status_code == 200, text(review.text)[:400]
    quote = text(review.text)
    # 3 seats x 2 h x 3,00 € = 18,00 €, then the fee apart; the VAT is inside the total.
    assert "Postes Blender x 3 3,00 € de l'heure par poste 2 h 18,00 €" in quote
    assert "Frais de réservation par réservation, quelle que soit sa durée 2,40 €" in quote
    assert "Total à payer 20,40 € dont TVA à 20 % 3,40 €" in quote
    assert "À l'accueil, avant la séance : carte ou espèces." in quote
