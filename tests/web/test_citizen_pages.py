"""The citizen's journey through the pages: price, quote, pay, see, cancel.

Now is Monday 1 March 2027, 09:00 in Paris. The 3D printer costs citizens 10 EUR an hour
excluding VAT (12,00 EUR with 20 % VAT); citizens pay on site or on invoice; the fablab refunds
100 % up to 48 h before the start, 50 % up to 24 h.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, time, timedelta
from urllib.parse import quote, urlsplit

import httpx
from icalendar import Calendar
from sqlalchemy import text as text_sql

from billing.prices import PriceService
from billing.repository import BillingRepository
from billing.schemas import BillingSettingsWrite, PriceListWrite
from booking.schemas import BookingCreate, ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from resources.repository import CatalogueRepository
from resources.schemas import ResourceUpdate
from resources.service import CatalogueService
from tests.support.accounts import make_user
from tests.support.apps import runtime_on
from tests.support.stripe import LocalStripe
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, elements, log_in, unlabelled_controls
from tests.web.helpers import text as spaced_text
from tests.web.seed import ADMIN, PARIS, Town

THURSDAY = "2027-03-04"
SLOT = {"day": THURSDAY, "start": "10:00", "end": "11:00", "quantity": "1"}


def text(html: str) -> str:
    """The visible text, with the narrow and no-break spaces of French money as plain spaces."""
    return spaced_text(html).replace("\u00a0", " ").replace("\u202f", " ")


async def price_for_everyone(
    database: Database,
    place_id: int,
    resource_id: int,
    hourly_cents: int = 1000,
    now: datetime = FIXED_NOW,
    methods: tuple[str, ...] = ("on_site", "invoice"),
) -> None:
    """The resource's price for every user type (20 % VAT), and how the place bills them:
    on site or on invoice, 100 % refunded up to 48 h before, 50 % up to 24 h."""
    async with database.writer() as session, session.begin():
        prices = PriceService(
            BillingRepository(session), CatalogueService(CatalogueRepository(session)), False
        )
        await prices.set_price_list(
            ADMIN,
            place_id,
            PriceListWrite.model_validate(
                {
                    "resource_id": resource_id,
                    "rates": [{"user_type": "*", "hourly_cents": hourly_cents}],
                }
            ),
            now,
        )
        await prices.set_settings(
            ADMIN,
            place_id,
            BillingSettingsWrite.model_validate(
                {
                    "invoice_prefix": f"F{place_id}",
                    "payment_methods": {"*": list(methods)},
                    "refund_tiers": [{"hours": 48, "percent": 100}, {"hours": 24, "percent": 50}],
                }
            ),
            now,
        )


async def price_the_printer(database: Database, town: Town, hourly_cents: int = 1000) -> None:
    """The printer at 10 EUR an hour excluding VAT for everyone."""
    await price_for_everyone(database, town.place_id, town.printer_id, hourly_cents)


async def _review(web: httpx.AsyncClient, town: Town, **slot: str) -> httpx.Response:
    return await web.get(f"/resources/{town.printer_id}/book", params={**SLOT, **slot})


async def _confirm(
    web: httpx.AsyncClient, town: Town, review: httpx.Response, method: str
) -> httpx.Response:
    assert by_id(review.text, "method")["type"] == "radio"  # the payment form is there
    return await web.post(f"/resources/{town.printer_id}/book", data=_fields(review, method))


def _fields(review: httpx.Response, method: str) -> dict[str, str]:
    """What the browser sends from the review page's form."""
    match = re.search(r'name="fingerprint" value="([0-9a-f]{64})"', review.text)
    assert match, "no quote fingerprint on the review page"
    once = re.search(r'name="_once" value="([0-9a-f]{32})"', review.text)
    assert once, "no one-time key on the review page"
    return {
        **SLOT,
        # The time the quote on screen was made for, as the page holds it.
        **{
            f"shown_{name}": by_id(review.text, f"shown-{name}")["value"]
            for name in ("day", "start", "end", "quantity")
        },
        "method": method,
        "fingerprint": match.group(1),
        "_csrf_token": csrf(review.text),
        "_once": once.group(1),
    }


