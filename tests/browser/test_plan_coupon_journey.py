"""A membership with a promo code and the wallet, in Chromium, axe-checked: the Médiathèque
offers a yearly plan (20,00 EUR excl. VAT, 24,00 EUR with VAT); its manager adds a code for it
(50 %), withdraws and restores it; a citizen holding 5,00 EUR in her wallet types the code, ticks
"pay from my wallet", sees the price of the first period (24,00 - 12,00 = 12,00, 5,00 from the
wallet, 7,00 left), then joins; the manager sees the code used for a membership.

The plan and the wallet are seeded on the served database; each run names the plan and the code
after its backend, as the server is shared.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from accounts.plans import MembershipPlan
from billing.wallet_models import WalletMovement
from billing.wallet_repository import WalletRepository
from kernel.db import Database
from kernel.settings import Settings
from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_citizen_journey import PASSWORD as CITIZEN_PASSWORD
from tests.browser.test_citizen_journey import _sign_up
from tests.browser.test_coupon_wallet_journey import _log_in, _log_out


def _seed(server: LiveServer, plan_name: str, email: str) -> None:
    """The plan and 5,00 EUR in the citizen's wallet, on the served database."""

    async def seed() -> None:
        settings = Settings(database_url=server.database_url, database_pool_size=2)
        database = Database.from_settings(settings)
        now = datetime.now(UTC)
        place_id = server.town.other_place_id
        try:
            async with database.writer() as session, session.begin():
                plan = MembershipPlan(
                    place_id=place_id, name=plan_name, period="year", price_cents=2000
                )
                session.add(plan)
                wallets = WalletRepository(session)
                user = await wallets.user_by_email(email)
                assert user is not None and user.id is not None
                wallet_id = await wallets.ensure(place_id, user.id, now)
                balance = await wallets.credit(wallet_id, 500, now)
                session.add(
                    WalletMovement(
                        wallet_id=wallet_id,
                        kind="manager_credit",
                        amount_cents=500,
                        balance_after_cents=balance,
                        reason="Atelier annulé",
                    )
                )
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, seed()).result()


def test_a_citizen_joins_with_a_promo_code_and_her_wallet_after_seeing_the_price(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    citizen = f"morgane-{server.backend}@example.fr"
    plan_name = f"Pass maker {server.backend}"
    code = f"MAKER{server.backend.upper()[:5]}"
    _sign_up(page, server, "Morgane Le Goff", citizen)
    _log_out(page)
    _seed(server, plan_name, citizen)

    _log_in(page, server.town.other_manager_email)
    page.goto(f"/manage/places/{server.town.other_place_id}/coupons")
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_label("Pourcentage ou montant").fill("50")
    page.get_by_label(plan_name).check()
    page.get_by_role("button", name="Ajouter le code promo").click()
    expect(page.get_by_role("status")).to_contain_text("Le code promo est ajouté")
    row = page.get_by_role("row", name=re.compile(code))
    expect(row).to_contain_text(plan_name)
    check_page(page, "manage-coupons-plans")
    # Withdrawn and restored, it is still for the plan.
    row.get_by_role("button", name=f"Retirer {code}").click()
    page.get_by_role("row", name=re.compile(code)).get_by_role(
        "button", name=f"Rétablir {code}"
    ).click()
    expect(page.get_by_role("row", name=re.compile(code))).to_contain_text(plan_name)
    _log_out(page)

    _log_in(page, citizen, CITIZEN_PASSWORD)
    page.goto(f"/places/{server.town.other_place_id}/plans")
    card = page.locator("li.panel", has=page.get_by_role("heading", name=plan_name))
    card.get_by_label("Code promo").fill(code.lower())
    card.get_by_label(re.compile("Payer d'abord avec mon porte-monnaie")).check()
    card.get_by_role("button", name=re.compile("Voir le prix")).click()
    card = page.locator("li.panel", has=page.get_by_role("heading", name=plan_name))
    expect(card.get_by_role("row", name=re.compile(f"Code promo {code}"))).to_contain_text("-12,00")
    expect(card.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("12,00")
    expect(card.get_by_role("row", name=re.compile("Reste à payer"))).to_contain_text("7,00")
    check_page(page, "plans-coupon-wallet")
    card.get_by_role("button", name=re.compile("Adhérer")).click()
    expect(page.get_by_role("status")).to_have_text(
        "Vous êtes adhérent. Réglez la période comme indiqué ci-dessous."
    )
    expect(page.get_by_role("heading", level=2, name=re.compile(plan_name))).to_be_visible()
    expect(page.locator("td", has_text="par le porte-monnaie")).to_contain_text(
        re.compile(r"7,00.*à payer sur place \(et 5,00.*par le porte-monnaie\)")
    )
    check_page(page, "memberships-mine-wallet")
    _log_out(page)

    _log_in(page, server.town.other_manager_email)
    page.goto(f"/manage/places/{server.town.other_place_id}/coupons")
    used = page.get_by_role("region", name=f"Qui a utilisé {code}")
    expect(used).to_contain_text("une adhésion")
    check_page(page, "manage-coupons-plan-used")
