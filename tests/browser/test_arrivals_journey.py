"""Arrivals in Chromium: the kiosk page of a place (a wrong reference is refused, nothing
told about other bookings), then a manager sets the release delay and reads the no-shows on
the people page. (Checking in itself depends on the hour: tests/web/test_attendance_pages.py
does it on a fixed clock.)

Each page is checked by axe-core and photographed on demand (also at 390 and 1280 px in
/work/shots/closures/ when that folder exists).
"""

from __future__ import annotations

import re
from datetime import time

from playwright.sync_api import Page, expect

from kernel.db import Database
from tests.browser.support import LiveServer, PageChecker, on_served_database
from tests.browser.test_closure_journey import _log_in, _shoot
from tests.web.seed import citizen_books_seats


def _confirmed_booking(server: LiveServer) -> int:
    """A booking of the citizen's for this journey alone: checking in changes it, and other
    journeys count on the town's as seeded."""
    town = server.town

    async def book(database: Database) -> int:
        booking = await citizen_books_seats(database, town, town.booking_day, (time(14), time(15)))
        return booking.id

    return on_served_database(server, book)


def test_the_kiosk_refuses_a_wrong_reference_and_managers_set_the_release_delay(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    town = server.town
    page.goto(f"/kiosk/places/{town.place_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pointer son arrivée")
    _shoot(page, check_page, "kiosk")
    page.get_by_label("Référence de la réservation").fill(town.booking_reference)
    page.get_by_label("Adresse e-mail").fill("personne@example.fr")
    page.get_by_role("button", name="Je suis arrivé·e").click()
    expect(page.get_by_role("alert")).to_contain_text("Aucune réservation de ce lieu")
    expect(page.get_by_label("Référence de la réservation")).to_have_value(town.booking_reference)
    _shoot(page, check_page, "kiosk-error")

    _log_in(page, town.manager_email)
    page.goto(f"/manage/places/{town.place_id}/details")
    delay = page.get_by_label(re.compile("^Libérer une réservation non pointée"))
    delay.fill("15")
    _shoot(page, check_page, "details-arrivals")
    page.get_by_role("button", name="Enregistrer les informations").click()
    page.goto(f"/manage/places/{town.place_id}/details")
    expect(delay).to_have_value("15")
    delay.fill("")  # back to never: the other journeys' bookings are left as they are
    page.get_by_role("button", name="Enregistrer les informations").click()
    page.goto(f"/manage/places/{town.place_id}/people")
    expect(page.get_by_role("heading", name="Absences", exact=True)).to_be_visible()
    _shoot(page, check_page, "people-no-shows")
    page.goto(f"/manage/bookings/{_confirmed_booking(server)}")
    expect(page.get_by_role("button", name="Pointer l'arrivée")).to_be_visible()
    _shoot(page, check_page, "booking-mark-arrived")
