"""A teacher registers a class for a paid workshop on pages: their school chosen on the
session's page, the quote at the school's rate, paid on invoice on the school's purchase order
(asked for when the school works with them), the invoice on "Mes inscriptions"."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from kernel.auth.actor import Actor
from kernel.db import Database
from tests.support.accounts import make_user
from tests.support.tickets import priced_workshop
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, log_in, text, unlabelled_controls
from tests.web.school import SCHOOL_NAME, School, seed_school

PO = "BC-2027-204"


@pytest.fixture
async def school(database: Database) -> School:
    """The school's world (a place in Morlaix priced for schools on invoice)."""
    return await seed_school(database, FIXED_NOW)


async def _workshop(database: Database, school: School) -> int:
    """A paid workshop in ten days: 6 EUR a seat for schools, 15 EUR for anyone else."""
    manager = await make_user(database, "animatrice@morlaix.example", manages=(school.place_id,))
    assert manager.user_id is not None
    actor = Actor(user_id=manager.user_id, managed_place_ids=frozenset({school.place_id}))
    return await priced_workshop(
        database,
        actor,
        school.place_id,
        FIXED_NOW,
        title="Atelier robotique",
        starts=FIXED_NOW + timedelta(days=10),
        seats=30,
        prices={"school": 600, "*": 1500},
    )


async def test_a_teacher_registers_a_class_at_the_school_s_rate_on_invoice(
    web: httpx.AsyncClient, school: School, database: Database
) -> None:
    session_id = await _workshop(database, school)
    await log_in(web, school.teacher_email)
    page = await web.get(f"/sessions/{session_id}")
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    assert f"{SCHOOL_NAME} (à son tarif)" in text(page.text)

    quote = await web.get(
        f"/sessions/{session_id}/ticket",
        params={"seats": "12", "organisation_id": str(school.organisation_id)},
    )
    assert quote.status_code == 200 and unlabelled_controls(quote.text) == []
    shown = text(quote.text).replace("\u00a0", " ")
    assert f"Inscription pour {SCHOOL_NAME}, à son tarif." in shown and "72,00 €" in shown
    assert by_id(quote.text, "method-invoice")["value"] == "invoice"
    fingerprint = quote.text.split('name="fingerprint" value="')[1].split('"')[0]
    order = {
        "_csrf_token": csrf(quote.text),
        "seats": "12",
        "fingerprint": fingerprint,
        "payment_method": "invoice",
        "organisation_id": str(school.organisation_id),
    }

    # The school works with purchase orders: asked for, nothing registered.
    missing = await web.post(f"/sessions/{session_id}/ticket", data=order)
    assert missing.status_code == 303
    assert missing.headers["location"] == (
        f"/sessions/{session_id}/ticket?seats=12&organisation_id={school.organisation_id}"
        "&notice=purchase_order_required"
    )
    assert "Atelier robotique" not in text((await web.get("/account/registrations")).text)

    made = await web.post(f"/sessions/{session_id}/ticket", data={**order, "purchase_order": PO})
    assert made.status_code == 303, text(made.text)[:400]
    assert made.headers["location"].startswith("/account/registrations")
    mine = text((await web.get("/account/registrations")).text).replace("\u00a0", " ")
    assert "Atelier robotique" in mine and "72,00 €" in mine and "PDF" in mine
