"""Closing a day or putting equipment in maintenance from the back office: the bookings hit are
reviewed first, then cancelled by the place or left to be moved (the closure then waits)."""

from __future__ import annotations

import httpx

from kernel.db import Database
from tests.web.conftest import FIXED_NOW
from tests.web.helpers import by_id, csrf, elements, log_in, submit, text, unlabelled_controls
from tests.web.manage_seed import seed_back_office
from tests.web.seed import Town

API = {"accept": "application/json"}


async def _status(web: httpx.AsyncClient, booking_id: int) -> str:
    response = await web.get(f"/api/bookings/{booking_id}", headers=API)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_closing_a_day_reviews_its_bookings_then_cancels_the_ticked_ones(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    office = await seed_back_office(database, town, FIXED_NOW)
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/closures"
    day = town.booking_day.isoformat()
    review = await submit(web, url, url, {"day": day, "reason": "Désinsectisation"})
    assert review.status_code == 200, text(review.text)[:400]
    assert unlabelled_controls(review.text) == []
    page = text(review.text)
    assert "Réservations touchées par la fermeture" in page
    assert "4 réservations tombent dans cette période." in page
    assert town.booking_reference in page and office.on_site_reference in page
    ticks = [e for e in elements(review.text, "input") if e.get("name") == "cancel"]
    assert len(ticks) == 4 and all("checked" in e for e in ticks)
    assert f"/manage/bookings/{town.booking_id}" in review.text  # a link to move it
    # Nothing is changed before the confirmation.
    assert await _status(web, town.booking_id) == "confirmed"

    confirm = f"{url}/confirm"
    fields = {"day": day, "last_day": day, "opens": "", "closes": "", "reason": "Désinsectisation"}
    kept = [
        str(office.first_request_id),
        str(office.second_request_id),
        str(office.on_site_booking_id),
    ]
    token = csrf(review.text)
    undecided = await web.post(confirm, data={**fields, "cancel": kept, "_csrf_token": token})
    assert undecided.status_code == 409
    assert "Des réservations sont encore dans cette période" in text(undecided.text)
    assert await _status(web, office.on_site_booking_id) == "confirmed"
    listed = await web.get(url)
    assert "Désinsectisation" not in text(listed.text)  # the closure waits

    every = [*kept, str(town.booking_id)]
    done = await web.post(confirm, data={**fields, "cancel": every, "_csrf_token": token})
    assert done.status_code == 303, text(done.text)[:400]
    after = await web.get(done.headers["location"])
    assert "les réservations touchées sont annulées et remboursées intégralement" in text(
        after.text
    )
    assert "Désinsectisation" in text(after.text)
    for booking_id in (town.booking_id, office.on_site_booking_id):
        assert await _status(web, booking_id) == "cancelled"


async def test_a_maintenance_reviews_the_bookings_of_its_equipment_only(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    office = await seed_back_office(database, town, FIXED_NOW)
    await log_in(web, town.manager_email)
    url = f"/manage/places/{town.place_id}/closures"
    page = await web.get(url)
    assert page.status_code == 200 and unlabelled_controls(page.text) == []
    assert "Aucune maintenance prévue." in text(page.text)
    day = town.booking_day.isoformat()
    bad = await submit(
        web,
        url,
        f"{url}/blackouts",
        {"resource": "", "start_day": day, "start_time": "18h", "end_time": "9h"},
    )
    assert bad.status_code == 422
    assert "Choisissez un équipement." in text(bad.text)
    assert "La fin doit venir après le début." in text(bad.text)
    assert by_id(bad.text, "start_time")["value"] == "18h"
    fields = {
        "resource": str(town.laser_id),
        "start_day": day,
        "start_time": "15:30",
        "end_day": "",
        "end_time": "18:00",
        "blackout_reason": "Tube laser",
    }
    review = await submit(web, url, f"{url}/blackouts", fields)
    assert review.status_code == 200, text(review.text)[:400]
    assert "1 réservation tombe dans cette période." in text(review.text)
    assert office.on_site_reference in text(review.text)
    done = await web.post(
        f"{url}/blackouts/confirm",
        data={
            **fields,
            "end_day": day,
            "cancel": str(office.on_site_booking_id),
            "_csrf_token": csrf(review.text),
        },
    )
    assert done.status_code == 303, text(done.text)[:400]
    listed = await web.get(done.headers["location"])
    assert "La maintenance est ajoutée ; les réservations touchées" in text(listed.text)
    assert "Tube laser" in text(listed.text)
    assert await _status(web, office.on_site_booking_id) == "cancelled"
    assert await _status(web, town.booking_id) == "confirmed"
    [removal] = [
        e["action"] for e in elements(listed.text, "form") if "/blackouts/" in e.get("action", "")
    ]
    removed = await web.post(removal, data={"_csrf_token": csrf(listed.text)})
    assert removed.status_code == 303
    assert "Aucune maintenance prévue." in text((await web.get(url)).text)
