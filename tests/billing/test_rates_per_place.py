"""Reduced rates are granted per place; organisations price and invoice only once verified.

Issue 16, items 6 and 7: a manager's grant is valid at their place only (a rate valid
everywhere is an admin's), another place's grant cannot be stripped, a lookup by id reveals no
e-mail; an organisation's type and paying on invoice apply only once verified, by an admin
(everywhere) or by a place (for its own prices).
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from kernel.db import Database
from tests.billing.support import PricedLab, checkout, price_fablab, quote
from tests.support.accounts import Person, make_organisation, make_user
from tests.support.booking import make_fablab

# Printer, two hours: citizens 10 EUR/h, everyone else 15 EUR/h (+20 % VAT).
CITIZEN_TOTAL, OTHER_TOTAL = 2400, 3600


async def _second_lab(
    api: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> PricedLab:
    fablab = await make_fablab(api, admin_headers, slug="fablab-perros")
    manager = await make_user(database, "manager@perros.test", manages=(fablab.place_id,))
    return await price_fablab(api, fablab, manager)


async def _grant(
    api: httpx.AsyncClient, by: Person, user: Person, code: str, place_id: int | None
) -> httpx.Response:
    body: dict[str, Any] = {"user_type": code}
    if place_id is not None:
        body["place_id"] = place_id
    return await api.put(f"/api/users/{user.user_id}/user-type", json=body, headers=by.headers)


async def _total(api: httpx.AsyncClient, person: Person, lab: PricedLab, **extra: Any) -> int:
    found = await quote(api, person, lab.lab.printer, **extra)
    total: int = found["total_incl_vat_cents"]
    return total


async def _stored_rates(database: Database) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT u.email, u.user_type_code, g.place_id, g.user_type_code "
                "FROM user_account u LEFT JOIN rate_grant g ON g.user_id = u.id ORDER BY 1, 3"
            )
        )
        return [tuple(r) for r in rows]


async def test_a_manager_grants_a_rate_for_their_place_only(
    api: httpx.AsyncClient, lab: PricedLab, admin_headers: dict[str, str], database: Database
) -> None:
    other = await _second_lab(api, admin_headers, database)
    student = await make_user(database, "etudiante@example.fr")
    # Not everywhere: that is an admin's decision.
    everywhere = await _grant(api, other.manager, student, "student", None)
    assert everywhere.status_code == 403, everywhere.text
    assert everywhere.json()["code"] == "not_an_admin"
    # Not at a place they do not manage.
    elsewhere = await _grant(api, other.manager, student, "student", lab.place_id)
    assert elsewhere.status_code == 403
    before = await _stored_rates(database)
    granted = await _grant(api, other.manager, student, "student", other.place_id)
    assert granted.status_code == 200, granted.text
    # A lookup by id reveals nobody's e-mail (nor name).
    assert granted.json() == {
        "user_id": student.user_id,
        "place_id": other.place_id,
        "user_type": "student",
    }
    assert await _stored_rates(database) != before
    assert await _total(api, student, other) == OTHER_TOTAL  # the student rate, there
    assert await _total(api, student, lab) == CITIZEN_TOTAL  # and not here
    here = await checkout(api, student, lab.lab.printer, method="on_site")
    there = await checkout(api, student, other.lab.printer, method="card")
    assert here.status_code == there.status_code == 201, (here.text, there.text)
    assert here.json()["booking"]["user_type_code"] == "citizen"
    assert there.json()["booking"]["user_type_code"] == "student"
    me = (await api.get("/api/me", headers=student.headers)).json()
    assert me["user_type"] == "citizen"
    assert me["rates"] == {str(other.place_id): "student"}


async def test_a_manager_cannot_strip_a_rate_another_place_granted(
    api: httpx.AsyncClient, lab: PricedLab, admin_headers: dict[str, str], database: Database
) -> None:
    other = await _second_lab(api, admin_headers, database)
    student = await make_user(database, "etudiant@example.fr")
    assert (await _grant(api, lab.manager, student, "student", lab.place_id)).status_code == 200
    before = await _stored_rates(database)
    for place_id in (lab.place_id, None):
        stripped = await _grant(api, other.manager, student, "citizen", place_id)
        assert stripped.status_code == 403, stripped.text
    assert await _stored_rates(database) == before
    assert await _total(api, student, lab) == OTHER_TOTAL
    # Their own place's "citizen" withdraws only their own grant.
    assert (await _grant(api, lab.manager, student, "citizen", lab.place_id)).status_code == 200
    assert await _total(api, student, lab) == CITIZEN_TOTAL


async def test_an_admin_grants_a_rate_valid_everywhere(
    api: httpx.AsyncClient, lab: PricedLab, admin_headers: dict[str, str], database: Database
) -> None:
    other = await _second_lab(api, admin_headers, database)
    student = await make_user(database, "etu@example.fr")
    granted = await api.put(
        f"/api/users/{student.user_id}/user-type",
        json={"user_type": "student"},
        headers=admin_headers,
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["place_id"] is None
    assert await _total(api, student, lab) == OTHER_TOTAL
    assert await _total(api, student, other) == OTHER_TOTAL


async def test_the_front_desk_sees_only_the_rates_of_its_places(
    api: httpx.AsyncClient, lab: PricedLab, admin_headers: dict[str, str], database: Database
) -> None:
    other = await _second_lab(api, admin_headers, database)
    student = await make_user(database, "vue@example.fr")
    assert (await _grant(api, lab.manager, student, "student", lab.place_id)).status_code == 200
    seen_here = await api.get(f"/api/users?email={student.email}", headers=lab.manager.headers)
    seen_there = await api.get(f"/api/users?email={student.email}", headers=other.manager.headers)
    assert seen_here.json()["rates"] == {str(lab.place_id): "student"}
    assert seen_there.json()["rates"] == {}


# organisations -------------------------------------------------------------------------------
SCHOOL = {
    "name": "École de la Plage",
    "user_type": "school",
    "billing_address": "1 rue",
    "billing_postcode": "22300",
    "billing_town": "Lannion",
}


async def _school(api: httpx.AsyncClient, teacher: Person) -> int:
    created = await api.post("/api/organisations", json=SCHOOL, headers=teacher.headers)
    assert created.status_code == 201, created.text
    assert created.json()["verified_at"] is None
    organisation_id: int = created.json()["id"]
    return organisation_id


async def test_an_unverified_organisation_books_at_its_members_rate_and_no_invoice(
    api: httpx.AsyncClient, lab: PricedLab, database: Database
) -> None:
    teacher = await make_user(database, "prof@example.fr")
    school = await _school(api, teacher)
    found = await quote(api, teacher, lab.lab.printer, organisation_id=school)
    assert found["user_type"] == "citizen"
    assert found["total_incl_vat_cents"] == CITIZEN_TOTAL
    assert "invoice" not in found["payment_methods"]
    paid = await checkout(api, teacher, lab.lab.printer, method="invoice", organisation_id=school)
    assert paid.status_code == 409, paid.text
    assert paid.json()["code"] == "payment_method_not_allowed"
    booked = await checkout(api, teacher, lab.lab.printer, method="on_site", organisation_id=school)
    assert booked.status_code == 201, booked.text
    assert booked.json()["booking"]["user_type_code"] == "citizen"


async def test_an_admin_verifies_an_organisation_for_every_place(
    api: httpx.AsyncClient, lab: PricedLab, admin_headers: dict[str, str], database: Database
) -> None:
    teacher = await make_user(database, "prof2@example.fr")
    school = await _school(api, teacher)
    for caller in (teacher, lab.manager):
        refused = await api.post(
            f"/api/organisations/{school}/verification", headers=caller.headers
        )
        assert refused.status_code == 403
    assert (await quote(api, teacher, lab.lab.printer, organisation_id=school))[
        "user_type"
    ] == "citizen"
    verified = await api.post(f"/api/organisations/{school}/verification", headers=admin_headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified_at"] is not None
    found = await quote(api, teacher, lab.lab.printer, organisation_id=school)
    assert (found["user_type"], found["total_incl_vat_cents"]) == ("school", OTHER_TOTAL)
    assert found["payment_methods"] == ["invoice"]
    paid = await checkout(
        api,
        teacher,
        lab.lab.printer,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-1",
    )
    assert paid.status_code == 201, paid.text
    # A new legal identity waits for a new verification.
    renamed = await api.patch(
        f"/api/organisations/{school}", json={"name": "Autre école"}, headers=teacher.headers
    )
    assert renamed.json()["verified_at"] is None
    found = await quote(api, teacher, lab.lab.printer, organisation_id=school)
    assert found["user_type"] == "citizen"


async def test_a_place_verifies_an_organisation_for_its_own_prices(
    api: httpx.AsyncClient, lab: PricedLab, admin_headers: dict[str, str], database: Database
) -> None:
    other = await _second_lab(api, admin_headers, database)
    teacher = await make_user(database, "prof3@example.fr")
    school = await _school(api, teacher)
    path = f"/api/places/{lab.place_id}/organisations/{school}/verification"
    refused = await api.put(path, headers=other.manager.headers)
    assert refused.status_code == 403
    verified = await api.put(path, headers=lab.manager.headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified_place_ids"] == [lab.place_id]
    here = await quote(api, teacher, lab.lab.printer, organisation_id=school)
    there = await quote(api, teacher, other.lab.printer, organisation_id=school)
    assert (here["user_type"], there["user_type"]) == ("school", "citizen")
    assert "invoice" in here["payment_methods"] and "invoice" not in there["payment_methods"]
    assert (await api.delete(path, headers=other.manager.headers)).status_code == 403
    assert (await api.delete(path, headers=lab.manager.headers)).status_code == 204
    here = await quote(api, teacher, lab.lab.printer, organisation_id=school)
    assert here["user_type"] == "citizen"


async def test_factory_organisations_are_verified(
    api: httpx.AsyncClient, lab: PricedLab, database: Database
) -> None:
    school = await make_organisation(database, "Collège", verified=False)
    teacher = await make_user(database, "prof4@example.fr", organisation_roles=((school, "admin"),))
    found = await quote(api, teacher, lab.lab.printer, organisation_id=school)
    assert found["user_type"] == "citizen"


async def test_paying_on_invoice_waits_for_the_bookers_verified_address(
    api: httpx.AsyncClient, lab: PricedLab, admin_headers: dict[str, str], database: Database
) -> None:
    teacher = await make_user(database, "prof-new@example.fr", verified=False)
    school = await _school(api, teacher)
    verified = await api.post(f"/api/organisations/{school}/verification", headers=admin_headers)
    assert verified.status_code == 200, verified.text
    found = await quote(api, teacher, lab.lab.printer, organisation_id=school)
    assert found["user_type"] == "school"
    assert "invoice" not in found["payment_methods"]
    refused = await checkout(
        api,
        teacher,
        lab.lab.printer,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-1",
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "email_not_verified"
    async with database.writer() as session, session.begin():
        await session.exec(
            text(  # type: ignore[call-overload]
                "UPDATE user_account SET email_verified_at = now() WHERE id = :id"
            ).bindparams(id=teacher.user_id)
        )
    assert (await quote(api, teacher, lab.lab.printer, organisation_id=school))[
        "payment_methods"
    ] == ["invoice"]
    paid = await checkout(
        api,
        teacher,
        lab.lab.printer,
        method="invoice",
        organisation_id=school,
        purchase_order="BC-1",
    )
    assert paid.status_code == 201, paid.text
