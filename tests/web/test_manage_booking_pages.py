"""The back office agenda and bookings: approve, refuse, record an on-site payment, invoices."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx
import pytest

from kernel.db import Database
from tests.support.booking import FIXED_NOW
from tests.web.helpers import by_id, csrf, elements, log_in, submit, text
from tests.web.manage_seed import BackOffice, seed_back_office
from tests.web.seed import Town

API = {"accept": "application/json"}


def plain(html: str) -> str:
    """The visible text, with the no-break spaces of French money as plain spaces."""
    return text(html).replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture
async def office(database: Database, town: Town) -> BackOffice:
    """Requests awaiting approval and a booking to pay on site."""
    return await seed_back_office(database, town, FIXED_NOW)


async def _status(web: httpx.AsyncClient, booking_id: int) -> str:
    response = await web.get(f"/api/bookings/{booking_id}", headers=API)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_the_week_agenda_shows_every_booking_with_its_booker(
    web: httpx.AsyncClient, town: Town, office: BackOffice
) -> None:
    await log_in(web, town.manager_email)
    response = await web.get(f"/manage/places/{town.place_id}/agenda")
    assert response.status_code == 200
    page = text(response.text)
    assert "Agenda de la semaine du lundi 1 mars" in page
    assert "2 réservations attendent votre accord." in page
    # Wednesday 3 March, local time: the seats at 10:00 and 16:00, the printer requests.
    wednesday = page[page.index("Mercredi 3 mars") : page.index("Jeudi 4 mars")]
    assert "10:00-11:00 3 x Poste CAO - camille" in wednesday
    assert "14:00-15:00 1 x Imprimante 3D - camille" in wednesday
    assert wednesday.count("Demande en attente de validation") == 2
    assert f'href="/manage/bookings/{office.first_request_id}"' in response.text
    day = await web.get(f"/manage/places/{town.place_id}/agenda?view=day&from=2027-03-03")
    assert day.status_code == 200
    assert "Agenda du mercredi 3 mars 2027" in text(day.text)
    assert "Jeudi" not in text(day.text)


async def test_a_manager_approves_one_request_and_refuses_another(
    web: httpx.AsyncClient, town: Town, office: BackOffice
) -> None:
    await log_in(web, town.manager_email)
    first = f"/manage/bookings/{office.first_request_id}"
    shown = await web.get(first)
    assert shown.status_code == 200
    assert "Mercredi 3 mars 2027, 14:00 - 15:00" in text(shown.text)
    approved = await submit(web, first, f"{first}/approve", {"reason": "Bienvenue"})
    assert approved.status_code == 303
    assert approved.headers["location"] == f"{first}?notice=booking_approved"
    assert "La réservation est acceptée." in text(
        (await web.get(approved.headers["location"])).text
    )
    assert await _status(web, office.first_request_id) == "confirmed"

    second = f"/manage/bookings/{office.second_request_id}"
    refused = await submit(web, second, f"{second}/refuse", {"reason": "Machine en panne"})
    assert refused.status_code == 303
    assert await _status(web, office.second_request_id) == "refused"
    # Deciding twice: the service says no, the page says why, by the field.
    again = await submit(web, first, f"{first}/refuse", {"reason": "Trop tard"})
    assert again.status_code == 409
    assert "Cette réservation n'attend plus d'accord." in text(again.text)
    assert await _status(web, office.first_request_id) == "confirmed"


async def test_a_long_reason_is_refused_by_its_field_and_kept(
    web: httpx.AsyncClient, town: Town, office: BackOffice
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/bookings/{office.first_request_id}"
    response = await submit(web, url, f"{url}/refuse", {"reason": "x" * 501})
    assert response.status_code == 422
    assert by_id(response.text, "reason")["aria-invalid"] == "true"
    assert "x" * 501 in response.text
    assert await _status(web, office.first_request_id) == "pending_approval"


async def test_recording_an_on_site_payment_issues_the_invoice(
    web: httpx.AsyncClient, town: Town, office: BackOffice
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/bookings/{office.on_site_booking_id}"
    shown = plain((await web.get(url)).text)
    assert "6,00 €" in shown  # 1 h at 5,00 € excl. VAT (not per seat), 20 % VAT
    assert "À régler sur place" in shown
    today = FIXED_NOW.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    receipt = {"amount": "6,00", "reference": "", "received_on": today}
    missing = await submit(web, url, f"{url}/receive", {**receipt, "means": ""})
    assert missing.status_code == 422
    assert "Indiquez comment la réservation a été payée." in text(missing.text)
    paid = await submit(web, url, f"{url}/receive", {**receipt, "means": "cheque"})
    assert paid.status_code == 303
    page = await web.get(paid.headers["location"])
    assert "Le paiement est enregistré." in text(page.text)
    assert "Payé (Chèque)" in text(page.text)
    links = [a["href"] for a in elements(page.text, "a") if a["href"].startswith("/api/invoices")]
    # The page, the PDF and the Factur-X of the invoice.
    assert [link.rsplit("/", 1)[1] for link in links] == ["print", "pdf", "facturx"]
    twice = await web.post(
        f"{url}/receive", data={**receipt, "means": "cash", "_csrf_token": csrf(page.text)}
    )
    assert twice.status_code == 409

    invoices = await web.get(f"/manage/places/{town.place_id}/invoices")
    assert invoices.status_code == 200
    listed = plain(invoices.text)
    assert "1 document trouvé." in listed and "FAB-" in listed and "6,00 €" in listed
    assert "Payée" in listed and "camille" in listed  # its state and its client
    # Found by its client, its state and its month; not among the ones to be paid.
    base = f"/manage/places/{town.place_id}/invoices"
    issued = FIXED_NOW.astimezone(ZoneInfo("Europe/Paris"))  # the app's clock
    this_month, last_year = issued.strftime("%Y-%m"), f"{issued.year - 1}-{issued:%m}"
    for query in ({"q": "CAMILLE"}, {"status": "paid"}, {"month": this_month}):
        assert "1 document trouvé." in plain((await web.get(base, params=query)).text), query
    for query in ({"status": "unpaid"}, {"month": last_year}, {"q": "personne"}):
        none = plain((await web.get(base, params=query)).text)
        assert "0 document trouvé." in none and "FAB-" not in none, query
    wrong = await web.get(base, params={"month": "mars", "status": "lost"})
    assert wrong.status_code == 422
    assert by_id(wrong.text, "month")["aria-invalid"] == "true"
    assert by_id(wrong.text, "status")["aria-invalid"] == "true"
    printed = await web.get(links[0])
    assert printed.status_code == 200 and "Facture" in printed.text


async def test_another_place_s_manager_sees_none_of_it(
    web: httpx.AsyncClient, town: Town, office: BackOffice
) -> None:
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/agenda")
    assert own.status_code == 200 and "camille" not in text(own.text)
    for path in (
        f"/manage/places/{town.place_id}/agenda",
        f"/manage/places/{town.place_id}/invoices",
        f"/manage/bookings/{office.first_request_id}",
    ):
        response = await web.get(path)
        assert response.status_code in (403, 404), path
        assert "camille" not in response.text
    token = csrf(own.text)
    url = f"/manage/bookings/{office.first_request_id}/approve"
    refused = await web.post(url, data={"_csrf_token": token})
    assert refused.status_code in (403, 404)
    web.cookies.clear()
    await log_in(web, town.manager_email)
    assert await _status(web, office.first_request_id) == "pending_approval"


async def test_the_booker_cannot_reach_the_back_office_page_of_their_booking(
    web: httpx.AsyncClient, town: Town, office: BackOffice
) -> None:
    await log_in(web, town.citizen_email)
    response = await web.get(f"/manage/bookings/{office.first_request_id}")
    assert response.status_code == 403
