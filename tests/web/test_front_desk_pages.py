"""The planning grid and the front desk: book for a person or a walk-in, receive a payment
(a cheque, in two parts), reverse a mistaken receipt, move and cancel from the back office;
and the manager of another place kept out of all of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

import httpx
import pytest
from sqlalchemy import text as sql

from billing.schemas import PriceListWrite
from kernel.db import Database
from resources.schemas import ResourceCreate
from tests.support.apps import runtime_on
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, elements, log_in, submit, text
from tests.web.manage_seed import BackOffice, seed_back_office
from tests.web.seed import ADMIN, PARIS, Town

API = {"accept": "application/json"}


def plain(html: str) -> str:
    """The visible text, with the no-break spaces of French money as plain spaces."""
    return text(html).replace("\u00a0", " ").replace("\u202f", " ")


@dataclass(frozen=True)
class Desk:
    """The back office's seed, and a machine at 10 € an hour that nobody booked yet."""

    office: BackOffice
    machine_id: int


@pytest.fixture
async def desk(database: Database, town: Town) -> Desk:
    """Requests awaiting approval, a booking to pay on site, and a priced embroidery machine."""
    office = await seed_back_office(database, town, FIXED_NOW)
    async with (
        runtime_on(database, lambda: FIXED_NOW) as runtime,
        database.writer() as session,
        session.begin(),
    ):
        prices = runtime.billing.services(session).prices
        machine = await prices.catalogue.create_resource(
            ADMIN, town.place_id, ResourceCreate(name="Brodeuse numérique", kind="machine")
        )
        await prices.set_price_list(
            ADMIN,
            town.place_id,
            PriceListWrite.model_validate(
                {"resource_id": machine.id, "rates": [{"user_type": "*", "hourly_cents": 1000}]}
            ),
            FIXED_NOW,
        )
    return Desk(office, machine.id)


async def _desk(web: httpx.AsyncClient, town: Town, fields: dict[str, str]) -> httpx.Response:
    url = f"/manage/places/{town.place_id}/desk"
    form = {"quantity": "1", "pay_by": "on_site", "notes": "", **fields}
    return await submit(web, url, url, form)


async def _one(database: Database, query: str, **params: object) -> object:
    async with database.writer() as session:
        connection = await session.connection()
        return (await connection.execute(sql(query), params)).scalar_one()


async def test_the_day_grid_has_a_row_per_resource_and_a_column_per_open_hour(
    web: httpx.AsyncClient, town: Town, desk: Desk
) -> None:
    await log_in(web, town.manager_email)
    day = town.booking_day.isoformat()
    response = await web.get(f"/manage/places/{town.place_id}/grid?day={day}")
    assert response.status_code == 200
    page = text(response.text)
    assert "Planning du mercredi 3 mars 2027" in page
    headers = [h for h in re.findall(r'<th scope="col">([^<]*)</th>', response.text)]
    # 09:00-12:30 and 14:00-18:00: the hours 09 to 17, the lunch hour 13 shaded.
    assert headers == ["Équipements", *[f"{h:02d}:00" for h in range(9, 18)]]
    assert "Fermé" in page  # 13:00, between the two openings
    rows = re.findall(r'<th scope="row">([^<]*)', response.text)
    assert rows == ["Brodeuse numérique", "Découpeuse laser", "Imprimante 3D", "Poste CAO"]
    # The pool as a count: 3 seats of 12 from 10:00 to 11:00.
    assert "3/12 réservés" in page and "0/12 réservés" in page
    # The two printer requests, the laser to pay on site, each a link to its page.
    blocks = {
        a["href"]: a["class"]
        for a in elements(response.text, "a")
        if "grid-block" in a.get("class", "")
    }
    assert blocks[f"/manage/bookings/{desk.office.first_request_id}"] == "grid-block state-pending"
    assert blocks[f"/manage/bookings/{desk.office.on_site_booking_id}"] == "grid-block state-unpaid"
    assert "Confirmée, à payer" in page and "En attente de validation" in page
    # The pending count links to the filtered agenda.
    pending = f"/manage/places/{town.place_id}/agenda?view=week&from={day}&status=pending_approval"
    assert f'href="{pending.replace("&", "&amp;")}"' in response.text
    filtered = text((await web.get(pending)).text)
    assert filtered.count("Demande en attente de validation") == 2
    assert "Confirmée" not in filtered.replace("Confirmée, ", "")
    # A free cell opens the front desk on its resource and hour.
    link = f"/manage/places/{town.place_id}/desk?resource={desk.machine_id}&day={day}&start=09:00"
    assert f'href="{link.replace("&", "&amp;")}"' in response.text
    form = await web.get(link)
    assert form.status_code == 200
    assert by_id(form.text, "start")["value"] == "09:00"
    assert by_id(form.text, "end")["value"] == "10:00"
    assert by_id(form.text, "day")["value"] == day
    selected = [o for o in elements(form.text, "option") if "selected" in o]
    assert selected[0]["value"] == str(desk.machine_id)


