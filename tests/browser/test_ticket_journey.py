"""A paid workshop in Chromium (issue 22, tickets): a citizen sees its price on the programme
and on its page, registers ("S'inscrire"), reads the quote, chooses to pay on site, and finds
the registration with its amount in "Mes inscriptions"; the manager sees it due on the sign-in
sheet, records the money, and the citizen then has its invoice.

The workshop is at a place of its own (its invoices and payment methods are not the other
journeys'). Each page is checked by axe-core and photographed on demand.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Page, expect

from billing.schemas import BillingSettingsWrite
from kernel.auth.actor import Actor
from kernel.db import Database
from kernel.settings import Settings
from resources.repository import CatalogueRepository
from resources.schemas import PlaceCreate
from resources.service import CatalogueService
from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_citizen_journey import _sign_up
from tests.browser.test_closure_journey import _log_in
from tests.support.accounts import make_user, stored_hash
from tests.support.apps import runtime_on
from tests.support.tickets import priced_workshop
from tests.web.seed import ADMIN, PASSWORD

MANAGER = "accueil@tregastel.example"


async def _seed(database_url: str) -> int:
    """A place, its manager, and a 3-D printing workshop in ten days: 15 EUR incl. VAT."""
    database = Database.from_settings(Settings(database_url=database_url, database_pool_size=2))
    now = datetime.now(UTC)
    starts = (now + timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    try:
        async with (
            runtime_on(database, lambda: now) as runtime,
            database.writer() as session,
            session.begin(),
        ):
            catalogue = CatalogueService(CatalogueRepository(session))
            place = await catalogue.create_place(
                PlaceCreate(
                    slug="fablab-tregastel",
                    name="Fablab de Trégastel",
                    address="2 rue de la Grève",
                    postcode="22730",
                    town="Trégastel",
                    operator_name="Commune de Trégastel",
                )
            )
            assert place.id is not None
            await runtime.billing.services(session).prices.set_settings(
                ADMIN,
                place.id,
                BillingSettingsWrite(
                    invoice_prefix="TRG", payment_methods={"*": ["on_site"]}, refund_tiers=[]
                ),
                now,
            )
        manager = await make_user(
            database, MANAGER, manages=(place.id,), password_hash=stored_hash(PASSWORD)
        )
        assert manager.user_id is not None
        actor = Actor(user_id=manager.user_id, managed_place_ids=frozenset({place.id}))
        return await priced_workshop(
            database,
            actor,
            place.id,
            now,
            title="Atelier impression 3D",
            starts=starts,
            seats=8,
            prices={"*": 1500},
        )
    finally:
        await database.dispose()


def _seeded(server: LiveServer) -> int:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _seed(server.database_url)).result()


def test_a_citizen_registers_for_a_paid_workshop_and_pays_on_site(
    page: Page, browser: Browser, server: LiveServer, check_page: PageChecker
) -> None:
    session_id = _seeded(server)
    email = f"gwen-{server.backend}@example.fr"
    _sign_up(page, server, "Gwenaëlle Tanguy", email)

    page.goto("/programme?price=paid")
    expect(page.locator(".session", has_text="Atelier impression 3D")).to_contain_text(
        "À partir de 15,00"
    )
    page.get_by_role("link", name="Atelier impression 3D").click()
    expect(page.locator("dd", has_text="par personne")).to_contain_text("15,00")
    check_page(page, "ticket-session")
    page.get_by_label("Nombre de personnes").fill("2")
    page.get_by_role("button", name="S'inscrire").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inscription")
    expect(page.locator("tfoot")).to_contain_text("30,00")
    check_page(page, "ticket-quote")
    page.get_by_role("button", name="Confirmer mon inscription").click()
    expect(page.get_by_role("status")).to_contain_text("Vous êtes inscrit")
    registration = page.locator(".registration", has_text="Atelier impression 3D")
    expect(registration).to_contain_text("30,00")
    expect(registration).to_contain_text("à payer sur place")
    check_page(page, "ticket-mine")

    # The manager: due on the sign-in sheet; the money received, the invoice is issued.
    context = browser.new_context(base_url=server.url, locale="fr-FR")
    manager = context.new_page()
    _log_in(manager, MANAGER)
    manager.goto(f"/manage/sessions/{session_id}")
    expect(manager.locator(".sheet")).to_contain_text("à payer sur place")
    check_page(manager, "ticket-sheet")
    manager.get_by_role("button", name=re.compile("Marquer payé")).click()
    expect(manager.get_by_role("status")).to_contain_text("facture est émise")
    context.close()

    page.reload()
    registration = page.locator(".registration", has_text="Atelier impression 3D")
    expect(registration).to_contain_text("payé")
    expect(registration).to_contain_text("TRG-")
