"""The back office publishes a session (errors next to their fields, equipment taken on a date
said with the date), registers people at the desk on the sign-in sheet, and cancels a session.

Now is Monday 1 March 2027, 09:00 in Paris.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text as sql

from kernel.db import Database
from tests.web.helpers import by_id, csrf, log_in, text, unlabelled_controls
from tests.web.seed import Town


def _form(town: Town, **fields: Any) -> dict[str, Any]:
    """A laser workshop on Saturday 6 March, 10:00-12:00, with the printer."""
    return {
        "title": "Atelier découpe laser",
        "description": "Découvrir la découpeuse.",
        "kind": "workshop",
        "training_id": "",
        "repeat": "dates",
        "dates": "2027-03-06",
        "starts": "10:00",
        "ends": "12:00",
        "seats": "2",
        "min_attendance": "0",
        "registration_closes_hours": "0",
        "minimum_check_hours": "48",
        "resource_ids": [str(town.printer_id)],
        **fields,
    }


async def _sessions(database: Database, place_id: int) -> list[tuple[int, str, str]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            sql("SELECT id, title, status FROM programme_session WHERE place_id = :p ORDER BY id"),
            {"p": place_id},
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def test_a_manager_publishes_a_session_and_is_told_what_is_wrong_field_by_field(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.manager_email)
    listed = await web.get(f"/manage/places/{town.place_id}/programme")
    assert f'href="/manage/places/{town.place_id}/sessions/new"' in listed.text
    form_url = f"/manage/places/{town.place_id}/sessions/new"
    page = await web.get(form_url)
    assert page.status_code == 200
    assert unlabelled_controls(page.text) == []
    token = csrf(page.text)

    wrong = await web.post(
        form_url,
        data={**_form(town, title="", dates="demain", ends="09:00"), "_csrf_token": token},
    )
    assert wrong.status_code == 422
    assert by_id(wrong.text, "title").get("aria-invalid") == "true"
    assert by_id(wrong.text, "dates").get("aria-invalid") == "true"
    assert by_id(wrong.text, "ends").get("aria-invalid") == "true"
    assert by_id(wrong.text, "dates").get("aria-describedby") == "dates-hint dates-error"
    training = await web.post(form_url, data={**_form(town, kind="training"), "_csrf_token": token})
    assert training.status_code == 422
    assert "Une séance de formation indique la formation qu'elle donne." in text(training.text)
    assert await _sessions(database, town.place_id) == []

    made = await web.post(form_url, data={**_form(town), "_csrf_token": token})
    assert made.status_code == 303, text(made.text)[:500]
    assert made.headers["location"] == (
        f"/manage/places/{town.place_id}/programme?notice=sessions_published"
    )
    [(session_id, title, status)] = await _sessions(database, town.place_id)
    assert (title, status) == ("Atelier découpe laser", "scheduled")
    public = text((await web.get(f"/places/{town.place_id}/programme")).text)
    assert "Atelier découpe laser" in public

    # The printer is the first one's from 10:00 to 12:00 that day: a second session is refused,
    # saying which date, and nothing of it is published.
    taken = await web.post(
        form_url,
        data={
            **_form(town, title="Impression 3D", dates="2027-03-13\n2027-03-06", starts="11:00"),
            "_csrf_token": token,
        },
    )
    assert taken.status_code == 409
    assert "L'équipement est pris le 2027-03-06 à 11:00" in text(taken.text)
    assert [s[1] for s in await _sessions(database, town.place_id)] == ["Atelier découpe laser"]
    assert session_id

    # Its printer's booking is the session's: the booking page refuses to cancel it alone.
    async with database.engine.connect() as connection:
        booking_id = (
            await connection.execute(
                sql("SELECT booking_id FROM programme_session WHERE id = :s"), {"s": session_id}
            )
        ).scalar_one()
    alone = await web.post(
        f"/manage/bookings/{booking_id}/cancel", data={"_csrf_token": token, "reason": ""}
    )
    assert alone.status_code == 409
    assert "tient l'équipement d'une séance" in text(alone.text)

    # The place's statistics count it among the sessions to come.
    stats = await web.get(f"/manage/places/{town.place_id}/statistics?period=month&at=2027-03")
    assert stats.status_code == 200
    assert "Type Tenues Annulées À venir Places proposées Places prises Présents Présence" in text(
        stats.text
    )
    assert "Atelier 0 0 1 0 0 0 -" in text(stats.text)


async def test_the_desk_registers_a_walk_in_counting_seats_and_the_session_is_cancelled(
    web: httpx.AsyncClient, town: Town, database: Database
) -> None:
    await log_in(web, town.manager_email)
    form_url = f"/manage/places/{town.place_id}/sessions/new"
    token = csrf((await web.get(form_url)).text)
    made = await web.post(form_url, data={**_form(town), "_csrf_token": token})
    assert made.status_code == 303
    [(session_id, _, _)] = await _sessions(database, town.place_id)
    sheet_url = f"/manage/sessions/{session_id}"
    sheet = await web.get(sheet_url)
    assert unlabelled_controls(sheet.text) == []
    token = csrf(sheet.text)

    nameless = await web.post(
        f"{sheet_url}/registrations", data={"_csrf_token": token, "name": "", "seats": "1"}
    )
    assert nameless.status_code == 422
    assert by_id(nameless.text, "name").get("aria-invalid") == "true"
    group = await web.post(
        f"{sheet_url}/registrations",
        data={
            "_csrf_token": token,
            "name": "Yann Le Goff",
            "phone": "06 12 34 56 78",
            "seats": "2",
        },
    )
    assert group.status_code == 303
    assert group.headers["location"] == f"{sheet_url}?notice=desk_registered"
    full = await web.post(
        f"{sheet_url}/registrations",
        data={"_csrf_token": token, "name": "Anne", "email": town.citizen_email, "seats": "1"},
    )
    assert full.status_code == 409
    assert by_id(full.text, "seats").get("aria-invalid") == "true"
    waits = await web.post(
        f"{sheet_url}/registrations",
        data={
            "_csrf_token": token,
            "name": "Anne",
            "email": town.citizen_email,
            "seats": "1",
            "waitlist": "1",
        },
    )
    assert waits.status_code == 303
    assert waits.headers["location"] == f"{sheet_url}?notice=desk_waitlisted"
    page = text((await web.get(sheet_url)).text)
    assert "Yann Le Goff" in page and "0 place restante / 2" in page
    async with database.engine.connect() as connection:
        waiting = (
            await connection.execute(
                sql(
                    "SELECT user_id, status FROM programme_registration "
                    "WHERE session_id = :s AND seats = 1"
                ),
                {"s": session_id},
            )
        ).one()
    assert tuple(waiting) == (town.citizen_id, "waitlisted")  # the account of the address

    edit = {
        "_csrf_token": token,
        "edit_title": "Atelier découpe laser",
        "edit_description": "",
        "edit_seats": "1",
        "edit_min_attendance": "0",
    }
    fewer = await web.post(f"{sheet_url}/edit", data=edit)
    assert fewer.status_code == 409
    assert by_id(fewer.text, "edit_seats").get("aria-invalid") == "true"
    assert "2 places sont prises : gardez-en au moins autant." in text(fewer.text)
    more = await web.post(f"{sheet_url}/edit", data={**edit, "edit_seats": "3"})
    assert more.status_code == 303
    assert more.headers["location"] == f"{sheet_url}?notice=session_saved"
    async with database.engine.connect() as connection:
        promoted = (
            await connection.execute(
                sql("SELECT status FROM programme_registration WHERE user_id = :u"),
                {"u": town.citizen_id},
            )
        ).scalar_one()
    assert promoted == "registered"  # the seat added went to her

    cancelled = await web.post(
        f"{sheet_url}/cancel", data={"_csrf_token": token, "reason": "formateur malade"}
    )
    assert cancelled.status_code == 303
    after = text((await web.get(cancelled.headers["location"])).text)
    assert "Annulée" in after and "formateur malade" in after
    assert "Inscrire quelqu'un à l'accueil" not in after  # a cancelled session takes no one
    assert [s[2] for s in await _sessions(database, town.place_id)] == ["cancelled"]

    # Another place's manager can do none of it.
    web.cookies.clear()
    await log_in(web, town.other_manager_email)
    other = await web.get(f"/manage/places/{town.other_place_id}/programme")
    refused = await web.post(
        f"{sheet_url}/registrations",
        data={"_csrf_token": csrf(other.text), "name": "Intrus", "seats": "1"},
    )
    assert refused.status_code in (403, 404)
    refused = await web.post(
        f"/manage/places/{town.place_id}/sessions/new",
        data={**_form(town), "_csrf_token": csrf(other.text)},
    )
    assert refused.status_code in (403, 404)