async def test_the_week_grid_and_a_closed_day(
    web: httpx.AsyncClient, town: Town, desk: Desk
) -> None:
    await log_in(web, town.manager_email)
    response = await web.get(f"/manage/places/{town.place_id}/grid?view=week&day=2027-03-03")
    assert response.status_code == 200
    page = text(response.text)
    assert "Planning de la semaine du lundi 1 mars" in page
    assert "Mardi 2 mars 2027 : fermé (Inventaire)" in page  # the seeded closure
    heads = re.findall(r'<th scope="col"><a href="\?view=day&amp;day=([0-9-]+)"', response.text)
    assert heads == [f"2027-03-0{n}" for n in range(1, 8)]
    # Sunday is closed: no front-desk link that day.
    assert "day=2027-03-07&amp;start" not in response.text
    assert f"resource={desk.machine_id}&amp;day=2027-03-04&amp;start=09:00" in response.text


async def test_a_walk_in_books_a_priced_machine_at_the_desk_and_pays_by_cheque(
    web: httpx.AsyncClient, database: Database, town: Town, desk: Desk
) -> None:
    await log_in(web, town.manager_email)
    booked = await _desk(
        web,
        town,
        {
            "who": "walk_in",
            "name": "Yann Le Goff",
            "phone": "06 12 34 56 78",
            "resource_id": str(desk.machine_id),
            "day": "2027-03-04",
            "start": "10:00",
            "end": "12:00",
        },
    )
    assert booked.status_code == 303, text(booked.text)[:800]
    location = booked.headers["location"]
    assert location.endswith("?notice=desk_booked")
    url = location.split("?")[0]
    page = plain((await web.get(location)).text)
    assert "Yann Le Goff" in page and "guests.invalid" not in page
    assert "24,00 €" in page  # 2 h at 10 € excl. VAT, 20 % VAT: the quote, charged
    assert "À régler sur place" in page
    guest = await _one(
        database,
        "SELECT password_hash IS NULL AND guest_place_id = :place AND phone = '06 12 34 56 78' "
        "FROM user_account WHERE display_name = 'Yann Le Goff'",
        place=town.place_id,
    )
    assert guest is True

    # A cheque for part of it, then the rest: paid, and invoiced then.
    first = await submit(
        web,
        url,
        f"{url}/receive",
        {"amount": "10,00", "means": "cheque", "reference": "1234567", "received_on": "2027-03-01"},
    )
    assert first.status_code == 303
    page = plain((await web.get(url)).text)
    assert "Reste à encaisser : 14,00 €." in page and "1234567" in page
    too_much = await submit(
        web, url, f"{url}/receive", {"amount": "20", "means": "cash", "received_on": "2027-03-01"}
    )
    assert too_much.status_code == 422
    assert by_id(too_much.text, "amount")["aria-invalid"] == "true"
    no_means = await submit(
        web, url, f"{url}/receive", {"amount": "14", "means": "", "received_on": "2027-03-01"}
    )
    assert no_means.status_code == 422
    rest = await submit(
        web,
        url,
        f"{url}/receive",
        {"amount": "14", "means": "cheque", "reference": "1234568", "received_on": "01/03/2027"},
    )
    assert rest.status_code == 303
    page = plain((await web.get(url)).text)
    assert "Payé (Chèque)" in page
    invoices = [
        a for a in elements((await web.get(url)).text, "a") if "/api/invoices/" in a["href"]
    ]
    # The invoice: its page, its PDF and its Factur-X.
    assert [a["href"].rsplit("/", 1)[1] for a in invoices] == ["print", "pdf", "facturx"]

    # The second cheque was a mistake: reversed, due again, and a credit note cancels the
    # invoice its recording issued.
    receipts = await _receipts(database, url)
    reversed_ = await submit(
        web, url, f"{url}/receipts/{receipts[-1]}/reverse", {"note": "Chèque sans provision"}
    )
    assert reversed_.status_code == 303
    page = plain((await web.get(url)).text)
    assert "Reste à encaisser : 14,00 €." in page
    assert "Chèque sans provision" in page and "Avoir" in page
    again = await submit(web, url, f"{url}/receipts/{receipts[-1]}/reverse", {"note": ""})
    assert again.status_code == 409
    # Paid again: a new invoice, the first one standing with its credit note.
    paid = await submit(
        web, url, f"{url}/receive", {"amount": "14", "means": "cash", "received_on": "2027-03-01"}
    )
    assert paid.status_code == 303
    kinds = await _one(
        database,
        "SELECT string_agg(kind, ',' ORDER BY id) FROM billing_document WHERE booking_id = :b",
        b=int(url.rsplit("/", 1)[1]),
    )
    assert kinds == "invoice,credit_note,invoice"
    issued = await _one(
        database,
        "SELECT count(*) FROM billing_document d JOIN payment p ON p.booking_id = d.booking_id "
        "WHERE d.booking_id = :b AND d.total_incl_vat_cents = 2400",
        b=int(url.rsplit("/", 1)[1]),
    )
    assert issued == 3