async def _bookings(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text_sql("SELECT count(*) FROM booking"))).scalar_one())


async def test_a_double_click_on_book_books_once(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    fields = _fields(await _review(web, town), "on_site")
    url = f"/resources/{town.printer_id}/book"
    before = await _bookings(database)
    # Two submissions of one form at once: the second waits for the first and gets its answer.
    first, second = await asyncio.gather(web.post(url, data=fields), web.post(url, data=fields))
    assert first.status_code == second.status_code == 303, text(first.text)[:300]
    assert first.headers["location"] == second.headers["location"]
    # And the form sent again later (the back button, then "book" again) is answered the same.
    resent = await web.post(url, data=fields)
    assert resent.status_code == 303
    assert resent.headers["location"] == first.headers["location"]
    assert await _bookings(database) == before + 1
    # A new visit of the review page is a new form: it books again (here: refused, taken).
    again = await _confirm(web, town, await _review(web, town), "on_site")
    assert again.status_code == 409


async def test_confirming_a_time_other_than_the_one_shown_re_quotes_and_asks_again(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    url = f"/resources/{town.printer_id}/book"
    review = await _review(web, town)
    before = await _bookings(database)
    # "Fin" changed to 12:00 on screen, then "confirm" pressed without updating the price.
    changed = await web.post(url, data={**_fields(review, "on_site"), "end": "12:00"})
    assert changed.status_code == 409
    page = text(changed.text)
    assert "Vous avez changé l'horaire" in page
    assert "Jeudi 4 mars 2027, 10:00-12:00" in page
    assert "Total à payer 24,00 €" in page
    assert await _bookings(database) == before  # neither time is booked
    # The new page shows the new time: confirming it books it.
    booked = await web.post(url, data=_fields(changed, "on_site") | {"end": "12:00"})
    assert booked.status_code == 303, text(booked.text)[:400]
    assert by_id(changed.text, "shown-end")["value"] == "12:00"
    detail = text((await web.get(booked.headers["location"])).text)
    assert "Jeudi 4 mars 2027, 10:00-12:00" in detail


async def test_a_booking_the_place_approves_first_is_sent_as_a_request(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    async with database.writer() as session, session.begin():
        await CatalogueService(CatalogueRepository(session)).update_resource(
            ADMIN, town.printer_id, ResourceUpdate(requires_approval=True)
        )
    await log_in(web, town.citizen_email)
    review = await _review(web, town)
    page = text(review.text)
    assert "Envoyer la demande" in page and "Confirmer la réservation" not in page
    assert "L'équipe du lieu doit d'abord accepter cette réservation" in page
    sent = await _confirm(web, town, review, "on_site")
    assert sent.status_code == 303, text(sent.text)[:400]
    assert sent.headers["location"].endswith("?notice=requested")
    shown = text((await web.get(sent.headers["location"])).text)
    assert "Votre demande est envoyée : l'équipe du lieu l'accepte ou la refuse" in shown
    assert re.search(r"Demande de réservation MLB-[0-9A-Z]{6}", shown)
    assert "Demande en attente de validation" in shown
    assert "Votre réservation est confirmée" not in shown
    assert "Retirer cette demande" in shown
    listing = text((await web.get("/account/bookings")).text)
    assert "Demande en attente de validation" in listing.split("Passées ou annulées")[0]


async def test_update_the_price_shows_the_typed_time_at_its_own_address(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    review = await _review(web, town)
    fields = _fields(review, "") | {"end": "11:30", "intent": "quote"}
    answer = await web.post(f"/resources/{town.printer_id}/book", data=fields)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"/resources/{town.printer_id}/book?day={THURSDAY}&start=10:00&end=11:30&quantity=1"
    )
    assert "Total à payer 18,00 €" in text((await web.get(answer.headers["location"])).text)


async def test_the_resource_page_shows_my_price_and_links_free_times_to_booking(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    anonymous = await web.get(f"/resources/{town.printer_id}")
    assert anonymous.status_code == 200
    page = text(anonymous.text)
    # The parts of the price, not one folded amount; the VAT is in it, not on top.
    assert "Prix Tarif horaire : 12,00 € de l'heure Pour 1 h : 12,00 € au total" in page
    assert "dont 2,00 € de TVA dans ce montant" in page
    assert "Frais de réservation" not in page  # the printer has no fee
    assert "Tarif public (Particulier). Connectez-vous pour voir le vôtre" in page
    # The week grid's enhancement is our own script, and the only one allowed.
    assert "script-src 'self'" in anonymous.headers["content-security-policy"]
    links = [a["href"] for a in elements(anonymous.text, "a") if "/book?" in a.get("href", "")]
    assert f"/resources/{town.printer_id}/book?day=2027-03-01&start=10:00&end=10:30" in links

    part = await web.get(f"/resources/{town.printer_id}", params={"from": THURSDAY, "part": "week"})
    assert part.status_code == 200
    assert "<html" not in part.text and 'id="week"' in part.text
    assert "Disponibilités du jeudi 4 mars au mercredi 10 mars" in text(part.text)

    # Every week "for your organisation": offered to visitors, not to a citizen of none.
    series = f'href="/resources/{town.printer_id}/series"'
    assert series in anonymous.text
    await log_in(web, town.citizen_email)
    mine = await web.get(f"/resources/{town.printer_id}")
    assert "Votre tarif : Particulier." in text(mine.text)
    assert series not in mine.text


async def test_anonymous_people_log_in_before_booking_and_come_back(
    web: httpx.AsyncClient, town: Town
) -> None:
    response = await _review(web, town)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fresources%2F")


async def test_a_citizen_reviews_the_quote_pays_on_site_and_sees_the_booking(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    review = await _review(web, town)
    assert review.status_code == 200
    assert unlabelled_controls(review.text) == []
    page = text(review.text)
    assert "Jeudi 4 mars 2027, 10:00-11:00" in page
    assert "Votre tarif : Particulier" in page
    assert "Imprimante 3D 12,00 € de l'heure 1 h 12,00 €" in page
    # The VAT is included in the total, said so below it, not added as a line above it.
    assert "Total à payer 12,00 € dont TVA à 20 % 2,00 €" in page
    assert "Sur place, au lieu" in page and "Sur facture" in page
    assert "Par carte" not in page  # no Stripe keys on this instance
    assert "100 % remboursés jusqu'à 48 h avant le début" in page

    booked = await _confirm(web, town, review, "on_site")
    assert booked.status_code == 303, text(booked.text)[:400]
    location = booked.headers["location"]
    match = re.fullmatch(r"/account/bookings/(\d+)\?notice=booked", location)
    assert match, location
    booking_id = int(match.group(1))

    confirmation = await web.get(location)
    assert confirmation.status_code == 200
    assert confirmation.headers["cache-control"] == "no-store"
    page = text(confirmation.text)
    reference = re.search(r"Réservation (MLB-[0-9A-Z]{6})", page)
    assert reference, page[:400]
    assert "Votre réservation est confirmée. Gardez sa référence." in page
    assert "Jeudi 4 mars 2027, 10:00-11:00" in page
    assert "12,00 € - Sur place, au lieu - à payer sur place" in page
    ics_url = f"/api/bookings/{booking_id}/calendar.ics"
    assert f'href="{ics_url}"' in confirmation.text

    ics = await web.get(ics_url)
    assert ics.status_code == 200
    event = next(iter(Calendar.from_ical(ics.text).walk("VEVENT")))
    assert event.decoded("dtstart").astimezone(PARIS) == datetime(2027, 3, 4, 10, tzinfo=PARIS)
    assert reference.group(1) in str(event.get("summary")) + str(event.get("description"))
    # Its link opens this very booking page; its reminder is the place's (an hour by default).
    link = urlsplit(str(event.get("url")))
    assert link.path == f"/account/bookings/{booking_id}"
    assert (await web.get(link.path)).status_code == 200
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(hours=1)

    feed = await web.post("/account/calendar-feed", data={"_csrf_token": csrf(confirmation.text)})
    assert feed.status_code == 200
    url = by_id(feed.text, "feed-url")["value"]
    # Google and Outlook subscribe from the address itself; the copy button waits for copy.js.
    links = {a.get("href", "") for a in elements(feed.text, "a")}
    webcal = "webcal://" + url.split("://", 1)[1]
    assert f"https://calendar.google.com/calendar/render?cid={quote(webcal, safe='')}" in links
    assert f"https://outlook.live.com/calendar/0/addfromweb?url={quote(url, safe='')}" in links
    assert "Ajouter à Google Agenda" in text(feed.text)
    copy = [b for b in elements(feed.text, "button") if b.get("data-copy") == "feed-url"]
    assert copy and "hidden" in copy[0]
    assert "script-src 'self'" in feed.headers["content-security-policy"]
    assert re.fullmatch(r"https?://[^/]+/calendar/feeds/[^/]+/bookings\.ics", url), url
    subscribed = await web.get(urlsplit(url).path)
    assert subscribed.status_code == 200 and reference.group(1) in subscribed.text

    listing = text((await web.get("/account/bookings")).text)
    assert "Jeudi 4 mars 2027, 10:00-11:00 Imprimante 3D - Fablab du Trégor" in listing
    assert "Confirmée" in listing

    cancel = await web.get(f"/account/bookings/{booking_id}/cancel")
    assert "Rien n'a été payé pour cette réservation" in text(cancel.text)


async def test_paying_on_invoice_gives_an_invoice_and_shows_the_credit_before_cancelling(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    booked = await _confirm(web, town, await _review(web, town), "invoice")
    assert booked.status_code == 303, text(booked.text)[:400]
    booking_id = int(booked.headers["location"].split("/")[3].split("?")[0])

    listing = await web.get("/account/bookings")
    assert re.search(r"Facture F1-2027-\d+ \(12,00 €\) : PDF", text(listing.text))
    pdf_link = next(a["href"] for a in elements(listing.text, "a") if a["href"].endswith("/pdf"))
    pdf = await web.get(pdf_link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    cancel = await web.get(f"/account/bookings/{booking_id}/cancel")
    assert "Un avoir de 12,00 € réduit ce que vous devez sur la facture (100 % du prix" in text(
        cancel.text
    )
    done = await web.post(
        f"/account/bookings/{booking_id}/cancel", data={"_csrf_token": csrf(cancel.text)}
    )
    assert done.status_code == 303
    detail = text((await web.get(f"/account/bookings/{booking_id}")).text)
    assert "Avoir F1-AV-2027-" in detail and "Annulée" in detail


async def test_a_price_change_is_shown_and_the_choice_kept(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    review = await _review(web, town)
    await price_the_printer(database, town, hourly_cents=1500)  # the manager changes it meanwhile
    refused = await _confirm(web, town, review, "on_site")
    assert refused.status_code == 409
    page = text(refused.text)
    assert "Le prix a changé depuis que vous l'avez consulté" in page
    assert "Total à payer 18,00 €" in page
    assert by_id(refused.text, "day")["value"] == THURSDAY
    assert by_id(refused.text, "start")["value"] == "10:00"
    assert by_id(refused.text, "method-on_site").get("checked") is not None
    again = await _confirm(web, town, refused, "on_site")  # at the new price, it books
    assert again.status_code == 303


async def test_a_taken_time_is_refused_with_a_clear_message(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    review = await _review(web, town)
    other = await make_user(database, "dominique@example.fr")
    async with (
        runtime_on(database, lambda: FIXED_NOW) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        bookings = runtime.booking.bookings(session)
        day = datetime.fromisoformat(THURSDAY).date()
        # Booked at the desk (by the place's staff: payable on site).
        await bookings.create(
            Actor(
                user_id=other.user_id,
                via="session",
                managed_place_ids=frozenset({town.place_id}),
            ),
            BookingCreate(
                items=[ItemRequest(resource_id=town.printer_id)],
                starts_at=datetime.combine(day, time(10), PARIS),
                ends_at=datetime.combine(day, time(10), PARIS) + timedelta(hours=1),
            ),
        )
    refused = await _confirm(web, town, review, "on_site")
    assert refused.status_code == 409
    assert "Ce créneau vient d'être réservé par quelqu'un d'autre" in text(refused.text)
    assert by_id(refused.text, "end")["value"] == "11:00"


async def test_mistakes_in_the_time_are_shown_next_to_the_fields(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await price_the_printer(database, town)
    await log_in(web, town.citizen_email)
    response = await _review(web, town, day="4 mars", start="25:00", end="11:00")
    assert response.status_code == 422
    page = text(response.text)
    assert "Il y a 2 erreurs" in page
    assert "Saisissez une date comme 2027-03-03." in page
    assert by_id(response.text, "day")["aria-invalid"] == "true"
    assert by_id(response.text, "day")["value"] == "4 mars"
    backwards = await _review(web, town, start="11:00", end="10:00")
    assert backwards.status_code == 422
    assert "La fin doit être après le début." in text(backwards.text)
    # Spring forward: 02:30 does not exist in Paris on 28 March 2027.
    skipped = await _review(web, town, day="2027-03-28", start="02:30", end="03:30")
    assert "Cette heure n'existe pas ce jour-là (changement d'heure)." in text(skipped.text)


async def test_an_unknown_address_shows_who_is_logged_in(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.citizen_email)
    missing = await web.get("/no/such/page")
    assert missing.status_code == 404
    header = text(missing.text)
    assert "Mes réservations" in header and "Se déconnecter" in header
    assert "Se connecter" not in header


async def test_the_card_path_holds_the_time_then_confirms_what_stripe_says(
    card_web: httpx.AsyncClient, town: Town, database: Database, stripe_peer: LocalStripe
) -> None:
    await price_for_everyone(database, town.place_id, town.printer_id, methods=("card", "on_site"))
    await log_in(card_web, town.citizen_email)
    review = await _review(card_web, town)
    assert "Par carte, en ligne" in text(review.text)
    booked = await _confirm(card_web, town, review, "card")
    assert booked.status_code == 303, text(booked.text)[:400]
    pay_url = booked.headers["location"]
    assert re.fullmatch(r"/account/bookings/\d+/pay", pay_url), pay_url
    booking_url = pay_url.removesuffix("/pay")

    pay = await card_web.get(pay_url)
    assert pay.status_code == 200
    # Stripe's Payment Element: Stripe.js from js.stripe.com, allowed on this page only.
    policy = pay.headers["content-security-policy"]
    assert "script-src 'self' https://js.stripe.com" in policy
    assert '<script src="https://js.stripe.com/v3/"></script>' in pay.text
    form = by_id(pay.text, "card-form")
    assert form["data-publishable-key"] == "pk_test_mutualab"
    # Stripe sends the card holder back to our public address, whatever Host the request named.
    assert form["data-return-url"] == f"https://mutualab.test{pay_url}"
    forged = await card_web.get(pay_url, headers={"host": "evil.example"})
    assert by_id(forged.text, "card-form")["data-return-url"] == f"https://mutualab.test{pay_url}"
    intent_id = form["data-client-secret"].split("_secret_")[0]
    assert "Payer 12,00 €" in text(pay.text)
    held = text((await card_web.get(booking_url)).text)
    assert "En attente de paiement" in held and "Payer par carte" in held

    # The card holder pays at Stripe (what Stripe.js does in the browser) and comes back.
    assert stripe_peer.pay(intent_id)["status"] == "succeeded"
    back = await card_web.get(pay_url, params={"payment_intent": intent_id})
    assert back.status_code == 303
    assert back.headers["location"] == f"{booking_url}?notice=payment_checked"
    confirmed = text((await card_web.get(booking_url)).text)
    assert "Confirmée" in confirmed
    assert "12,00 € - Par carte, en ligne - payé" in confirmed
    assert re.search(r"Facture F1-2027-\d+ - 12,00 €", confirmed)
    # Paid: the card page now just leads back to the booking.
    assert (await card_web.get(pay_url)).headers["location"] == booking_url
