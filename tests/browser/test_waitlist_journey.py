"""The waitlist in Chromium: a full time of the printer offers its waitlist on the booking
page; joining it lists it among my bookings, where I may leave it. Each page is checked by
axe-core and photographed on demand (tests/artifacts/browser/)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time

from playwright.sync_api import Page, expect

from booking.schemas import BookingCreate, ItemRequest
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_citizen_journey import _sign_up
from tests.support.accounts import make_user
from tests.support.apps import runtime_on
from tests.web.seed import PARIS


def _fill_printer(server: LiveServer, hour: int) -> None:
    """Someone books the printer for an hour on the town's booking day (in a thread:
    Playwright's loop owns this one)."""

    async def fill() -> None:
        settings = Settings(database_url=server.database_url, database_pool_size=2)
        database = Database.from_settings(settings)
        try:
            town = server.town
            booker = await make_user(database, f"printer-{hour}@example.fr")
            async with (
                runtime_on(database) as runtime,
                database.writer() as session,
                session.begin(),
            ):
                await runtime.booking.bookings(session).create(
                    Actor(user_id=booker.user_id, via="session"),
                    BookingCreate(
                        items=[ItemRequest(resource_id=town.printer_id)],
                        starts_at=datetime.combine(town.booking_day, time(hour), PARIS),
                        ends_at=datetime.combine(town.booking_day, time(hour + 1), PARIS),
                    ),
                )
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, fill()).result()


def test_a_citizen_joins_the_waitlist_of_a_full_time_and_leaves_it(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    _fill_printer(server, 17)
    _sign_up(page, server, "Maël Le Goff", f"mael-{server.backend}@example.fr")
    town = server.town
    page.goto(
        f"/resources/{town.printer_id}/book?day={town.booking_day.isoformat()}"
        "&start=17:00&end=18:00&quantity=1"
    )
    expect(page.get_by_role("heading", level=2, name="Cet horaire est complet")).to_be_visible()
    check_page(page, "waitlist-full-time")
    page.get_by_role("button", name="M'inscrire sur la liste d'attente").click()

    expect(page.get_by_role("status")).to_contain_text("Vous êtes sur la liste d'attente")
    entry = page.locator(".waitlist-entry")
    expect(entry).to_contain_text("17:00\u201318:00")
    expect(entry).to_contain_text("En attente, numéro 1 dans la file")
    check_page(page, "waitlist-my-bookings")
    entry.get_by_role("button", name="Quitter la liste d'attente").click()
    expect(page.get_by_role("status")).to_contain_text("Vous avez quitté la liste d'attente.")
    expect(page.locator(".waitlist-entry")).to_have_count(0)