async def _receipts(database: Database, url: str) -> list[int]:
    async with database.writer() as session:
        connection = await session.connection()
        rows = await connection.execute(
            sql(
                "SELECT r.id FROM payment_receipt r JOIN payment p ON p.id = r.payment_id "
                "WHERE p.booking_id = :b ORDER BY r.id"
            ),
            {"b": int(url.rsplit("/", 1)[1])},
        )
        return [row[0] for row in rows]


async def test_the_desk_finds_people_of_the_place_only_and_books_at_their_rate(
    web: httpx.AsyncClient, database: Database, town: Town, desk: Desk
) -> None:
    await log_in(web, town.manager_email)
    base = f"/manage/places/{town.place_id}/desk"
    found = await web.get(f"{base}?q=CAMIL")
    assert found.status_code == 200
    assert by_id(found.text, f"person-{town.citizen_id}")["value"] == str(town.citizen_id)
    # The other place's manager has an account but nothing to do with this place.
    stranger = text((await web.get(f"{base}?q=other")).text)
    assert "other@example.fr" not in stranger
    assert "Personne n'est trouvé" in stranger
    booked = await _desk(
        web,
        town,
        {
            "who": "person",
            "person_id": str(town.citizen_id),
            "resource_id": str(desk.machine_id),
            "day": "2027-03-05",
            "start": "14:00",
            "end": "15:00",
        },
    )
    assert booked.status_code == 303, text(booked.text)[:800]
    booking_id = int(booked.headers["location"].split("?")[0].rsplit("/", 1)[1])
    booker = await _one(database, "SELECT booker_user_id FROM booking WHERE id = :b", b=booking_id)
    assert booker == town.citizen_id
    # Someone not related to the place cannot be booked for by id.
    other_id = await _one(database, "SELECT id FROM user_account WHERE email = 'other@example.fr'")
    refused = await _desk(
        web,
        town,
        {
            "who": "person",
            "person_id": str(other_id),
            "resource_id": str(desk.machine_id),
            "day": "2027-03-05",
            "start": "16:00",
            "end": "17:00",
        },
    )
    assert refused.status_code == 422
    assert "Choisissez une personne parmi les résultats." in text(refused.text)
    # A walk-in cannot be invoiced (no verified address); the form says so by its field.
    invoice = await _desk(
        web,
        town,
        {
            "who": "walk_in",
            "name": "Anne",
            "pay_by": "invoice",
            "resource_id": str(desk.machine_id),
            "day": "2027-03-05",
            "start": "16:00",
            "end": "17:00",
        },
    )
    assert invoice.status_code == 409
    assert "checked" in by_id(invoice.text, "pay_by-invoice")
    assert "Cette personne ne peut pas être facturée" in text(invoice.text)
    guests = await _one(database, "SELECT count(*) FROM user_account WHERE display_name = 'Anne'")
    assert guests == 0  # the refused request left nothing behind
    # Bad input, by field.
    bad = await _desk(web, town, {"who": "walk_in", "name": "", "resource_id": "", "day": "x"})
    assert bad.status_code == 422
    for field in ("name", "resource_id", "day", "start", "end"):
        assert by_id(bad.text, field).get("aria-invalid") == "true", field
    # A time the place is closed: refused, nothing booked.
    closed = await _desk(
        web,
        town,
        {
            "who": "walk_in",
            "name": "Bob",
            "resource_id": str(desk.machine_id),
            "day": "2027-03-05",
            "start": "12:00",
            "end": "14:00",
        },
    )
    assert closed.status_code == 409
    assert "Le lieu n'est pas ouvert" in text(closed.text)


