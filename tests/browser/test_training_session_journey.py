"""A laser-cutter training in Chromium (issue 22): a citizen without the laser's certification
registers for the place's training session, the manager marks her present on the sign-in
sheet, and she books the laser cutter at once.

The server runs on the real clock: the session is published to start in 90 minutes (its
sign-in sheet opens two hours before the start), occupying the laser cutter.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from programme.schemas import ResourceUse, SessionCreate, SessionDate
from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_citizen_journey import PARIS, _sign_up
from tests.browser.test_closure_journey import _log_in
from tests.support.apps import runtime_on

BOOKED = "Votre réservation est confirmée. Gardez sa référence."


def _publish_training(server: LiveServer) -> tuple[int, datetime]:
    """The town's laser training, 90 minutes from now, published by its manager."""
    starts = (datetime.now(UTC) + timedelta(minutes=90)).replace(second=0, microsecond=0)

    async def publish() -> int:
        settings = Settings(database_url=server.database_url, database_pool_size=2)
        database = Database.from_settings(settings)
        town = server.town
        try:
            async with database.engine.connect() as connection:
                manager_id = (
                    await connection.execute(
                        text("SELECT id FROM user_account WHERE email = :e"),
                        {"e": town.manager_email},
                    )
                ).scalar_one()
            manager = Actor(
                user_id=manager_id, managed_place_ids=frozenset({town.place_id}), via="session"
            )
            async with (
                runtime_on(database) as runtime,
                database.writer() as session,
                session.begin(),
            ):
                [made] = await runtime.programme.sessions(session).publish(
                    manager,
                    town.place_id,
                    SessionCreate(
                        title="Formation sécurité laser",
                        kind="training",
                        dates=[SessionDate(starts_at=starts, ends_at=starts + timedelta(hours=1))],
                        seats=6,
                        training_id=town.training_id,
                        resources=[ResourceUse(resource_id=town.laser_id)],
                    ),
                )
                return made.id
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, publish()).result(), starts


@pytest.fixture
def manager_page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A second browser, the manager's, beside the citizen's."""
    context = browser.new_context(
        base_url=server.url, locale="fr-FR", viewport={"width": 390, "height": 844}
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_citizen_registers_is_marked_present_and_books_the_laser_at_once(
    page: Page, manager_page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    session_id, starts = _publish_training(server)
    name = "Maëlle Le Goff"
    _sign_up(page, server, name, f"maelle-{server.backend}@example.fr")

    # Her programme, then the session's page: seats left, and "register".
    page.goto(f"/places/{server.town.place_id}/programme")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Programme de")
    check_page(page, "programme-place")
    page.get_by_role("link", name="Formation sécurité laser").click()
    expect(page.locator("dd", has_text="places restantes")).to_contain_text("6 places restantes")
    check_page(page, "programme-session")
    page.get_by_role("button", name="S'inscrire").click()
    expect(page.get_by_role("status")).to_contain_text("Vous êtes inscrit")
    expect(page.locator(".registration")).to_contain_text("Inscrit")
    check_page(page, "programme-mine")

    # The manager, on a phone: the sign-in sheet, "present".
    _log_in(manager_page, server.town.manager_email)
    manager_page.goto(f"/manage/sessions/{session_id}")
    expect(manager_page.get_by_role("heading", level=1)).to_contain_text("Feuille d'émargement")
    check_page(manager_page, "programme-sheet")
    manager_page.get_by_role("button", name=re.compile(f"Marquer présent {name}")).click()
    expect(manager_page.get_by_role("status")).to_contain_text(
        "feuille d'émargement est enregistrée"
    )
    expect(manager_page.locator(".sheet")).to_contain_text("Présent")

    # She books the laser cutter: the certification, dated today, is accepted at once.
    day = starts.astimezone(PARIS).date()
    page.goto(f"/resources/{server.town.laser_id}?from={day.isoformat()}")
    page.locator("#week .period-link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Réserver : Découpeuse laser")
    page.get_by_role("button", name="Confirmer la réservation").click()
    expect(page.get_by_role("status")).to_have_text(BOOKED)
