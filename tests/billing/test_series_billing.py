"""Series billing through the API: a school books the room and 12 seats every
Tuesday for six weeks on a purchase order; one quote for the series, an invoice per booked date.

Prices (see tests.billing.support.price_fablab), for 14:00-16:00: the room 2 h x 25 EUR, VAT
exempt = 50.00 EUR; the seats 12 x 2 h x 2 EUR + 5 EUR = 53.00 EUR excl. VAT + 10 % = 58.30 EUR.
So each date costs 108.30 EUR.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from accounts.models import Organisation
from billing.invoicing import verify_documents
from billing.repository import BillingRepository
from kernel.db import Database
from tests.billing.support import PricedLab
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import book, paris

Client = httpx.AsyncClient
PER_DATE_CENTS = 5000 + 5830
SCHOOL_SIRET = "19220012900018"
PO = "BC-2027-042"
# Tuesdays 2 March to 6 April 2027 (now is Monday 1 March, 09:00 in Paris).
TUESDAYS = ["2027-03-02", "2027-03-09", "2027-03-16", "2027-03-23", "2027-03-30", "2027-04-06"]


@pytest.fixture
async def school(database: Database) -> int:
    """A school that pays on purchase orders, with its SIRET."""
    school_id = await make_organisation(database, "Collège Le Goffic")
    async with database.writer() as session, session.begin():
        organisation = await session.get(Organisation, school_id)
        assert organisation is not None
        organisation.siret = SCHOOL_SIRET
        session.add(organisation)
    return school_id


@pytest.fixture
async def teacher(database: Database, school: int) -> Person:
    """A teacher who books for the school."""
    return await make_user(database, "prof@college.test", organisation_roles=((school, "booker"),))


@pytest.fixture
async def conflicts(api: Client, lab: PricedLab, database: Database) -> None:
    """16 March closed, the room taken on 23 March, 5 of the 12 seats taken on 30 March."""
    closed = await api.put(
        f"/api/places/{lab.place_id}/exceptions/2027-03-16",
        json={"closed": True, "reason": "Vacances"},
        headers=lab.manager.headers,
    )
    assert closed.status_code == 200, closed.text
    # Taken at the desk by the manager (a priced booking without checkout is theirs to make:
    # it is recorded as payable on site).
    desk = lab.manager
    room = await book(api, desk, lab.lab.room, paris(2027, 3, 23, 15), paris(2027, 3, 23, 16))
    seats = await book(
        api, desk, [(lab.lab.seats, 5)], paris(2027, 3, 30, 14), paris(2027, 3, 30, 15)
    )
    assert room.status_code == seats.status_code == 201, (room.text, seats.text)


def term(lab: PricedLab, school: int, **changes: Any) -> dict[str, Any]:
    """Every Tuesday 14:00-16:00 from 2 March to 6 April: the room and 12 seats."""
    return {
        "items": [
            {"resource_id": lab.lab.room, "quantity": 1},
            {"resource_id": lab.lab.seats, "quantity": 12},
        ],
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270406",
        "first_date": "2027-03-02",
        "start_time": "14:00",
        "duration_minutes": 120,
        "organisation_id": school,
        "notes": "Classe de 4e B",
        **changes,
    }


async def _quote(api: Client, teacher: Person, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/api/series/quote", json=body, headers=teacher.headers)
    assert response.status_code == 200, response.text
    quote: dict[str, Any] = response.json()
    return quote


async def _checkout(
    api: Client, lab: PricedLab, school: int, teacher: Person, **changes: Any
) -> httpx.Response:
    body = term(lab, school)
    fingerprint = (await _quote(api, teacher, body))["fingerprint"]
    return await api.post(
        "/api/series/checkout",
        json={**body, "method": "invoice", "purchase_order": PO, "quote_fingerprint": fingerprint}
        | changes,
        headers=teacher.headers,
    )


async def _my_bookings(api: Client, person: Person) -> int:
    mine = await api.get("/api/me/bookings", headers=person.headers)
    total: int = mine.json()["total"]
    return total


@pytest.mark.usefixtures("conflicts")
async def test_the_quote_shows_each_week_and_prices_only_the_free_ones(
    api: Client, lab: PricedLab, school: int, teacher: Person
) -> None:
    quote = await _quote(api, teacher, term(lab, school))
    by_date = {o["date"]: o for o in quote["occurrences"]}
    assert list(by_date) == TUESDAYS
    assert {d: (o["status"], o["reason"], o["resource_id"]) for d, o in by_date.items()} == {
        "2027-03-02": ("free", None, None),
        "2027-03-09": ("free", None, None),
        # A closed day is found on the first resource checked (in id order: the seats).
        "2027-03-16": ("conflict", "outside_opening_hours", lab.lab.seats),
        "2027-03-23": ("conflict", "slot_unavailable", lab.lab.room),
        "2027-03-30": ("conflict", "slot_unavailable", lab.lab.seats),
        "2027-04-06": ("free", None, None),
    }
    first = by_date["2027-03-02"]
    assert first["local_starts_at"] == "2027-03-02T14:00:00+01:00"
    # Summer time starts on 28 March: still 14:00 in Paris, an hour earlier in UTC.
    assert (first["starts_at"], by_date["2027-04-06"]["starts_at"]) == (
        "2027-03-02T13:00:00Z",
        "2027-04-06T12:00:00Z",
    )
    # Lines in resource order: the seats were created before the room.
    assert [(line["label"], line["quantity"]) for line in first["lines"]] == [
        ("Poste CAO", 12),
        ("Salle de cours", 1),
    ]
    assert first["total_incl_vat_cents"] == PER_DATE_CENTS
    assert by_date["2027-03-23"]["lines"] == []
    assert by_date["2027-03-23"]["total_incl_vat_cents"] == 0
    assert (quote["free_count"], quote["conflict_count"]) == (3, 3)
    assert quote["user_type"] == "school"
    assert quote["total_incl_vat_cents"] == 3 * PER_DATE_CENTS
    assert quote["total_excl_vat_cents"] == 3 * (5000 + 5300)
    assert quote["total_vat_cents"] == 3 * 530
    assert {
        (b["kind"], b["rate"], b["base_cents"], b["vat_cents"]) for b in quote["breakdown"]
    } == {
        ("exempt", "0.00", 3 * 5000, 0),
        ("taxable", "10.00", 3 * 5300, 3 * 530),
    }
    assert quote["payment_methods"] == ["invoice"]
    assert quote["purchase_order_required"] is True
    assert quote["display"] == "both"
    # A preview books nothing, and the taken weeks stay taken by their owner.
    assert await _my_bookings(api, teacher) == 0


@pytest.mark.usefixtures("conflicts")
async def test_checkout_books_the_free_weeks_and_invoices_each_on_the_purchase_order(
    api: Client, lab: PricedLab, school: int, teacher: Person, database: Database
) -> None:
    response = await _checkout(api, lab, school, teacher)
    assert response.status_code == 201, response.text
    body = response.json()
    booked = [o["date"] for o in body["occurrences"] if o["status"] == "booked"]
    assert booked == ["2027-03-02", "2027-03-09", "2027-04-06"]
    assert body["series"]["exdates"] == ["2027-03-16", "2027-03-23", "2027-03-30"]
    billing = body["billing"]
    assert billing["purchase_order"] == PO
    assert billing["method"] == "invoice"
    assert billing["organisation_id"] == school
    assert billing["total_incl_vat_cents"] == 3 * PER_DATE_CENTS
    invoices = [d for o in billing["occurrences"] for d in o["documents"]]
    assert [d["number"] for d in invoices] == [f"FLT-2027-{n:06d}" for n in (1, 2, 3)]
    assert [o["payment_status"] for o in billing["occurrences"]] == ["invoiced"] * 3
    for occurrence, invoice in zip(billing["occurrences"], invoices, strict=True):
        document = await api.get(f"/api/invoices/{invoice['id']}", headers=teacher.headers)
        assert document.status_code == 200, document.text
        content = document.json()["content"]
        assert content["payment"]["purchase_order"] == PO
        assert content["payment"]["due_on"] == "2027-03-31"  # 30 days after 1 March
        assert content["buyer"]["name"] == "Collège Le Goffic"
        assert content["buyer"]["siret"] == SCHOOL_SIRET
        assert content["buyer"]["address"] == "1 rue de l'École"
        assert content["total_incl_vat_cents"] == PER_DATE_CENTS
        assert content["service_date"] == occurrence["local_starts_at"][:10]
        printed = await api.get(f"/api/invoices/{invoice['id']}/print", headers=teacher.headers)
        assert PO in printed.text
    assert await _my_bookings(api, teacher) == 3
    again = await api.get(f"/api/series/{body['series']['id']}/billing", headers=teacher.headers)
    assert again.json() == billing
    async with database.reader() as session:
        assert await verify_documents(BillingRepository(session), lab.place_id) == []


async def test_a_school_that_pays_on_purchase_orders_must_give_one(
    api: Client, lab: PricedLab, school: int, teacher: Person
) -> None:
    response = await _checkout(api, lab, school, teacher, purchase_order=None)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "purchase_order_required"
    assert [e["field"] for e in problem["errors"]] == ["purchase_order"]
    assert await _my_bookings(api, teacher) == 0


async def test_a_week_taken_after_the_quote_is_a_price_change_and_nothing_is_booked(
    api: Client, lab: PricedLab, school: int, teacher: Person, database: Database
) -> None:
    body = term(lab, school)
    quote = await _quote(api, teacher, body)
    assert quote["conflict_count"] == 0
    # Someone takes the room at the desk (the manager records it as payable on site).
    taken = await book(api, lab.manager, lab.lab.room, paris(2027, 4, 6, 14), paris(2027, 4, 6, 15))
    assert taken.status_code == 201
    response = await api.post(
        "/api/series/checkout",
        json={**body, "purchase_order": PO, "quote_fingerprint": quote["fingerprint"]},
        headers=teacher.headers,
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "price_changed"
    assert problem["quote"]["conflict_count"] == 1
    assert problem["quote"]["total_incl_vat_cents"] == 5 * PER_DATE_CENTS
    assert await _my_bookings(api, teacher) == 0


async def test_cancelling_one_week_credits_exactly_its_invoice(
    api: Client, lab: PricedLab, school: int, teacher: Person
) -> None:
    response = await _checkout(api, lab, school, teacher)
    assert response.status_code == 201, response.text
    billing = response.json()["billing"]
    last = billing["occurrences"][-1]
    cancelled = await api.post(
        f"/api/bookings/{last['booking_id']}/cancel", json={}, headers=teacher.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    after = await api.get(f"/api/series/{billing['series_id']}/billing", headers=teacher.headers)
    rows = after.json()["occurrences"]
    kinds = [[d["kind"] for d in row["documents"]] for row in rows]
    assert kinds == [["invoice"]] * 5 + [["invoice", "credit_note"]]
    credit = rows[-1]["documents"][1]
    assert credit["corrects_id"] == rows[-1]["documents"][0]["id"]
    assert credit["total_incl_vat_cents"] == PER_DATE_CENTS  # more than 48 h ahead: 100 %
    assert after.json()["total_incl_vat_cents"] == 5 * PER_DATE_CENTS


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"method": "card"}, "method"),
        ({"rule": "FREQ=WEEKLY;BYDAY=TU"}, "rule"),
        ({"start_time": "25:00"}, "start_time"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    api: Client, lab: PricedLab, school: int, teacher: Person, changes: dict[str, Any], field: str
) -> None:
    response = await api.post(
        "/api/series/checkout",
        json={**term(lab, school), "quote_fingerprint": "0" * 64, **changes},
        headers=teacher.headers,
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_only_members_book_a_series_for_a_school(
    api: Client, lab: PricedLab, school: int, database: Database
) -> None:
    stranger = await make_user(database, "stranger@example.fr")
    response = await api.post("/api/series/quote", json=term(lab, school), headers=stranger.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_member"