async def test_a_manager_moves_and_cancels_a_booking_with_the_refund_shown_first(
    web: httpx.AsyncClient, database: Database, town: Town, desk: Desk
) -> None:
    await log_in(web, town.manager_email)
    url = f"/manage/bookings/{desk.office.on_site_booking_id}"
    # Paid on site first (6,00 €), then moved an hour earlier: same price, same payment.
    paid = await submit(
        web, url, f"{url}/receive", {"amount": "6", "means": "cash", "received_on": "2027-03-01"}
    )
    assert paid.status_code == 303
    moved = await submit(
        web, url, f"{url}/move", {"day": "2027-03-03", "start": "15:00", "end": "16:00"}
    )
    assert moved.status_code == 303, text(moved.text)[:800]
    starts = await _one(
        database, "SELECT starts_at FROM booking WHERE id = :b", b=desk.office.on_site_booking_id
    )
    assert isinstance(starts, datetime)
    assert starts.astimezone(PARIS).time() == time(15)
    # Into the lunch closure: refused by the booking rules, the booking left where it was.
    closed = await submit(
        web, url, f"{url}/move", {"day": "2027-03-03", "start": "12:00", "end": "13:00"}
    )
    assert closed.status_code == 409
    assert by_id(closed.text, "move_day")["aria-invalid"] == "true"
    # Cancelling for the place: the whole amount comes back, said before the button.
    page = plain((await web.get(url)).text)
    assert "Annulation par le lieu : 6,00 € remboursés (100 %)." in page
    cancelled = await submit(web, url, f"{url}/cancel", {"reason": "Panne de la machine"})
    assert cancelled.status_code == 303
    state = await _one(
        database,
        "SELECT b.status || '/' || p.status || '/' || p.refunded_cents FROM booking b "
        "JOIN payment p ON p.booking_id = b.id WHERE b.id = :b",
        b=desk.office.on_site_booking_id,
    )
    assert state == "cancelled/refunded/600"


@pytest.mark.parametrize(
    "path",
    [
        "/manage/places/{place}/grid",
        "/manage/places/{place}/grid?view=week",
        "/manage/places/{place}/desk",
        "/manage/places/{place}/desk?q=camille",
    ],
)
async def test_the_manager_of_another_place_sees_nothing(
    web: httpx.AsyncClient, town: Town, desk: Desk, path: str
) -> None:
    await log_in(web, town.other_manager_email)
    response = await web.get(path.format(place=town.place_id))
    assert response.status_code in (403, 404)
    assert town.citizen_email not in response.text


async def test_the_manager_of_another_place_changes_nothing(
    web: httpx.AsyncClient, database: Database, town: Town, desk: Desk
) -> None:
    await log_in(web, town.other_manager_email)
    own = await web.get(f"/manage/places/{town.other_place_id}/desk")
    assert own.status_code == 200
    token = csrf(own.text)
    url = f"/manage/bookings/{desk.office.on_site_booking_id}"
    for action, fields in (
        ("receive", {"amount": "6", "means": "cash", "received_on": "2027-03-01"}),
        ("move", {"day": "2027-03-03", "start": "09:00", "end": "10:00"}),
        ("cancel", {"reason": ""}),
        ("receipts/1/reverse", {"note": ""}),
    ):
        response = await web.post(f"{url}/{action}", data={**fields, "_csrf_token": token})
        assert response.status_code in (403, 404), action
    booked = await web.post(
        f"/manage/places/{town.place_id}/desk",
        data={
            "who": "walk_in",
            "name": "X",
            "resource_id": str(desk.machine_id),
            "day": "2027-03-05",
            "start": "09:00",
            "end": "10:00",
            "_csrf_token": token,
        },
    )
    assert booked.status_code in (403, 404)
    state = await _one(
        database,
        "SELECT b.status || '/' || p.status FROM booking b JOIN payment p ON p.booking_id = b.id "
        "WHERE b.id = :b",
        b=desk.office.on_site_booking_id,
    )
    assert state == "confirmed/awaiting_on_site"
    assert await _one(database, "SELECT count(*) FROM payment_receipt") == 0


