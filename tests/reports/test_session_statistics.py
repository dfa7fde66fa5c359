"""The programme's sessions in a place's statistics: held, cancelled and to come, seats offered
and taken, attendance, in all and per kind, on the API, the page and the workbook.

The figures expected below are counted by hand from the sessions the test publishes.
"""

from __future__ import annotations

import io
from decimal import Decimal

import httpx
from openpyxl import load_workbook

from kernel.db import Database
from tests.programme.support import publish, register, session_body
from tests.reports.support import ok
from tests.support.accounts import make_user
from tests.support.booking import MutableClock, make_fablab, make_training, paris


async def test_sessions_held_cancelled_and_their_attendance_are_counted_per_kind(
    api: httpx.AsyncClient, admin_headers: dict[str, str], database: Database
) -> None:
    clock: MutableClock = api.clock  # type: ignore[attr-defined]
    lab = await make_fablab(api, admin_headers)
    manager = await make_user(database, "gestion@fablab.test", manages=(lab.place_id,))
    a, b, c = [await make_user(database, f"{n}@test.fr") for n in "abc"]
    training_id = await make_training(database, lab.place_id)

    def on(day: int, hour: int, **extra: object) -> dict[str, object]:
        return session_body(paris(2027, 3, day, hour), paris(2027, 3, day, hour + 2), **extra)

    [workshop] = await publish(api, manager, lab.place_id, on(6, 10, seats=4))
    [training] = await publish(
        api, manager, lab.place_id, on(13, 10, seats=3, kind="training", training_id=training_id)
    )
    [evening] = await publish(api, manager, lab.place_id, on(20, 18, seats=10, kind="event"))
    await publish(api, manager, lab.place_id, on(27, 10, seats=5))  # still to come
    await publish(  # April's: not March's
        api,
        manager,
        lab.place_id,
        session_body(paris(2027, 4, 3, 10), paris(2027, 4, 3, 12), seats=5),
    )
    regs = {}
    for person, session, seats in ((a, workshop, 1), (b, workshop, 2), (c, training, 1)):
        made = await register(api, person, session["id"], seats=seats)
        regs[person.user_id] = (await ok(made, 201))["id"]
    await ok(
        await api.post(f"/api/sessions/{evening['id']}/cancel", json={}, headers=manager.headers)
    )
    for day, person in ((6, a), (13, c)):
        clock.now = paris(2027, 3, day, 9)
        await ok(
            await api.post(
                f"/api/registrations/{regs[person.user_id]}/attendance",
                json={"attended": True},
                headers=manager.headers,
            )
        )
    clock.now = paris(2027, 3, 20, 12)

    stats = await ok(
        await api.get(
            f"/api/places/{lab.place_id}/statistics?period=month&at=2027-03",
            headers=manager.headers,
        )
    )
    assert (stats["sessions"], stats["sessions_cancelled"], stats["sessions_to_come"]) == (2, 1, 1)
    assert (stats["session_seats_offered"], stats["session_seats_taken"]) == (7, 4)
    assert stats["attendees"] == 2
    assert Decimal(stats["attendance_percent"]) == Decimal("50.0")  # 2 present of 4 seats taken
    assert Decimal(stats["fill_percent"]) == Decimal("57.1")  # 4 of 7
    by_kind = {k["kind"]: k for k in stats["sessions_by_kind"]}
    assert list(by_kind) == ["workshop", "training", "event"]
    assert [
        (
            k["held"],
            k["cancelled"],
            k["to_come"],
            k["seats_offered"],
            k["seats_taken"],
            k["attendees"],
        )
        for k in by_kind.values()
    ] == [(1, 0, 1, 4, 3, 1), (1, 0, 0, 3, 1, 1), (0, 1, 0, 0, 0, 0)]
    assert Decimal(by_kind["workshop"]["attendance_percent"]) == Decimal("33.3")
    assert by_kind["event"]["attendance_percent"] is None
    assert stats["bookings"] == 0  # the sessions' own bookings are not people's bookings

    april = await ok(
        await api.get(
            f"/api/places/{lab.place_id}/statistics?period=month&at=2027-04",
            headers=manager.headers,
        )
    )
    assert (april["sessions"], april["sessions_to_come"]) == (0, 1)

    workbook = await api.get(
        f"/api/places/{lab.place_id}/statistics/export?period=month&at=2027-03&format=xlsx",
        headers=manager.headers,
    )
    assert workbook.status_code == 200, workbook.text
    sheets = load_workbook(io.BytesIO(workbook.content))
    rows = list(sheets["Séances"].iter_rows(values_only=True))
    assert rows[1][:7] == ("Atelier", 1, 0, 1, 4, 3, 1)
    summary = {r[0]: r[1] for r in sheets["Synthèse"].iter_rows(values_only=True)}
    assert (summary["Séances tenues"], summary["Présents"]) == (2, 2)
