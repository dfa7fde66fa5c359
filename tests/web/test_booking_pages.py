"""My bookings and cancelling one, through the pages."""

from __future__ import annotations

from datetime import datetime, time

import httpx

from booking.schemas import BookingCreate, ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from tests.support.apps import runtime_on
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, log_in, submit, text
from tests.web.seed import PARIS, Town


async def _book_this_afternoon(database: Database, town: Town) -> tuple[int, str]:
    """A booking five hours ahead: too late for its booker to cancel (24-hour deadline)."""
    async with (
        runtime_on(database, lambda: FIXED_NOW) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        bookings = runtime.booking.bookings(session)
        today = FIXED_NOW.astimezone(PARIS).date()
        booking = await bookings.create(
            Actor(user_id=town.citizen_id, via="session"),
            BookingCreate(
                items=[ItemRequest(resource_id=town.printer_id)],
                starts_at=datetime.combine(today, time(14), PARIS),
                ends_at=datetime.combine(today, time(15), PARIS),
            ),
        )
        return booking.id, booking.reference


async def test_my_bookings_lists_them_in_local_time_and_cancels_one(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.citizen_email)
    listing = await web.get("/account/bookings")
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "no-store"
    page = text(listing.text)
    assert "Mercredi 3 mars 2027, 10:00-11:00 Poste CAO x 3 - Fablab du Trégor" in page
    assert f"Confirmée Référence {town.booking_reference}" in page
    cancel_url = f"/account/bookings/{town.booking_id}/cancel"
    assert f'href="{cancel_url}"' in listing.text

    form = await web.get(cancel_url)
    assert form.status_code == 200
    assert f"Annuler la réservation {town.booking_reference}" in text(form.text)
    response = await web.post(
        cancel_url, data={"reason": "Sortie scolaire déplacée", "_csrf_token": csrf(form.text)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/bookings?notice=cancelled"
    after = await web.get(response.headers["location"])
    page = text(after.text)
    assert "Votre réservation est annulée." in page
    assert f"Annulée Référence {town.booking_reference}" in page
    # Not to come any more, though its date is: it leaves "À venir".
    upcoming, cancelled = page.split("Passées ou annulées")
    assert town.booking_reference not in upcoming and town.booking_reference in cancelled
    assert "Aucune réservation à venir" in upcoming
    assert f'href="{cancel_url}"' not in after.text  # nothing left to cancel
    again = text((await web.get(cancel_url)).text)
    assert "Cette réservation n'est plus active : il n'y a rien à annuler." in again


async def test_cancelling_after_the_deadline_explains_why_and_keeps_the_reason(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    booking_id, reference = await _book_this_afternoon(database, town)
    await log_in(web, town.citizen_email)
    url = f"/account/bookings/{booking_id}/cancel"
    form = await web.get(url)
    response = await web.post(url, data={"reason": "Malade", "_csrf_token": csrf(form.text)})
    assert response.status_code == 409
    assert "Le délai d'annulation de cette réservation est dépassé : contactez le lieu." in text(
        response.text
    )
    assert by_id(response.text, "reason")["value"] == "Malade"
    assert "Confirmée" in text(response.text)  # still booked
    listing = text((await web.get("/account/bookings")).text)
    assert f"Confirmée Référence {reference}" in listing


async def test_only_the_booker_and_the_place_managers_see_the_cancel_page(
    web: httpx.AsyncClient, town: Town
) -> None:
    url = f"/account/bookings/{town.booking_id}/cancel"
    anonymous = await web.get(url)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")

    await log_in(web, town.other_manager_email)
    stranger = await web.get(url)
    assert stranger.status_code == 404
    assert "Cette réservation n'existe pas, ou elle n'est pas la vôtre." in text(stranger.text)
    refused = await web.post(url, data={"_csrf_token": csrf(stranger.text)})
    assert refused.status_code == 404
    await submit(web, "/account", "/logout", {})

    await log_in(web, town.manager_email)
    assert (await web.get(url)).status_code == 200


async def test_a_reason_too_long_is_an_error_by_the_field(
    web: httpx.AsyncClient, town: Town
) -> None:
    await log_in(web, town.citizen_email)
    url = f"/account/bookings/{town.booking_id}/cancel"
    response = await submit(web, url, url, {"reason": "x" * 501})
    assert response.status_code == 422
    assert "Utilisez au plus 500 caractères." in text(response.text)
    assert by_id(response.text, "reason")["aria-invalid"] == "true"
