"""The school journey's pages through the forms: the weekly-booking form,
its preview of each week, the confirmation on a purchase order and the series' summary."""

from __future__ import annotations

import re

import httpx
import pytest

from kernel.db import Database
from resources.repository import CatalogueRepository
from resources.schemas import ResourceUpdate
from resources.service import CatalogueService
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, elements, log_in, submit, text, unlabelled_controls
from tests.web.school import SCHOOL_NAME, School, seed_school
from tests.web.seed import ADMIN, Town

PO = "BC-2027-118"


@pytest.fixture
async def school(database: Database) -> School:
    """The school's world, six Tuesdays from 9 March 2027."""
    return await seed_school(database, FIXED_NOW)


def term(school: School, **changes: str) -> dict[str, str]:
    """The form as the teacher fills it: Tuesdays 14:00-16:00, the room and 12 seats."""
    return {
        "organisation_id": str(school.organisation_id),
        "weekday": "1",
        "first_date": school.tuesdays[0].isoformat(),
        "last_date": school.tuesdays[-1].isoformat(),
        "start_time": "14:00",
        "end_time": "16:00",
        "seats_id": str(school.seats_id),
        "seats_quantity": "12",
        "notes": "4e B",
        **changes,
    }


def form_url(school: School) -> str:
    """The weekly-booking form of the room."""
    return f"/resources/{school.room_id}/series"


async def preview(web: httpx.AsyncClient, school: School, **changes: str) -> httpx.Response:
    """Fill the form and ask for the weeks."""
    return await submit(web, form_url(school), form_url(school), term(school, **changes))


def hidden(html: str, name: str) -> str:
    """The value of the confirmation form's hidden field."""
    found = [e["value"] for e in elements(html, "input") if e.get("name") == name]
    return found[-1]


async def confirm(
    web: httpx.AsyncClient, school: School, html: str, **fields: str
) -> httpx.Response:
    """Post the confirmation form of a preview page."""
    return await web.post(
        form_url(school),
        data={
            **term(school),
            "step": "confirm",
            "quote_fingerprint": hidden(html, "quote_fingerprint"),
            "method": "invoice",
            "_csrf_token": csrf(html),
            **fields,
        },
    )