async def _walk_in_booking(
    web: httpx.AsyncClient, database: Database, town: Town, desk: Desk, name: str
) -> tuple[str, int]:
    """A walk-in booked at the desk by the logged-in manager: the booking's page, their id."""
    booked = await _desk(
        web,
        town,
        {
            "who": "walk_in",
            "name": name,
            "phone": "06 98 76 54 32",
            "resource_id": str(desk.machine_id),
            "day": "2027-03-04",
            "start": "14:00",
            "end": "15:00",
        },
    )
    assert booked.status_code == 303, text(booked.text)[:800]
    guest_id = await _one(database, "SELECT id FROM user_account WHERE display_name = :n", n=name)
    assert isinstance(guest_id, int)
    return booked.headers["location"].split("?")[0], guest_id


async def test_the_place_exports_then_erases_a_walk_ins_data(
    web: httpx.AsyncClient, database: Database, town: Town, desk: Desk
) -> None:
    await log_in(web, town.manager_email)
    _, guest_id = await _walk_in_booking(web, database, town, desk, "Maëlle Guivarc'h")
    base = f"/api/places/{town.place_id}/guests/{guest_id}"
    token = {"x-csrf-token": csrf((await web.get(f"/manage/places/{town.place_id}/desk")).text)}

    exported = await web.get(f"{base}/export", headers=API)
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert data["account"]["phone"] == "06 98 76 54 32"
    assert data["account"]["email"] is None  # the placeholder address is not theirs
    [booking] = data["bookings"]
    assert booking["status"] == "confirmed"
    # A person with an account is not a walk-in: they export and erase their data themselves.
    citizen = await web.get(f"/api/places/{town.place_id}/guests/{town.citizen_id}/export")
    assert citizen.status_code == 404 and citizen.json()["code"] == "guest_not_found"
    # Nor is a walk-in another place's to hand out.
    elsewhere = await web.get(f"/api/places/{town.other_place_id}/guests/{guest_id}/export")
    assert elsewhere.status_code == 403

    erased = await web.post(f"{base}/erase", headers={**API, **token})
    assert erased.status_code == 204, erased.text
    row = await _one(
        database,
        "SELECT display_name || '|' || coalesce(phone, '') || '|' || active::text"
        " FROM user_account WHERE id = :id",
        id=guest_id,
    )
    assert row == "Compte supprimé||false"
    status = await _one(
        database, "SELECT status FROM booking WHERE booker_user_id = :id", id=guest_id
    )
    assert status == "cancelled"  # the future booking ends with the data
    again = await web.get(f"{base}/export", headers=API)
    assert again.status_code == 404


async def test_the_booking_page_erases_a_walk_ins_data_once_confirmed(
    web: httpx.AsyncClient, database: Database, town: Town, desk: Desk
) -> None:
    await log_in(web, town.manager_email)
    url, guest_id = await _walk_in_booking(web, database, town, desk, "Gwenn Le Bras")
    page = await web.get(url)
    assert "Données personnelles de cette personne accueillie" in text(page.text)
    export = f"/api/places/{town.place_id}/guests/{guest_id}/export"
    assert export in [a["href"] for a in elements(page.text, "a")]
    # Not on a booking of someone with an account.
    other = await web.get(f"/manage/bookings/{desk.office.on_site_booking_id}")
    assert "Données personnelles de cette personne accueillie" not in text(other.text)

    unconfirmed = await submit(web, url, f"{url}/erase-guest", {})
    assert unconfirmed.status_code == 303
    assert "Rien n'a été effacé" in text((await web.get(unconfirmed.headers["location"])).text)
    assert await _one(database, "SELECT active FROM user_account WHERE id = :id", id=guest_id)

    erased = await submit(web, url, f"{url}/erase-guest", {"confirm": "yes"})
    assert erased.status_code == 303
    assert "/agenda?" in erased.headers["location"]
    shown = text((await web.get(erased.headers["location"])).text)
    assert "Les données personnelles de la personne accueillie sont effacées" in shown
    assert not await _one(database, "SELECT active FROM user_account WHERE id = :id", id=guest_id)
    assert "Données personnelles de cette personne" not in text((await web.get(url)).text)
