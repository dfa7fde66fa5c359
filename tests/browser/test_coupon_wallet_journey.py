"""A promo code and a wallet, in Chromium: the Médiathèque's manager adds a code and credits a
citizen's wallet; the citizen applies the code on the booking page, ticks "pay from my wallet"
(the quote follows without a reload), books, and sees the wallet spent.

The meeting room costs 12,00 EUR an hour with VAT; the code takes 25 % off (9,00 EUR), the
wallet holds 5,00 EUR: 4,00 EUR are left to pay on site.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import LiveServer, PageChecker
from tests.browser.test_booking_form_journey import BOOKED, _an_hour_after, _review_a_free_time
from tests.browser.test_citizen_journey import PASSWORD as CITIZEN_PASSWORD
from tests.browser.test_citizen_journey import _price_room, _sign_up
from tests.web.seed import PASSWORD


def _log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile("/account"))


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter", exact=True).click()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()


def test_a_citizen_books_with_a_promo_code_and_pays_the_rest_from_the_wallet(
    page: Page, server: LiveServer, check_page: PageChecker
) -> None:
    _price_room(server, 1000)
    citizen = f"klervi-{server.backend}@example.fr"
    _sign_up(page, server, "Nolwenn Kerjean", citizen)
    _log_out(page)

    _log_in(page, server.town.other_manager_email)
    place = server.town.other_place_id
    page.goto(f"/manage/places/{place}/coupons")
    page.get_by_label("Code", exact=True).fill("lecture25")
    page.get_by_label("Pourcentage ou montant").fill("25")
    page.get_by_role("button", name="Ajouter le code promo").click()
    expect(page.get_by_role("status")).to_contain_text("Le code promo est ajouté")
    expect(page.get_by_role("row", name=re.compile("LECTURE25"))).to_contain_text("25")
    check_page(page, "manage-coupons")

    page.goto(f"/manage/places/{place}/wallets")
    page.get_by_label("Adresse e-mail de la personne").fill(citizen)
    page.get_by_label("Montant (€)").fill("5,00")
    page.get_by_label("Motif").fill("Atelier annulé par la médiathèque")
    page.get_by_role("button", name="Créditer le porte-monnaie").click()
    expect(page.get_by_role("status")).to_contain_text("Le porte-monnaie est crédité")
    expect(page.locator("main")).to_contain_text("Solde : 5,00")
    check_page(page, "manage-wallets")
    _log_out(page)

    _log_in(page, citizen, CITIZEN_PASSWORD)
    start = _review_a_free_time(page, server, 2)
    page.get_by_label("Fin").fill(_an_hour_after(start))
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("12,00")
    page.get_by_label("Code promo").fill("lecture25")
    page.get_by_role("button", name="Appliquer le code").click()
    expect(page.get_by_role("row", name=re.compile("Code promo LECTURE25"))).to_contain_text(
        "-3,00"
    )
    expect(page.get_by_role("row", name=re.compile("Total à payer"))).to_contain_text("9,00")
    # Ticking the wallet re-quotes without a reload.
    page.evaluate("() => { window.stayedOnThePage = true; }")
    page.get_by_label(re.compile("Payer d'abord avec mon porte-monnaie")).check()
    expect(page.get_by_role("row", name=re.compile("Reste à payer"))).to_contain_text("4,00")
    assert page.evaluate("() => window.stayedOnThePage === true")
    check_page(page, "booking-coupon-wallet")

    page.get_by_label("Sur place, au lieu").check()
    page.get_by_role("button", name="Confirmer la réservation").click()
    expect(page.get_by_role("status")).to_have_text(BOOKED)

    page.goto("/account/wallet")
    expect(page.locator("main")).to_contain_text("Solde : 0,00")
    expect(page.get_by_role("row", name=re.compile("Réservation payée"))).to_contain_text("-5,00")
    check_page(page, "account-wallet")