async def test_the_form_is_for_logged_in_people(web: httpx.AsyncClient, school: School) -> None:
    response = await web.get(form_url(school))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_the_form_is_labelled_and_books_for_the_teachers_school(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    response = await web.get(form_url(school))
    assert response.status_code == 200
    html = response.text
    assert unlabelled_controls(html) == []
    assert f'<option value="{school.organisation_id}" selected>{SCHOOL_NAME}</option>' in html
    assert '<option value="1" selected>Mardi</option>' in html
    assert f'<option value="{school.seats_id}">Postes informatiques (12)</option>' in html
    assert by_id(html, "first_date")["type"] == "date"
    assert "Réserver Salle de classe chaque semaine" in text(html)


async def test_the_preview_shows_each_week_free_or_conflicting_and_books_nothing(
    web: httpx.AsyncClient, school: School, database: Database
) -> None:
    await log_in(web, school.teacher_email)
    response = await preview(web, school)
    assert response.status_code == 200, text(response.text)[:500]
    page = text(response.text)
    assert (
        "3 semaines peuvent être réservées, 3 semaines sont en conflit et seront écartées" in page
    )
    rows = re.findall(r"<tr class=\"week-(\w+)\">\s*<th scope=\"row\">([^<]+)</th>", response.text)
    assert [(status, day.split(",")[0]) for status, day in rows] == [
        ("free", "Mardi 9 mars 2027"),
        ("conflict", "Mardi 16 mars 2027"),
        ("conflict", "Mardi 23 mars 2027"),
        ("conflict", "Mardi 30 mars 2027"),
        ("free", "Mardi 6 avril 2027"),
        ("free", "Mardi 13 avril 2027"),
    ]
    assert "Conflit - Le lieu est fermé (jour férié, fermeture ou horaires)." in page
    assert "Conflit - Salle de classe est déjà réservé·e." in page
    assert "Conflit - Pas assez de places libres : Postes informatiques." in page
    assert page.count("108,30\u00a0€") == 3
    assert "Total HT 309,00\u00a0€" in page
    assert "TVA 15,90\u00a0€" in page
    assert "Total TTC 324,90\u00a0€" in page
    assert "Sur facture (bon de commande)" in page
    assert "Numéro de bon de commande Imprimé" in page  # required: not marked optional
    assert unlabelled_controls(response.text) == []
    # The typed values stay in the form above the preview.
    assert by_id(response.text, "first_date")["value"] == "2027-03-09"
    assert by_id(response.text, "seats_quantity")["value"] == "12"
    bookings = await web.get("/account/bookings")
    assert "Salle de classe" not in text(bookings.text)


async def test_confirming_books_the_free_weeks_and_shows_their_invoices_on_the_po(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    shown = await preview(web, school)
    response = await confirm(web, school, shown.text, purchase_order=PO)
    assert response.status_code == 303, text(response.text)[:800]
    summary = await web.get(response.headers["location"])
    assert summary.status_code == 200
    page = text(summary.text)
    assert "Réservation hebdomadaire" in page
    assert "Chaque mardi, 14:00-16:00" in page
    assert f"Réservé pour {SCHOOL_NAME}" in page
    assert f"Bon de commande {PO}" in page
    assert "Total dû TTC 324,90\u00a0€" in page
    assert "3 dates réservées" in page
    for day in ("Mardi 9 mars 2027, 14:00", "Mardi 6 avril 2027, 14:00", "Mardi 13 avril 2027"):
        assert day in page
    invoices = [
        e["href"] for e in elements(summary.text, "a") if e["href"].startswith("/api/invoices/")
    ]
    assert len(invoices) == 3
    for number in ("TLM-2027-000001", "TLM-2027-000002", "TLM-2027-000003"):
        assert f"Facture {number} - BC {PO}" in page
    printed = await web.get(invoices[0])
    assert printed.status_code == 200
    assert PO in printed.text and "19220012900018" in printed.text
    assert "3 dates écartées" in page
    assert "Mardi 16 mars 2027" in page


async def test_a_missing_purchase_order_is_shown_by_its_field_and_nothing_is_booked(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    shown = await preview(web, school)
    response = await confirm(web, school, shown.text, purchase_order="")
    assert response.status_code == 422
    html = response.text
    assert by_id(html, "purchase_order")["aria-invalid"] == "true"
    assert "Indiquez le numéro du bon de commande fourni par votre établissement." in text(html)
    assert "3 semaines peuvent être réservées" in text(html)  # the preview is still there
    bookings = await web.get("/account/bookings")
    assert "Salle de classe" not in text(bookings.text)


async def test_mistakes_are_next_to_their_fields_and_typed_values_stay(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    response = await preview(
        web, school, last_date="2027-03-01", end_time="13:00", seats_quantity="douze"
    )
    assert response.status_code == 422
    html = response.text
    links = [e["href"] for e in elements(html, "a") if e["href"].startswith("#")]
    assert links == ["#main", "#last_date", "#end_time", "#seats_quantity"]
    for field in ("last_date", "end_time", "seats_quantity"):
        assert by_id(html, field)["aria-invalid"] == "true"
    assert by_id(html, "seats_quantity")["value"] == "douze"
    assert by_id(html, "last_date")["value"] == "2027-03-01"
    assert "Indiquez une heure de fin après le début, par exemple 16:00." in text(html)


async def test_too_many_seats_is_refused_by_the_engine_next_to_the_field(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    response = await preview(web, school, seats_quantity="13")
    assert response.status_code == 422, text(response.text)[:500]
    assert by_id(response.text, "seats_quantity")["aria-invalid"] == "true"


async def test_a_series_page_is_not_shown_to_others(
    web: httpx.AsyncClient, school: School, town: Town
) -> None:
    await log_in(web, school.teacher_email)
    shown = await preview(web, school)
    done = await confirm(web, school, shown.text, purchase_order=PO)
    assert done.status_code == 303
    await web.post("/logout", data={"_csrf_token": csrf(shown.text)})
    web.cookies.clear()
    await log_in(web, town.citizen_email)
    response = await web.get(done.headers["location"])
    assert response.status_code == 404


async def test_the_preview_speaks_english_too(web: httpx.AsyncClient, school: School) -> None:
    web.headers["accept-language"] = "en-GB,en"
    await log_in(web, school.teacher_email)
    response = await preview(web, school)
    assert response.status_code == 200
    page = text(response.text)
    assert "3 weeks can be booked, 3 weeks conflict and will be skipped" in page
    assert "Conflict - Not enough free seats of Postes informatiques." in page
    assert "Tuesday, 9 March 2027, 14:00 Available €108.30" in page


async def _ahead(database: Database, school: School, days: int) -> None:
    """The room and the seats may be booked ``days`` ahead (through the catalogue service)."""
    async with database.writer() as session, session.begin():
        catalogue = CatalogueService(CatalogueRepository(session))
        for resource_id in (school.room_id, school.seats_id):
            await catalogue.update_resource(
                ADMIN, resource_id, ResourceUpdate(max_advance_days=days)
            )


async def test_the_form_states_the_horizon_and_skips_the_school_holidays_of_the_zone(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    form = await web.get(form_url(school))
    page = text(form.text)
    # Now is 1 March 2027; the room may be booked 365 days ahead.
    assert (
        "Vous pouvez réserver jusqu'à 365 jours à l'avance, soit jusqu'au mardi 29 février 2028"
        in page
    )
    # Morlaix (29) is in zone B; a teacher's form skips the holidays unless unticked.
    assert "Sauter les vacances scolaires (zone B)" in page
    assert by_id(form.text, "skip_holidays").get("checked") is not None
    assert unlabelled_controls(form.text) == []

    response = await preview(web, school, last_date="2027-05-11", skip_holidays="1")
    assert response.status_code == 200, text(response.text)[:500]
    page = text(response.text)
    assert "Vacances de printemps, du samedi 17 avril 2027 au dimanche 2 mai 2027" in page
    rows = re.findall(r"<tr class=\"week-\w+\">\s*<th scope=\"row\">([^<,]+)", response.text)
    assert "Mardi 13 avril 2027" in rows and "Mardi 4 mai 2027" in rows
    assert "Mardi 20 avril 2027" not in rows and "Mardi 27 avril 2027" not in rows
    # Unticked, the holiday weeks are back.
    again = await preview(web, school, last_date="2027-05-11")
    rows = re.findall(r"<tr class=\"week-\w+\">\s*<th scope=\"row\">([^<,]+)", again.text)
    assert "Mardi 20 avril 2027" in rows and "Mardi 27 avril 2027" in rows


async def test_weeks_beyond_the_horizon_are_to_be_booked_when_it_opens(
    web: httpx.AsyncClient, school: School, database: Database
) -> None:
    await _ahead(database, school, 30)
    await log_in(web, school.teacher_email)
    form = text((await web.get(form_url(school))).text)
    assert "jusqu'à 30 jours à l'avance, soit jusqu'au mercredi 31 mars 2027" in form
    shown = await preview(web, school)
    page = text(shown.text)
    rows = re.findall(r"<tr class=\"week-(\w+)\">\s*<th scope=\"row\">([^<,]+)", shown.text)
    assert rows[-2:] == [("pending", "Mardi 6 avril 2027"), ("pending", "Mardi 13 avril 2027")]
    assert "À réserver à l'ouverture Réservation automatique le dimanche 7 mars 2027" in page
    assert "2 semaines à réserver à l'ouverture" in page
    assert "Conflit - Trop lointain" not in page
    done = await confirm(web, school, shown.text, purchase_order=PO)
    assert done.status_code == 303, text(done.text)[:800]
    summary = text((await web.get(done.headers["location"])).text)
    assert "2 dates à réserver à l'ouverture" in summary
    assert "Mardi 6 avril 2027" in summary and "Mardi 13 avril 2027" in summary
    assert f"Bon de commande {PO}" in summary


async def test_my_bookings_lead_to_the_series_which_cancels_from_a_date(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    shown = await preview(web, school)
    done = await confirm(web, school, shown.text, purchase_order=PO)
    series_url = done.headers["location"]
    mine = await web.get("/account/bookings")
    links = [e["href"] for e in elements(mine.text, "a") if e["href"] == series_url]
    assert len(links) == 3  # each booking of the series links to it
    booking = next(
        e["href"] for e in elements(mine.text, "a") if e["href"].startswith("/account/bookings/")
    )
    detail = await web.get(booking)
    assert f"Bon de commande {PO}" in text(detail.text)
    assert any(e["href"] == series_url for e in elements(detail.text, "a"))

    summary = await web.get(series_url)
    options = [e["value"] for e in elements(summary.text, "option")]
    assert options == ["2027-03-09", "2027-04-06", "2027-04-13"]
    wrong = await web.post(
        f"{series_url}/cancel",
        data={"from_date": "2027-03-16", "_csrf_token": csrf(summary.text)},
    )
    assert wrong.status_code == 422
    assert "Choisissez une date de la série dans la liste." in text(wrong.text)
    cancelled = await web.post(
        f"{series_url}/cancel",
        data={"from_date": "2027-04-06", "_csrf_token": csrf(summary.text)},
    )
    assert cancelled.status_code == 303
    after = await web.get(series_url)
    page = text(after.text)
    assert page.count("Annulée") == 2
    assert [e["value"] for e in elements(after.text, "option")] == ["2027-03-09"]
    # The API says the same.
    api = await web.get(f"/api/series/{series_url.rsplit('/', 1)[1]}")
    assert api.json()["cancelled_from"] == "2027-04-06"


async def test_the_invoices_write_dates_and_hours_in_french(
    web: httpx.AsyncClient, school: School
) -> None:
    await log_in(web, school.teacher_email)
    shown = await preview(web, school)
    done = await confirm(web, school, shown.text, purchase_order=PO)
    summary = await web.get(done.headers["location"])
    invoice = next(
        e["href"] for e in elements(summary.text, "a") if e["href"].startswith("/api/invoices/")
    )
    printed = text((await web.get(invoice)).text)
    assert "du 09/03/2027 14:00 au 09/03/2027 16:00 (heure locale, Europe/Paris)" in printed
    assert "2027-03-09" not in printed
    assert " 2 h " in printed and "2.00" not in printed
    # On invoice: due 30 days after it is issued (1 March), in French format.
    assert "À payer au plus tard le 31/03/2027" in printed
    assert "TVA intracommunautaire FR40732829320" in printed
    pdf = await web.get(invoice.replace("/print", "/pdf"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
